"""The documentation cannot rot: its code runs, its paths resolve, it builds.

- Every ```python block of every page under docs/ and of README.md runs.
  Each page runs in a fresh namespace of its own, its blocks in order
  (a later block may use what an earlier block of the same page defined;
  no page depends on another). Blocks that must not run (shell commands, a
  TF Serving call) are fenced as ```bash or ```text.
- Every `kerasdrop.<name>...` path the pages cite resolves: tests/test_paths.py
  checks the pages with the README and the sources.
- Every relative link of README.md points at a file of the repository.
- `mkdocs build --strict` passes (skipped if mkdocs is not installed;
  `.ci/run` also runs it).
"""

import importlib
import importlib.util
import re
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import pytest


ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```$", flags=re.S | re.M)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _name(page):
    return page.relative_to(ROOT).as_posix()


PAGES_WITH_CODE = [page for page in PAGES if BLOCK.search(page.read_text())]


def test_pages_are_found():
    names = {_name(page) for page in PAGES_WITH_CODE}
    assert {"README.md", "docs/getting-started.md"} <= names
    assert len(names) >= 10


#: Pages whose code runs in a process of its own, with the reason.
OWN_PROCESS = {
    "docs/guides/devices.md": (
        "it creates a tf.distribute strategy: two strategies in one process "
        "reuse collective keys (tests/conftest.py shares one for that reason)"
    ),
}


def _program(page):
    """The page's blocks in order, as one program whose tracebacks name
    the page's own line numbers."""
    text = page.read_text()
    lines = [""] * text.count("\n")
    for match in BLOCK.finditer(text):
        first = text[: match.start()].count("\n") + 1
        for offset, code in enumerate(match.group(1).splitlines()):
            lines[first + offset] = code
    return "\n".join(lines)


#: Pages whose code writes and reloads SavedModels, which Keras cannot
#: write on the torch backend (the torch serving path is tested in
#: tests/serving/test_backend_formats.py), with the reason.
SAVED_MODEL_PAGES = {
    "docs/guides/serving.md": (
        "its examples export SavedModels with an `mc` signature and reload "
        "them with tf.saved_model.load"
    ),
}


#: Pages whose code runs only backend-independent orchestration of parts
#: tested on every backend elsewhere, and costs most on JAX: one backend.
ONE_BACKEND_PAGES = {"docs/guides/active-learning.md"}


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(page, marks=pytest.mark.one_backend)
        if _name(page) in ONE_BACKEND_PAGES
        else page
        for page in PAGES_WITH_CODE
    ],
    ids=_name,
)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    if _name(page) in SAVED_MODEL_PAGES and keras.backend.backend() == "torch":
        pytest.skip(
            "torch serving path: Keras writes no SavedModel on the torch "
            f"backend, and {SAVED_MODEL_PAGES[_name(page)]}"
        )
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    code = compile(_program(page), str(page), "exec")
    if _name(page) in OWN_PROCESS:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                f"exec(compile({_program(page)!r}, {str(page)!r}, 'exec'))",
            ],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return
    keras.utils.clear_session()
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # convert() warnings
        exec(code, namespace)  # noqa: S102


def test_readme_links_exist():
    readme = ROOT / "README.md"
    targets = [t for t in LINK.findall(readme.read_text()) if "://" not in t]
    assert targets, "the README links to no page"
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


@pytest.mark.one_backend
def test_site_builds_strict(tmp_path):
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip('mkdocs is not installed (pip install -e ".[docs]")')
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"]
    done = subprocess.run(
        [*command, "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
