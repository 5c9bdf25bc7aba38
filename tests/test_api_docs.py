"""The API reference (docs/api/*.md) documents every public name, and each of
its `::: path` entries names an object that exists.

Public names: each package face's `__all__` (the top-level `kerasdrop` and
every subpackage but `apps`, the command line) and, for the top-level modules
without `__all__` (`recipes`, `inspection`, `plots`, `data`), what they define
without a leading underscore. mkdocstrings renders one entry per
`::: kerasdrop.<package>.<name>` line.
"""

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import kerasdrop

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "docs" / "api"
ENTRY = re.compile(r"^::: *(\S+)\s*$", re.MULTILINE)
NOT_API = {"apps"}  # the `kerasdrop` command line and its demo


def entries():
    """`{path: page}` of every `::: path` line of docs/api/*.md."""
    found = {}
    for page in sorted(API.glob("*.md")):
        for path in ENTRY.findall(page.read_text(encoding="utf-8")):
            assert path not in found, f"{path} is documented twice"
            found[path] = page.name
    return found


def defined_names(module):
    """Names a module without `__all__` defines at top level, minus `_` ones."""
    names = []
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return [name for name in names if not name.startswith("_")]


def public_names():
    """Every public dotted name that needs an entry."""
    names = []
    for name in kerasdrop.__all__:
        if not inspect.ismodule(getattr(kerasdrop, name)):
            names.append(f"kerasdrop.{name}")
    for info in pkgutil.iter_modules(kerasdrop.__path__):
        if info.name.startswith("_") or info.name in NOT_API:
            continue
        module = importlib.import_module(f"kerasdrop.{info.name}")
        if info.ispkg:
            assert hasattr(module, "__all__"), f"kerasdrop.{info.name} has no __all__"
        own = getattr(module, "__all__", None)
        for name in own if own is not None else defined_names(module):
            names.append(f"kerasdrop.{info.name}.{name}")
    return names


def resolve(path):
    """The object at dotted `path`, by attribute access from `kerasdrop`."""
    head, *rest = path.split(".")
    assert head == "kerasdrop", f"{path} is not under kerasdrop"
    obj, done = kerasdrop, head
    for part in rest:
        done = f"{done}.{part}"
        if not hasattr(obj, part) and inspect.ismodule(obj):
            importlib.import_module(done)  # a submodule `import kerasdrop` skips
        obj = getattr(obj, part)
    return obj


def test_api_pages_exist():
    pages = {page.name for page in API.glob("*.md")}
    assert {"index.md", "kerasdrop.md", "utilities.md"} <= pages


def test_every_public_name_has_an_entry():
    documented = entries()
    missing = [name for name in public_names() if name not in documented]
    assert not missing, "no `::: name` entry in docs/api/*.md for: " + ", ".join(
        missing
    )


def test_every_package_of_kerasdrop_all_has_entries():
    documented = entries()
    for name in kerasdrop.__all__:
        if inspect.ismodule(getattr(kerasdrop, name)):
            prefix = f"kerasdrop.{name}."
            assert any(path.startswith(prefix) for path in documented), (
                f"docs/api documents nothing of kerasdrop.{name}"
            )


def test_every_entry_resolves():
    broken = []
    for path, page in entries().items():
        try:
            resolve(path)
        except (AttributeError, ImportError) as err:
            broken.append(f"{page}: {path} ({err})")
    assert not broken, "entries naming no object: " + "; ".join(broken)


def test_public_names_cover_faces_and_modules():
    names = set(public_names())
    assert {
        "kerasdrop.convert",
        "kerasdrop.layers.Dropout",
        "kerasdrop.mc.predict",
        "kerasdrop.tuning.dropout_space",
        "kerasdrop.recipes.early_dropout",
        "kerasdrop.plots.plot_rates",
    } <= names
    assert not any(".apps." in name for name in names)
    private = [n for n in names if re.search(r"\._(?!_version__$)", n)]
    assert not private, private


def test_bare_doctests_render_as_code():
    """docs/hooks/pycon.py fences `>>>` paragraphs; fenced code stays as is."""
    markdown = pytest.importorskip("markdown")
    spec = importlib.util.spec_from_file_location(
        "pycon_hook", ROOT / "docs" / "hooks" / "pycon.py"
    )
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    text = (
        "Example:\n\n>>> [1] + [2]  # doctest: +ELLIPSIS\n[1, 2]\n\nAfter.\n\n"
        "```python\n>>> kept\n```\n"
    )
    html = markdown.markdown(text, extensions=[hook.DoctestFences(), "fenced_code"])
    assert '<code class="language-pycon">&gt;&gt;&gt; [1] + [2]\n[1, 2]' in html
    assert "<blockquote>" not in html and "doctest:" not in html
    assert '<code class="language-python">&gt;&gt;&gt; kept' in html
    assert "<p>After.</p>" in html


@pytest.mark.slow
def test_mkdocs_build_is_strict_clean(tmp_path):
    for name in ("mkdocs", "mkdocstrings_handlers.python", "material"):
        pytest.importorskip(name)
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "api" / "mc" / "index.html").exists()
