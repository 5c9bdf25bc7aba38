"""benchmarks/tables.py and its siblings table_rows.py, charts.py and
readings.py: one small chart per benchmark table, drawn from the committed
results, and the docs page that shows them (no benchmark is run)."""

import ast
import importlib.util
import re
import shlex
import struct
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
#: The modules benchmarks/tables.py imports by name from its own folder.
SIBLINGS = ("_results", "charts", "readings", "table_rows")
MAX_PNG_BYTES = 200 * 1024
MAX_FILE_LINES, MAX_FUNCTION_LINES = 600, 60


@pytest.fixture(scope="module")
def tables():
    """benchmarks/tables.py as `python benchmarks/tables.py` loads it: with
    benchmarks/ first on `sys.path`, so that its siblings import by name."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(
            "benchmark_tables", BENCHMARKS / "tables.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    yield module
    for name in SIBLINGS:
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def charts(tables):
    return sys.modules["charts"]


@pytest.fixture(scope="module")
def readings(tables):
    return sys.modules["readings"]


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def with_results(tables):
    return [b.name for b in tables.BENCHMARKS + tables.UCI if tables.load(b.name)]


def test_one_small_chart_per_table(tables, charts, tmp_path):
    names = with_results(tables)
    assert len(names) >= 10  # the committed results/*.json
    written = charts.write_charts(tables.BENCHMARKS + tables.UCI, tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{n}.png" for n in names)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{n}.png" for n in names
    )
    for path in written:
        assert png_size(path) == (600, 350), path.name
        assert path.stat().st_size < MAX_PNG_BYTES, path.name


def test_every_table_has_a_results_file(tables):
    results = {p.stem for p in (ROOT / "benchmarks" / "results").glob("*.json")}
    assert {b.name for b in tables.BENCHMARKS + tables.UCI} == results


def test_docs_page_shows_each_table_chart_and_command(tables, readings):
    page = readings.docs_page(tables.BENCHMARKS + tables.UCI)
    for bench in tables.BENCHMARKS + tables.UCI:
        result = tables.load(bench.name)
        assert f"## {bench.title}" in page
        assert f"](images/benchmarks/{bench.name}.png)" in page
        assert "\n".join(bench.table(result)[2:]) in page  # the Markdown table
        assert f"```bash\n{result['command'].strip()}\n" in page
    for figure in readings.DEMO_FIGURES:
        assert f"](images/demo/{figure})" in page
    assert readings.DEMO_COMMAND in page


def test_committed_docs_are_current(tables, readings):
    """docs/benchmarks.md and the charts are what `tables.py --docs` writes."""
    page = ROOT / "docs" / "benchmarks.md"
    expected = readings.docs_page(tables.BENCHMARKS + tables.UCI)
    assert page.read_text(encoding="utf-8") == expected, (
        "docs/benchmarks.md is stale: run `python benchmarks/tables.py --docs`"
    )
    for name in with_results(tables):
        assert (ROOT / "docs" / "images" / "benchmarks" / f"{name}.png").exists()
    for figure in readings.DEMO_FIGURES:
        assert (ROOT / "docs" / "images" / "demo" / figure).exists()


def test_fidelity_page_uci_block_is_current(tables):
    """The UCI tables of docs/guides/fidelity.md are what `tables.py --docs`
    writes between its UCI markers, and the rest of the page stays."""
    text = tables.FIDELITY.read_text(encoding="utf-8")
    assert text.count(tables.UCI_BEGIN) == text.count(tables.UCI_END) == 1
    block = text.split(tables.UCI_BEGIN, 1)[1].split(tables.UCI_END, 1)[0]
    assert block == f"\n{tables.uci_text()}\n", (
        "the UCI block of docs/guides/fidelity.md is stale: run "
        "`python benchmarks/tables.py --docs`"
    )
    for bench in tables.UCI:
        assert "\n".join(bench.table(tables.load(bench.name))) in block
    assert tables.fidelity_page() == text


def test_fidelity_page_needs_its_markers(tables, tmp_path):
    page = tmp_path / "fidelity.md"
    page.write_text("# Fidelity\n\nno markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="UCI:BEGIN"):
        tables.fidelity_page(page)
    begin, end = tables.UCI_BEGIN, tables.UCI_END
    page.write_text(f"before\n{begin}\nold\n{end}\nafter\n", encoding="utf-8")
    expected = f"before\n{begin}\n{tables.uci_text()}\n{end}\nafter\n"
    assert tables.fidelity_page(page) == expected


def test_documented_commands_parse(tables):
    """Each `python benchmarks/tables.py ...` line of README.md and docs/ is
    one the script accepts (`--readme` went with README's tables)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    pattern = re.compile(r"^python3? benchmarks/tables\.py(.*)$", re.MULTILINE)
    commands = [
        args for page in pages for args in pattern.findall(page.read_text("utf-8"))
    ]
    assert commands  # docs/benchmarks.md shows some
    for args in commands:
        tables.command_line().parse_args(shlex.split(args))


def test_committed_pictures_are_small():
    pictures = list((ROOT / "docs" / "images").rglob("*.png"))
    assert pictures
    big = [str(p) for p in pictures if p.stat().st_size >= MAX_PNG_BYTES]
    assert not big, f"PNGs of 200 KB or more: {big}"


def test_copy_demo_figures(tables, tmp_path):
    report, out = tmp_path / "report", tmp_path / "out"
    report.mkdir()
    with pytest.raises(SystemExit, match="kerasdrop demo"):
        tables.copy_demo_figures(report, out)
    for figure in tables.DEMO_FIGURES:
        (report / figure).write_bytes(b"png")
    tables.copy_demo_figures(report, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(tables.DEMO_FIGURES)


def module_imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.module


def test_modules_are_small_and_import_no_cycle():
    """tables.py imports charts.py and readings.py, which import only
    _results.py of the three: no cycle; each file and function stays short."""
    for name in ("tables",) + SIBLINGS:
        path = BENCHMARKS / f"{name}.py"
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= MAX_FILE_LINES, path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef):
                length = node.end_lineno - node.lineno + 1
                assert length <= MAX_FUNCTION_LINES, f"{path.name} {node.name}"
    local = {"tables", *SIBLINGS}
    for name, allowed in (("charts", {"_results"}), ("readings", {"_results"})):
        found = set(module_imports(BENCHMARKS / f"{name}.py")) & local
        assert found == allowed, (name, found)
    assert not set(module_imports(BENCHMARKS / "_results.py")) & local
