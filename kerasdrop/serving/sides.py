"""The hidden names beside an export target: lock, staging, backup, recovery.

An export to `T` in a directory `P` (see `kerasdrop.serving.artifacts`)
uses three hidden names of its own, and touches nothing else found there:

- `P/.T.kerasdrop-lock`: the lock file. It is opened without following a
  symbolic link, must be a regular file with a single link, and is written
  (the holder's PID) only once the OS lock (`flock`) is held and only if it
  is empty or already a kerasdrop lock; anything else under that name is
  refused with a `ValueError` and left byte-identical.
- `P/.T.kerasdrop-tmp-XXXXXXXX/`: where the new artifact is written.
- `P/.T.kerasdrop-backup/`: holds the previous artifact (as `T`) during an
  overwrite, between its rename out of `T` and the new one's rename in.

Both directories carry a marker file, `.T.kerasdrop-marker`, written right
after the directory is made, naming the kind of directory and `T`; it is
removed last. Recovery (under the lock, so the writer is dead) removes or
restores only a directory whose marker matches, or an empty one (removing
it loses nothing); a file, a symbolic link or an unmarked directory under
those names is refused before anything changes: kerasdrop leaves it alone.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> (folder / ".m.onnx.kerasdrop-backup").mkdir()
>>> (folder / ".m.onnx.kerasdrop-backup" / "notes.txt").write_text("mine")
4
>>> with locked(folder / "m.onnx", "m.onnx"):  # doctest: +ELLIPSIS
...     recover(folder / "m.onnx")
Traceback (most recent call last):
...
ValueError: ...kerasdrop leaves it alone (nothing was written or deleted)...
>>> (folder / ".m.onnx.kerasdrop-backup" / "notes.txt").read_text()
'mine'
"""

import errno
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

from kerasdrop import _checks

TAG = ".kerasdrop-"
_TEMP_SUFFIX = re.compile(r"tmp-[a-z0-9_]{8}$")  # tempfile.mkdtemp's names


def side_path(target, kind):
    """The hidden name beside `target` for `kind` ("lock", "backup", "tmp-")."""
    target = Path(target)
    return target.parent / f".{target.name}{TAG}{kind}"


def error(why, received, name="path"):
    """The `ValueError` of a refused export path (`received`: as passed)."""
    return _checks.invalid_value(name, why, f"{name}={str(received)!r}")


# ----------------------------------------------------------------------------
# Lock.
# ----------------------------------------------------------------------------
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows
_LOCK_FLAGS = (  # O_NONBLOCK: opening a FIFO planted there does not hang
    os.O_RDWR
    | os.O_CREAT
    | _NOFOLLOW
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_LOCK_TEXT = re.compile(r"(?:kerasdrop export lock: process )?(\d+)\n")  # or PID
_MARKER_TEXT = re.compile(r"kerasdrop (tmp|backup) of (.+), written by process \d+\n")


class locked:
    """Holds the OS lock of `.T.kerasdrop-lock` for an export to `target`.

    The lock file is opened without following a symbolic link and must be a
    regular file with one link, empty or holding a kerasdrop lock line: it
    is written (the holder's PID) only once the lock is held, and anything
    else found under its name is refused and left as it is.
    """

    def __init__(self, target, received):
        self.path = side_path(target, "lock")
        self.target, self.received = target, received

    def __enter__(self):
        while True:
            fd = self._open()
            if not _try_lock(fd):
                match = _LOCK_TEXT.match(_read_small(fd))
                os.close(fd)
                raise error(
                    f"Another export to '{self.target}' is running (process "
                    f"{match.group(1) if match else '?'}); nothing was written. "
                    "Retry once it finished.",
                    self.received,
                )
            if _same_file(fd, self.path):  # not unlinked by a finishing export
                break
            os.close(fd)
        try:
            self._claim(fd)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return self

    def __exit__(self, *exc):
        try:
            if _same_file(self.fd, self.path):
                os.unlink(self.path)  # while still holding the lock
        except OSError:
            pass
        os.close(self.fd)

    def _open(self):
        if not _NOFOLLOW and os.path.islink(self.path):  # best effort (Windows)
            raise self._foreign("it is a symbolic link")
        try:
            fd = os.open(self.path, _LOCK_FLAGS, 0o644)
        except OSError as err:
            why = _why_not_regular(self.path)
            raise (self._foreign(why) if why else self.unwritable(err)) from err
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            raise self._foreign(
                "it is not a regular file"
                if not stat.S_ISREG(info.st_mode)
                else "it has other hard links"
            )
        return fd

    def _claim(self, fd):
        """Under the lock: writes this PID, if the file is empty or a lock."""
        text = _read_small(fd)
        if os.fstat(fd).st_size > len(text) or (
            text and not _LOCK_TEXT.fullmatch(text)
        ):
            raise self._foreign("it holds data that is not a kerasdrop lock")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"kerasdrop export lock: process {os.getpid()}\n".encode())

    def _foreign(self, why):
        return error(
            f"'{self.path}' has the name of kerasdrop's lock for '{self.target}' "
            f"but {why}; kerasdrop leaves it alone (nothing was written or "
            "deleted). Move it away, then retry.",
            self.received,
        )

    def unwritable(self, err):
        return error(
            f"Expected a writable location; cannot write in "
            f"'{self.target.parent}': {err.strerror or err}.",
            self.received,
        )


def _why_not_regular(path):
    """Why `path` is no place for a lock file, or None (missing, regular)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISLNK(mode):
        return "it is a symbolic link"
    return None if stat.S_ISREG(mode) else "it is not a regular file"


def _read_small(fd, limit=256):
    """The first `limit` bytes of `fd` as text ('' when unreadable)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, limit).decode(errors="replace")
    except OSError:
        return ""


def _try_lock(fd):
    """Takes the exclusive lock of `fd` without waiting; False when held."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as err:
        if fcntl is None or err.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _same_file(fd, path):
    try:
        return os.path.samestat(os.fstat(fd), os.lstat(path))
    except FileNotFoundError:
        return False


# ----------------------------------------------------------------------------
# Marked side directories and recovery.
# ----------------------------------------------------------------------------
def leftovers(target):
    """The hidden names of killed exports to `target` (lock, backup, temp)."""
    prefix = f".{target.name}{TAG}"
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    return [
        target.parent / n
        for n in names
        if n.startswith(prefix)
        and (
            n[len(prefix) :] in ("lock", "backup")
            or _TEMP_SUFFIX.match(n[len(prefix) :])
        )
    ]


def _marker(folder, target):
    """The marker file kerasdrop writes in its side directory `folder`."""
    return Path(folder) / f".{target.name}{TAG}marker"


def make_side(folder, target, kind):
    """Writes the marker proving `folder` (just made, empty) is kerasdrop's."""
    text = f"kerasdrop {kind} of {target.name!r}, written by process {os.getpid()}\n"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
    fd = os.open(_marker(folder, target), flags, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    return Path(folder)


def _why_not_ours(folder, target, kind):
    """None when `folder` is a side directory kerasdrop wrote (or empty)."""
    info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a directory"
    if not os.listdir(folder):
        return None  # removing an empty directory loses nothing
    marker = _marker(folder, target)
    try:
        mode = os.lstat(marker).st_mode
        with open(marker, "rb") as f:
            text = f.read(1024).decode(errors="replace")
    except OSError:
        return f"it holds no marker '{marker.name}'"
    match = _MARKER_TEXT.fullmatch(text) if stat.S_ISREG(mode) else None
    if not match or match.groups() != (kind, repr(target.name)):
        return f"its '{marker.name}' does not mark it as kerasdrop's {kind}"
    return None


def recover(target, received=None):
    """Under the lock: drops dead temp dirs, restores or drops the backup.

    Acts only on side directories `_why_not_ours` proves are kerasdrop's;
    anything else under their names is refused before anything changes.
    """
    lock, backup = side_path(target, "lock"), side_path(target, "backup")
    sides = [path for path in leftovers(target) if path != lock]
    for path in sides:
        why = _why_not_ours(path, target, "backup" if path == backup else "tmp")
        if why is not None:
            raise error(
                f"'{path}' has a name kerasdrop uses beside '{target}' but "
                f"{why}, so kerasdrop did not write it; kerasdrop leaves it "
                "alone (nothing was written or deleted). Move it away, then "
                "retry.",
                target if received is None else received,
            )
    for path in sides:
        if path != backup:
            remove_side(path, target)
    old = backup / target.name
    if os.path.lexists(old) and not os.path.lexists(target):
        os.rename(old, target)  # killed between the renames
    if os.path.lexists(backup):
        remove_side(backup, target)  # killed after the swap: the new one is in place


def remove_side(folder, target):
    """Removes kerasdrop's side directory `folder`, its marker last."""
    marker = _marker(folder, target)
    for entry in os.scandir(folder):
        if entry.name != marker.name:
            remove(entry.path)
    if os.path.lexists(marker):
        os.unlink(marker)
    os.rmdir(folder)


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def staging_dir(target, lock):
    """A fresh, marked temporary directory beside `target`."""
    try:
        tmp = tempfile.mkdtemp(prefix=f".{target.name}{TAG}tmp-", dir=target.parent)
    except OSError as err:
        raise lock.unwritable(err) from err
    try:
        return make_side(tmp, target, "tmp")
    except BaseException as err:
        os.rmdir(tmp)
        if isinstance(err, OSError):
            raise lock.unwritable(err) from err
        raise
