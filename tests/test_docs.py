"""The documentation cannot rot: its code runs, its paths resolve, it builds.

- Every ```python block of every page under docs/ and of README.md runs.
  Each page runs in a fresh namespace of its own, its blocks in order
  (a later block may use what an earlier block of the same page defined;
  no page depends on another). Blocks that must not run (shell commands, a
  TF Serving call) are fenced as ```bash or ```text.
- Every `kerasdrop.<name>...` path the pages cite resolves (as
  tests/test_paths.py checks for the README and the sources).
- Every relative link of README.md points at a file of the repository.
- `mkdocs build --strict` passes (skipped if mkdocs is not installed;
  `.ci/run` also runs it).
"""

import importlib
import importlib.util
import re
import subprocess
import sys
import types
import warnings
from pathlib import Path

import keras
import pytest

import kerasdrop

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```$", flags=re.S | re.M)
MENTION = re.compile(r"(?<![\w./-])kerasdrop(?:\.[A-Za-z_][A-Za-z0-9_]*)+(?![\w/-])")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _name(page):
    return page.relative_to(ROOT).as_posix()


PAGES_WITH_CODE = [page for page in PAGES if BLOCK.search(page.read_text())]


def test_pages_are_found():
    names = {_name(page) for page in PAGES_WITH_CODE}
    assert {"README.md", "docs/getting-started.md"} <= names
    assert len(names) >= 10


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=_name)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    keras.utils.clear_session()
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    text = page.read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # convert() warnings
        for match in BLOCK.finditer(text):
            line = text[: match.start()].count("\n") + 2
            code = "\n" * (line - 1) + match.group(1)  # tracebacks name page lines
            exec(compile(code, str(page), "exec"), namespace)  # noqa: S102


def _resolve(mention):
    """None when `mention` resolves from `import kerasdrop`, else why not."""
    obj, parts = kerasdrop, mention.split(".")
    for index, part in enumerate(parts[1:], start=1):
        if (
            not hasattr(obj, part)
            and isinstance(obj, types.ModuleType)
            and hasattr(obj, "__path__")
            and importlib.util.find_spec(f"{obj.__name__}.{part}") is not None
        ):
            importlib.import_module(f"{obj.__name__}.{part}")
        if not hasattr(obj, part):
            return f"{'.'.join(parts[:index])} has no attribute {part!r}"
        obj = getattr(obj, part)
    return None


def test_cited_paths_resolve():
    pytest.importorskip("keras_tuner")  # kerasdrop.tuning is cited
    unresolved = []
    for page in PAGES:
        for number, line in enumerate(page.read_text().splitlines(), start=1):
            for mention in MENTION.findall(line):
                reason = _resolve(mention)
                if reason is not None:
                    unresolved.append(f"{_name(page)}:{number}: {mention}: {reason}")
    assert not unresolved, "\n".join(unresolved)


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
