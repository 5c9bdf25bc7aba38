"""Markdown tables and charts of benchmarks/results/*.json, for the docs site.

Run:  python benchmarks/tables.py            (prints the tables)
      python benchmarks/tables.py --docs     (writes a chart per table to
                                              docs/images/benchmarks/<name>.png,
                                              the page docs/benchmarks.md and
                                              the UCI tables of
                                              docs/guides/fidelity.md, between
                                              its UCI markers)
      python benchmarks/tables.py --demo-report DIR
                                             (copies the demo report's figures
                                              from DIR to docs/images/demo/)

The charts live in charts.py, what the figures say and the page's text in
readings.py; the tables in table_rows.py; this file ties each benchmark to
its table, chart and reading. The demo figures come from one run of the demo,
then the copy:

    python -m kerasdrop demo --out /tmp/kerasdrop-demo --no-export
    python benchmarks/tables.py --docs --demo-report /tmp/kerasdrop-demo
"""

import argparse
import shutil
from collections import namedtuple
from pathlib import Path

from _results import (
    DOCS,
    ROOT,
    load,
)
from charts import (
    active_chart,
    concrete_chart,
    connect_chart,
    depth_chart,
    drop_block_chart,
    dropout_chart,
    export_chart,
    hub_chart,
    mask_chart,
    mc_chart,
    recurrent_chart,
    scheduler_chart,
    toy_chart,
    torch_chart,
    uci_chart,
    write_charts,
)
from table_rows import (
    dropout_table,
    torch_table,
    scheduler_table,
    concrete_table,
    toy_table,
    export_table,
    mc_table,
    hub_table,
    mask_table,
    recurrent_table,
    drop_block_table,
    connect_table,
    depth_table,
    uci_table,
    active_table,
)
from readings import (
    DEMO_COMMAND,
    DEMO_FIGURES,
    active_reading,
    concrete_reading,
    connect_reading,
    docs_page,
    depth_reading,
    drop_block_reading,
    dropout_reading,
    export_reading,
    hub_reading,
    mask_reading,
    mc_reading,
    recurrent_reading,
    scheduler_reading,
    toy_reading,
    torch_reading,
    uci_reading,
)

DEMO_IMAGES = DOCS / "images" / "demo"
#: The page whose UCI tables `--docs` rewrites, between these two markers.
FIDELITY = DOCS / "guides" / "fidelity.md"
UCI_BEGIN, UCI_END = "<!-- UCI:BEGIN -->", "<!-- UCI:END -->"


Benchmark = namedtuple("Benchmark", "name title table chart panels reading")
BENCHMARKS = (
    Benchmark(
        "dropout_overhead",
        "Dropout layers",
        dropout_table,
        dropout_chart,
        1,
        dropout_reading,
    ),
    Benchmark(
        "torch_backend",
        "PyTorch backend",
        torch_table,
        torch_chart,
        1,
        torch_reading,
    ),
    Benchmark(
        "scheduler_overhead",
        "Per-batch rate scheduling",
        scheduler_table,
        scheduler_chart,
        1,
        scheduler_reading,
    ),
    Benchmark(
        "concrete_overhead",
        "Concrete Dropout step time",
        concrete_table,
        concrete_chart,
        1,
        concrete_reading,
    ),
    Benchmark(
        "concrete_toy",
        "Concrete Dropout toy experiment",
        toy_table,
        toy_chart,
        1,
        toy_reading,
    ),
    Benchmark(
        "export_latency",
        "Serving latency",
        export_table,
        export_chart,
        2,
        export_reading,
    ),
    Benchmark("mc_predict", "MC dropout prediction", mc_table, mc_chart, 2, mc_reading),
    Benchmark(
        "hub_mc", "MC dropout on keras-hub", hub_table, hub_chart, 2, hub_reading
    ),
    Benchmark(
        "recurrent",
        "Variational LSTM",
        recurrent_table,
        recurrent_chart,
        1,
        recurrent_reading,
    ),
    Benchmark(
        "drop_block",
        "DropBlock2D",
        drop_block_table,
        drop_block_chart,
        1,
        drop_block_reading,
    ),
    Benchmark(
        "mask_draw",
        "Drawing keep/drop masks",
        mask_table,
        mask_chart,
        1,
        mask_reading,
    ),
    Benchmark(
        "drop_connect",
        "Monte-Carlo DropConnect",
        connect_table,
        connect_chart,
        1,
        connect_reading,
    ),
    Benchmark(
        "stochastic_depth",
        "Stochastic depth that skips compute",
        depth_table,
        depth_chart,
        1,
        depth_reading,
    ),
    Benchmark(
        "active_learning",
        "Active learning",
        active_table,
        active_chart,
        1,
        active_reading,
    ),
)
UCI = (
    Benchmark("uci", "UCI regression, batch 32", uci_table, uci_chart, 1, uci_reading),
    Benchmark(
        "uci_batch128",
        "UCI regression, batch 128",
        uci_table,
        uci_chart,
        1,
        uci_reading,
    ),
)


def render(benchmarks=BENCHMARKS):
    """The tables of `benchmarks` whose results exist, one after the other."""
    parts = []
    for bench in benchmarks:
        result = load(bench.name)
        if result is not None:
            parts.append("\n".join(bench.table(result)))
    return "\n\n".join(parts)


def uci_text():
    """The UCI tables: the block between the UCI markers of fidelity.md."""
    return render(UCI)


def fidelity_page(path=FIDELITY):
    """The text of `path` with the block between its UCI markers regenerated."""
    text = path.read_text(encoding="utf-8")
    if UCI_BEGIN not in text or UCI_END not in text.split(UCI_BEGIN, 1)[1]:
        raise SystemExit(f"{path} lacks the markers {UCI_BEGIN} ... {UCI_END}")
    head, rest = text.split(UCI_BEGIN, 1)
    _, tail = rest.split(UCI_END, 1)
    return f"{head}{UCI_BEGIN}\n{uci_text()}\n{UCI_END}{tail}"


def write_docs():
    """The charts, docs/benchmarks.md and fidelity.md's UCI block."""
    written = write_charts(BENCHMARKS + UCI)
    pages = (
        (DOCS / "benchmarks.md", docs_page(BENCHMARKS + UCI)),
        (FIDELITY, fidelity_page()),
    )
    for path, text in pages:
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def copy_demo_figures(report_dir, out_dir=DEMO_IMAGES):
    """Copies the demo report's PNGs from `report_dir` into `out_dir`."""
    report_dir, out_dir = Path(report_dir), Path(out_dir)
    missing = [name for name in DEMO_FIGURES if not (report_dir / name).exists()]
    if missing:
        raise SystemExit(
            f"{report_dir} lacks {', '.join(missing)}: run `{DEMO_COMMAND}` first"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    return [shutil.copyfile(report_dir / name, out_dir / name) for name in DEMO_FIGURES]


def command_line():
    """The parser of `python benchmarks/tables.py`'s arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--docs",
        action="store_true",
        help="write the charts to docs/images/benchmarks/, docs/benchmarks.md "
        "and the UCI tables of docs/guides/fidelity.md",
    )
    parser.add_argument(
        "--demo-report",
        metavar="DIR",
        help="copy the PNGs of a `kerasdrop demo --out DIR` report to "
        "docs/images/demo/",
    )
    return parser


def main(argv=None):
    args = command_line().parse_args(argv)
    if args.docs:
        for path in write_docs():
            print(f"wrote {path.relative_to(ROOT)}")
    if args.demo_report:
        for path in copy_demo_figures(args.demo_report):
            print(f"copied {Path(path).relative_to(ROOT)}")
    if not (args.docs or args.demo_report):
        print(render() + "\n\n" + uci_text())


if __name__ == "__main__":
    main()
