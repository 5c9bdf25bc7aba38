"""The test tree's shape: it mirrors the packages, in files a reader can take in."""

import collections
from pathlib import Path

import kerasdrop

TESTS = Path(__file__).resolve().parent
PACKAGE = Path(kerasdrop.__file__).resolve().parent
#: No Python file under tests/ is longer than this (split it along its concepts).
MAX_LINES = 600


def python_files():
    return sorted(TESTS.rglob("*.py"))


def test_no_test_file_is_longer_than_600_lines():
    lengths = {p: len(p.read_text().splitlines()) for p in python_files()}
    long = [
        f"{p.relative_to(TESTS)} ({n} lines)"
        for p, n in lengths.items()
        if n > MAX_LINES
    ]
    assert not long, long
    assert len(lengths) > 30  # the scan saw the suite


def test_test_directories_mirror_the_packages():
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and p.name != "data"}
    folders -= {"__pycache__"}
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert folders <= packages, sorted(folders - packages)
    assert len(folders) >= 8


def test_module_names_are_unique():
    """Subdirectories have no __init__.py: pytest imports each module by its
    base name, so two files of one name in two folders would collide."""
    names = collections.Counter(
        p.stem for p in python_files() if p.name != "conftest.py"
    )
    assert [n for n, count in names.items() if count > 1] == []
