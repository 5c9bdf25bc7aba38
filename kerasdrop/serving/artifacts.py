"""Export files: what may be replaced, a lock, a verified copy, a safe swap.

`kerasdrop.export` writes through `write_atomic`. Beside a target `T` in a
directory `P` it uses three hidden names of its own (`kerasdrop.serving.sides`):

- `P/.T.kerasdrop-lock`: a lock file. An export holds an OS lock on it
  (`flock`) from before it writes until the artifact is in place; the
  kernel drops that lock when the process dies, so a killed export never
  blocks the next one, and a second export to `T` while one runs raises
  `ValueError` (exactly one of two concurrent exports wins). A symbolic
  link, a non-regular file or a file with foreign content under that name
  is refused and left untouched.
- `P/.T.kerasdrop-tmp-XXXXXXXX/`: where the new artifact is written and
  verified before it is renamed to `T`.
- `P/.T.kerasdrop-backup/`: holds the previous artifact, during an
  overwrite, between its rename out of `T` and the new artifact's rename
  into `T`.

Recovery: before writing, an export to `T` that finds such names takes the
lock, which proves that the process that left them is dead, removes the
temporary directories and either restores `T` from the backup (the export
was killed between the two renames, `T` is missing) or deletes the backup
(it was killed after the swap). It acts only on directories carrying the
marker kerasdrop writes in them (or empty ones); a user's file or directory
under those names makes the export refuse, with nothing changed. After any
crash the old or the new artifact is at `T`, or is put back there by the
next export to `T`.

Overwrite replaces only what `why_foreign` accepts as an export artifact:
a SavedModel directory, an ONNX or LiteRT file (recognised by content) or
an empty directory. This module uses the standard library only (with
`kerasdrop._checks` for its argument errors, and `onnx`, when installed, to
recognise an ONNX file).

Example:

>>> import tempfile
>>> from pathlib import Path
>>> target = Path(tempfile.mkdtemp()) / "model.tflite"
>>> def write(path):
...     path.write_bytes(b"\\x1c\\x00\\x00\\x00TFL3" + bytes(24))
>>> write_atomic(target, write, check=lambda path: "verified")
'verified'
>>> why_foreign(target) is None  # a LiteRT file: overwrite may replace it
True
>>> sorted(p.name for p in target.parent.iterdir())  # nothing else is left
['model.tflite']
"""

import errno
import os
import re
from pathlib import Path

from kerasdrop import _checks
from kerasdrop.serving import sides
from kerasdrop.serving.sides import TAG, side_path

SAVED_MODEL_FILES = frozenset({"saved_model.pb", "saved_model.pbtxt", "fingerprint.pb"})
SAVED_MODEL_DIRS = frozenset({"variables", "assets"})
_VARIABLE_FILE = re.compile(r"variables\.(index|data-\d+-of-\d+)$")
_LONGEST_SIDE_NAME = len(TAG) + len("tmp-") + 8 + 1  # ".", TAG, "tmp-XXXXXXXX"


def as_path(path, name="path"):
    """`path` as a `Path`, refusing a wrong type, an empty path or a NUL."""
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
        raise _checks.type_error(name, "a str or os.PathLike", path)
    text = os.fspath(path)
    if not isinstance(text, str) or not text or "\0" in text:
        raise _checks.value_error(name, "a non-empty path without NUL characters", path)
    return Path(text)


# ----------------------------------------------------------------------------
# What overwrite may replace.
# ----------------------------------------------------------------------------
def why_foreign(path):
    """None when `overwrite=True` may replace `path`, else the reason not.

    Replaceable: a SavedModel directory (`saved_model.pb`, `fingerprint.pb`,
    `variables/` with `variables.index` and `variables.data-*` only,
    `assets/`, and nothing else), an ONNX file (parsed with `onnx`), a LiteRT
    file (the `TFL3` flatbuffer identifier) or an empty directory. Never a
    symbolic link, nor the current working directory or one containing it.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "notes.txt").write_text("mine")
    4
    >>> why_foreign(folder)
    "it is a directory holding 'notes.txt', which is not part of a SavedModel"
    """
    path = Path(path)
    if path.is_symlink():
        return "it is a symbolic link"
    if path.is_dir():
        real, cwd = os.path.realpath(path), os.getcwd()
        if cwd == real or cwd.startswith(real.rstrip(os.sep) + os.sep):
            return "it is the current working directory or contains it"
        try:
            return _why_not_saved_model(path)
        except OSError as err:
            return f"it cannot be read ({err.strerror or err})"
    if path.is_file():
        try:
            if _is_litert(path) or _is_onnx(path):
                return None
        except OSError as err:
            return f"it cannot be read ({err.strerror or err})"
        return "it is a file that is neither an ONNX nor a LiteRT model" + (
            ""
            if _onnx_installed()
            else " (`onnx`, needed to recognise an ONNX file, is not installed)"
        )
    return "it is neither a regular file nor a directory"


def _names(names, limit=3):
    shown = ", ".join(repr(n) for n in sorted(names)[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _why_not_saved_model(path):
    entries = {e.name: e for e in os.scandir(path)}
    if not entries:
        return None
    foreign = set(entries) - SAVED_MODEL_FILES - SAVED_MODEL_DIRS
    if foreign:
        return (
            f"it is a directory holding {_names(foreign)}, which is not part "
            "of a SavedModel"
        )
    if not {"saved_model.pb", "saved_model.pbtxt"} & set(entries):
        return "it is a directory without saved_model.pb"
    for name, entry in entries.items():
        if entry.is_symlink() or entry.is_dir() != (name in SAVED_MODEL_DIRS):
            return f"its '{name}' is not what a SavedModel holds there"
    if "variables" in entries:
        foreign = [
            e.name
            for e in os.scandir(entries["variables"])
            if not (_VARIABLE_FILE.match(e.name) and e.is_file(follow_symlinks=False))
        ]
        if foreign:
            return (
                f"its variables/ holds {_names(foreign)}, which is not part "
                "of a SavedModel"
            )
    return None


def _is_litert(path):
    with open(path, "rb") as f:
        return f.read(8)[4:] == b"TFL3"


def _onnx_installed():
    try:
        import onnx  # noqa: F401
    except ImportError:
        return False
    return True


def _is_onnx(path):
    """A protobuf `ModelProto` with an IR version and a non-empty graph."""
    with open(path, "rb") as f:
        if f.read(1) != b"\x08":  # field 1 (ir_version, varint) comes first
            return False
    if not _onnx_installed():
        return False
    import onnx

    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except Exception:  # not a ModelProto
        return False
    return model.ir_version > 0 and len(model.graph.node) > 0


# ----------------------------------------------------------------------------
# Checks before writing.
# ----------------------------------------------------------------------------
_error = sides.error


def check_target(target, overwrite, received=None):
    """Raises `ValueError` unless an export may write `target`.

    `target` must not exist, or (with `overwrite=True`) be an artifact
    `why_foreign` accepts. Changes nothing, except that leftovers of a
    killed export to `target` are first recovered (see the module
    docstring). `received` is the value the
    user passed, for the message (default: `target`).

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_target(folder / "new", overwrite=False)
    >>> check_target(folder, overwrite=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...argument `path`. '...' already exists...
    """
    received = target if received is None else received
    target = Path(os.path.abspath(target))
    if not target.name:
        raise _error("Expected a path naming a file or directory.", received)
    if len(os.fsencode(target.name)) + _LONGEST_SIDE_NAME > _name_max(target):
        raise _error(
            f"The name '{target.name}' is too long: kerasdrop writes "
            f"'.{target.name}{TAG}tmp-XXXXXXXX' beside it, which this file "
            "system cannot hold.",
            received,
        )
    if sides.leftovers(target):
        with sides.locked(target, received):
            sides.recover(target, received)
    _check_existing(target, overwrite, received)


def _check_existing(target, overwrite, received):
    if not os.path.lexists(target):
        return
    if not overwrite:
        raise _error(
            f"'{target}' already exists and was left untouched; pass "
            "`overwrite=True` to replace it (only a previous export artifact "
            "is replaced).",
            received,
        )
    why = why_foreign(target)
    if why is not None:
        raise _error(
            f"'{target}' was left untouched: `overwrite=True` replaces only "
            "an export artifact (a SavedModel directory, an ONNX or LiteRT "
            f"file, an empty directory), and {why}. Choose another path.",
            received,
        )


def check_not_input(target, inputs, received=None):
    """Raises `ValueError` when writing `target` would replace an input file.

    `target` equal to one of `inputs` (the same file, through links too) or
    a directory containing one is refused.

    >>> check_not_input("out/served", ["model.keras"])
    >>> check_not_input(".", ["model.keras"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...argument `path`. Writing '...' would replace the input 'model.keras'...
    """  # noqa: E501
    received = target if received is None else received
    real = os.path.realpath(target)
    for source in inputs:
        source_real = os.path.realpath(source)
        same = source_real == real or (
            os.path.exists(source)
            and os.path.exists(target)
            and os.path.samefile(source, target)
        )
        if same or source_real.startswith(real.rstrip(os.sep) + os.sep):
            raise _error(
                f"Writing '{target}' would replace the input '{source}' "
                f"({'it is the same file' if same else 'it lies inside'}); "
                "choose another output path.",
                received,
            )


def _name_max(target):
    """The file system's longest file name at the nearest existing parent."""
    folder = target.parent
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # Windows, unknown
        return 255


# ----------------------------------------------------------------------------
# Writing.
# ----------------------------------------------------------------------------
def write_atomic(target, write, check, overwrite=False, received=None):
    """`write(tmp)`, `check(tmp)` beside `target`, then swap into place.

    Creates missing parent directories; holds the lock for the whole call;
    recovers a killed export's leftovers; re-checks `target` (see
    `check_target`); calls `write` then `check` on a path in a fresh
    temporary directory; moves an existing `target` to the backup name,
    renames the new artifact to `target` and deletes the backup. On any
    failure `target` is as it was and nothing else is left (not even the
    parents it created). Returns what `check` returned.

    Example: see the module docstring.
    """
    received = target if received is None else received
    target = Path(os.path.abspath(target))
    check_target(target, overwrite, received)
    created = _make_parents(target, received)
    try:
        with sides.locked(target, received) as lock:
            sides.recover(target, received)
            _check_existing(target, overwrite, received)
            tmp = sides.staging_dir(target, lock)
            try:
                staged = tmp / target.name
                write(staged)
                result = check(staged)
                _install(staged, target, received)
            finally:
                try:
                    sides.remove_side(tmp, target)
                except OSError:
                    pass  # left marked: the next export to `target` removes it
        return result
    except BaseException:
        for folder in reversed(created):
            try:
                os.rmdir(folder)  # empty only: another export may use it
            except OSError:
                pass
        raise


def _make_parents(target, received):
    """mkdir -p of `target`'s parent; returns the folders made, deepest last."""
    missing, folder = [], target.parent
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    created = []
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            continue  # made by a concurrent export
        except OSError as err:
            for made in reversed(created):
                os.rmdir(made)
            raise _error(
                f"Expected a writable location; cannot create '{folder}': "
                f"{err.strerror or err}.",
                received,
            ) from err
        created.append(folder)
    return created


def _install(staged, target, received):
    """Renames `staged` to `target`, through the backup directory if it exists.

    The backup is a marked directory `.T.kerasdrop-backup/` holding the
    previous artifact under its own name, so that recovery can prove it is
    kerasdrop's before restoring or deleting it.
    """
    if not os.path.lexists(target):
        return _place_new(staged, target, received)
    backup = side_path(target, "backup")
    os.mkdir(backup)
    sides.make_side(backup, target, "backup")
    old = backup / target.name
    os.rename(target, old)
    try:
        os.rename(staged, target)
    except BaseException:
        os.rename(old, target)
        sides.remove_side(backup, target)
        raise
    sides.remove_side(backup, target)


def _place_new(staged, target, received):
    """Renames `staged` to a free `target`, never over what appeared there."""
    try:
        if staged.is_dir():
            os.rename(staged, target)  # fails over a non-empty directory
        else:
            os.link(staged, target)  # fails over anything
    except OSError as err:
        if err.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
            if staged.is_dir():
                raise
            os.rename(staged, target)  # no hard links on this file system
            return
        raise _error(
            f"'{target}' was created by another program during the export "
            "and was left untouched.",
            received,
        ) from err
