"""Planted names beside an export target: the user's files are never lost.

A symbolic link, hard link, FIFO, directory or user file under the lock's
name, and a user's file or directory under the backup or temporary names,
make the export refuse with a `ValueError` naming the path; every file under
the test directory is then byte-identical (and nothing appears there).
kerasdrop's own marked leftovers are still recovered.
"""

import os
import stat

import pytest
from export_child import fake_saved_model

from kerasdrop.serving import artifacts, sides

LOCK = ".served.kerasdrop-lock"
BACKUP = ".served.kerasdrop-backup"
TEMP = ".served.kerasdrop-tmp-abcd1234"


def snapshot(folder):
    """Every entry under `folder`: a file's bytes, a link's target, a kind."""
    seen = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                seen[path] = ("link", os.readlink(path))
            elif stat.S_ISREG(mode):
                with open(path, "rb") as f:
                    seen[path] = ("file", f.read())
            else:
                seen[path] = ("dir" if stat.S_ISDIR(mode) else "other", None)
    return seen


def user_tree(folder):
    """A directory of the user's: a file, a nested file, an empty folder."""
    folder.mkdir()
    (folder / "thesis.tex").write_bytes(b"\\section{Results} 42\n")
    (folder / "data").mkdir()
    (folder / "data" / "runs.csv").write_bytes(b"a,b\n1,2\n")
    (folder / "empty").mkdir()
    return folder


def write_new(path):
    fake_saved_model(path, "new")


def refuses_and_keeps_everything(tmp_path, match, overwrite=True):
    """Both entry points refuse; every byte under `tmp_path` stays."""
    target, before = tmp_path / "served", snapshot(tmp_path)
    with pytest.raises(ValueError, match=match):
        artifacts.check_target(target, overwrite=overwrite)
    assert snapshot(tmp_path) == before
    with pytest.raises(ValueError, match=match) as info:
        artifacts.write_atomic(target, write_new, lambda p: None, overwrite)
    assert snapshot(tmp_path) == before
    return str(info.value)


# ----------------------------------------------------------------------------
# The lock's name.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("exists", [True, False])
def test_a_symlink_at_the_lock_is_refused_and_its_target_kept(tmp_path, exists):
    victim = tmp_path / "victim.txt"
    if exists:
        victim.write_bytes(b"precious data\n")
    (tmp_path / LOCK).symlink_to(victim)  # dangling when not `exists`
    message = refuses_and_keeps_everything(tmp_path, "it is a symbolic link")
    assert LOCK in message and "leaves it alone" in message
    assert victim.exists() == exists  # not created through the link either


def test_a_hard_link_or_a_user_file_at_the_lock_is_refused(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious data\n")
    os.link(victim, tmp_path / LOCK)
    refuses_and_keeps_everything(tmp_path, "other hard links")
    os.unlink(tmp_path / LOCK)
    for text in (b"my notes, not a lock\n", b"12345\n" * 100):
        (tmp_path / LOCK).write_bytes(text)
        refuses_and_keeps_everything(tmp_path, "not a kerasdrop lock")


def test_a_fifo_or_a_directory_at_the_lock_is_refused(tmp_path):
    os.mkfifo(tmp_path / LOCK)  # opening it must not block
    refuses_and_keeps_everything(tmp_path, "not a regular file")
    os.unlink(tmp_path / LOCK)
    user_tree(tmp_path / LOCK)
    refuses_and_keeps_everything(tmp_path, "not a regular file")


def test_a_lock_left_by_a_killed_export_is_taken(tmp_path):
    for text in (b"", b"12345\n", b"kerasdrop export lock: process 12345\n"):
        (tmp_path / LOCK).write_bytes(text)
        artifacts.write_atomic(tmp_path / "served", write_new, print, True)
        assert sorted(os.listdir(tmp_path)) == ["served"]


# ----------------------------------------------------------------------------
# The backup's and the temporary directories' names.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("target_exists", [True, False])
def test_a_user_directory_named_like_the_backup_is_left_alone(tmp_path, target_exists):
    if target_exists:
        fake_saved_model(tmp_path / "served", "old")
    user_tree(tmp_path / BACKUP)
    message = refuses_and_keeps_everything(tmp_path, "holds no marker")
    assert BACKUP in message and "nothing was written or deleted" in message


def test_a_user_file_or_link_named_like_the_backup_is_left_alone(tmp_path):
    fake_saved_model(tmp_path / "served", "old")
    (tmp_path / BACKUP).write_bytes(b"mine\n")
    refuses_and_keeps_everything(tmp_path, "it is not a directory")
    os.unlink(tmp_path / BACKUP)
    (tmp_path / BACKUP).symlink_to(user_tree(tmp_path / "work"))
    refuses_and_keeps_everything(tmp_path, "it is a symbolic link")


def test_a_user_directory_named_like_a_temporary_one_is_left_alone(tmp_path):
    user_tree(tmp_path / TEMP)
    message = refuses_and_keeps_everything(tmp_path, "holds no marker", False)
    assert TEMP in message
    os.rename(tmp_path / TEMP, tmp_path / "work")
    (tmp_path / TEMP).symlink_to(tmp_path / "work")
    refuses_and_keeps_everything(tmp_path, "it is a symbolic link", False)


def test_a_marker_for_another_target_or_kind_is_not_proof(tmp_path):
    other = tmp_path / "other"
    user_tree(tmp_path / TEMP)
    sides.make_side(tmp_path / TEMP, other, "tmp")  # marks it for 'other'
    refuses_and_keeps_everything(tmp_path, "holds no marker")
    user_tree(tmp_path / BACKUP)
    sides.make_side(tmp_path / BACKUP, tmp_path / "served", "tmp")  # wrong kind
    refuses_and_keeps_everything(tmp_path, "does not mark it as kerasdrop's backup")


# ----------------------------------------------------------------------------
# kerasdrop's own leftovers are still recovered.
# ----------------------------------------------------------------------------
def test_marked_or_empty_leftovers_are_recovered(tmp_path):
    target = tmp_path / "served"
    os.mkdir(tmp_path / TEMP)  # killed before its marker was written
    staged = tmp_path / ".served.kerasdrop-tmp-zzzz9999"
    os.mkdir(staged)  # killed while writing
    sides.make_side(staged, target, "tmp")
    fake_saved_model(staged / "served", "half-written")
    os.mkdir(tmp_path / BACKUP)  # killed between the renames
    sides.make_side(tmp_path / BACKUP, target, "backup")
    fake_saved_model(tmp_path / BACKUP / "served", "old")
    with pytest.raises(ValueError, match="already exists"):
        artifacts.check_target(target, overwrite=False)  # restored, then checked
    assert (target / "saved_model.pb").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["served"]
