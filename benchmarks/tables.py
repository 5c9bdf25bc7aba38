"""Markdown tables and charts of benchmarks/results/*.json, for README.md and docs.

Run:  python benchmarks/tables.py            (prints the tables)
      python benchmarks/tables.py --readme   (rewrites README's blocks between
                                              the BENCHMARKS and UCI markers)
      python benchmarks/tables.py --docs     (writes a chart per table to
                                              docs/images/benchmarks/<name>.png
                                              and the page docs/benchmarks.md)
      python benchmarks/tables.py --demo-report DIR
                                             (copies the demo report's figures
                                              from DIR to docs/images/demo/)

The demo figures come from one run of the demo, then the copy:

    python -m kerasdrop demo --out /tmp/kerasdrop-demo --no-export
    python benchmarks/tables.py --docs --demo-report /tmp/kerasdrop-demo
"""

import argparse
import json
import shutil
from collections import namedtuple
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CHARTS = DOCS / "images" / "benchmarks"
DEMO_IMAGES = DOCS / "images" / "demo"
DEMO_FIGURES = (
    "rates.png",
    "curves.png",
    "reliability.png",
    "risk_coverage.png",
    "uncertainty.png",
)
DEMO_COMMAND = "python -m kerasdrop demo --out /tmp/kerasdrop-demo --no-export"
BEGIN, END = "<!-- BENCHMARKS:BEGIN -->", "<!-- BENCHMARKS:END -->"
UCI_BEGIN, UCI_END = "<!-- UCI:BEGIN -->", "<!-- UCI:END -->"


def load(name):
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def pct(x):
    return f"{100 * x:+.1f}%"


def dropout_table(r):
    lines = [
        f"Dropout layers, epoch time (`{r['command']}`; TF threads: "
        f"{r['machine']['tf_threads']}; medians in seconds, overheads are "
        "median paired ratios to no dropout, minus 1):",
        "",
        "| model | no dropout | keras | kerasdrop | kerasdrop scheduled | "
        "overhead keras | overhead kerasdrop | **kerasdrop / keras** | "
        "overhead reduction |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, label in (
        ("mlp_3x1024", "MLP 3x1024, batch 256"),
        ("small_cnn", "small CNN, batch 256"),
    ):
        m, o = r[name]["median_s"], r[name]["overhead"]
        red = r[name]["overhead_reduction"]
        lines.append(
            f"| {label} | {m['none']:.3f} | {m['keras']:.3f} | "
            f"{m['kerasdrop']:.3f} | {m['kerasdrop_scheduled']:.3f} | "
            f"{pct(o['keras'])} | {pct(o['kerasdrop'])} | "
            f"**{r[name]['ratio_kerasdrop_over_keras']:.3f}** | "
            f"{'n/a' if red is None else f'{100 * red:.0f}%'} |"
        )
    return lines


def scheduler_table(r):
    lines = [
        f"Per-batch `DropoutScheduler` (`{r['command']}`; "
        "median paired overhead vs no callback):",
        "",
        "| model | plain ms/step | per-batch scheduler | "
        "in-graph `Dropout(schedule)` |",
        "|---|---|---|---|",
    ]
    for run in r["runs"]:
        lines.append(
            f"| {run['model']} (batch {run['batch_size']}) | "
            f"{run['median_step_ms']['plain']:.2f} | "
            f"{pct(run['overhead'])} | {pct(run['overhead_in_graph_schedule'])} |"
        )
    return lines


def concrete_table(r):
    ms = r["median_step_ms"]
    return [
        f"Concrete Dropout step time (`{r['command']}`; MLP 784-3x1024-10, batch 256):",
        "",
        "| keras Dropout + Dense | kerasdrop Dropout + Dense | "
        "ConcreteDropout(Dense) | **concrete / keras dropout** (paired) |",
        "|---|---|---|---|",
        f"| {ms['keras_dropout']:.1f} ms | {ms['kerasdrop_dropout']:.1f} ms | "
        f"{ms['concrete']:.1f} ms | "
        f"**{r['ratio_concrete_over_dropout']:.3f}** |",
    ]


def toy_table(r):
    lines = [
        f"Concrete Dropout toy experiment (`{r['command']}`, width {r['width']}, "
        f"seed {r['seed']}; reference: hidden p ~0.40 at N=10 falling to ~0.13 at "
        "N=10000, input p ~0.07):",
        "",
        "| N | epochs | input p | hidden1 p | hidden2 p | mean-head p | "
        "log-var-head p | epistemic std | aleatoric std |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        p = row["p"]
        lines.append(
            f"| {row['N']} | {row['epochs']} | {p['input']:.3f} | "
            f"{p['hidden1']:.3f} | "
            f"{p['hidden2']:.3f} | {p['mean']:.3f} | {p['log_var']:.3f} | "
            f"{row['epistemic_std']:.3f} | {row['aleatoric_std']:.3f} |"
        )
    return lines


def export_table(r):
    lines = [
        f"Serving latency of the reloaded SavedModel (`{r['command']}`; "
        f"{r['model']}; `serving_default`, ms per call, medians; ratios are "
        "median paired ratios):",
        "",
        "| batch | stripped (`kerasdrop.export`) | twin without dropout | "
        "unstripped MC export | **stripped / twin** | unstripped / stripped |",
        "|---|---|---|---|---|---|",
    ]
    for batch in (1, 256):
        b = r[f"batch_{batch}"]
        lat = b["latency_ms_median"]
        lines.append(
            f"| {batch} | {lat['stripped']:.3f} | {lat['twin']:.3f} | "
            f"{lat['unstripped']:.3f} | "
            f"**{b['ratio_stripped_over_twin']:.3f}** | "
            f"{b['ratio_unstripped_over_stripped']:.3f} |"
        )
    return lines


def mc_table(r):
    s, m = r["speed"], r["memory"]
    loop, limit = s["vs_predict_loop"], s["vs_compute_limit"]
    cnn, mlp = s["head_only_dropout"]["cnn"], s["head_only_dropout"]["mlp"]
    return [
        f"MC dropout prediction (`{r['command'].strip()}`; T = {s['samples']}, "
        f"{s['rows']} inputs unless said, batch {s['batch_size']}; "
        "MLP 64-256-256-10 with two dropout layers; median paired ratios):",
        "",
        "| measure | figure | target |",
        "|---|---|---|",
        *[
            "| `mc.predict` speed-up over a loop of T `model.predict`, "
            f"{key[5:]} inputs | "
            f"**{v['speedup']:.1f}x** ({v['median_s']['predict_loop']:.2f} s vs "
            f"{v['median_s']['mc_predict']:.3f} s) | >= 20x |"
            for key, v in loop.items()
            if key.startswith("rows=")
        ],
        "| `mc.predict` / T compiled inference passes | "
        f"**{limit['ratio']:.2f}** | <= 1.2 |",
        f"| dropout only before the head, CNN: T = {s['samples']} / one `predict` | "
        f"**{cnn['ratio']:.2f}x** "
        f"(no prefix reuse: {cnn['ratio_without_prefix_reuse']:.1f}x) | <= 3x |",
        f"| same, MLP with a 512-wide sampled layer (RNG-bound worst case) | "
        f"{mlp['ratio']:.2f}x "
        f"(no prefix reuse: {mlp['ratio_without_prefix_reuse']:.1f}x) | - |",
        f"| peak RSS, T = 1000 / T = 10 ({m['rows']} inputs) | "
        f"**{m['peak_ratio_T1000_over_T10']:.2f}** "
        f"({m['runs']['T=1000']['peak_rss_mib']:.0f} / "
        f"{m['runs']['T=10']['peak_rss_mib']:.0f} MiB; stacking all T = 1000 "
        f"outputs: {m['stacking_all_T1000_outputs_would_need_mib']:.0f} MiB more) "
        "| <= 2 |",
    ]


def hub_table(r):
    speed, prefix = r["speed"]["median_s"], r["prefix"]["median_s"]
    return [
        "MC dropout on a converted keras-hub `BertTextClassifier` "
        f"(`{r['command'].strip()}`; "
        f"2 layers, hidden 16, sequence 16; T = {r['samples']}, {r['inputs']} inputs; "
        "median paired ratios):",
        "",
        "| measure | figure | target |",
        "|---|---|---|",
        '| `mc.predict(task="logits")` speed-up over a loop of T '
        "`model(x, training=True)` | "
        f"**{r['speedup_over_training_true_loop']:.1f}x** ({speed['loop']:.2f} s vs "
        f"{speed['mc_predict']:.3f} s) | >= 10x |",
        "| T compiled inference passes (no masks drawn) / `mc.predict` | "
        f"{r['compute_floor_over_mc_predict']:.2f} "
        f"({speed['compute_floor']:.3f} s) | - |",
        f'| dropout only in the head (`convert(model, layers="classifier_dropout")`): '
        f"`mc.predict` / one `predict` | **{r['head_only_mc_over_one_predict']:.2f}x** "
        f"({prefix['mc']:.3f} s vs {prefix['predict']:.3f} s) | <= 1.5x |",
        f"| peak RSS growth during one call, after warm-up: `mc.predict` / loop | "
        f"{r['peak_rss_growth_mib']['mc_predict_mib']:.1f} / "
        f"{r['peak_rss_growth_mib']['loop_mib']:.1f} MiB | - |",
    ]


def recurrent_table(r):
    m, p = r["min_s"], r["paired_ratios"]
    return [
        f"Variational LSTM, epoch time (`{r['command']}`; {r['model']}; "
        f"{r['sequences']} sequences; fastest of {r['reps']} epochs in seconds, the "
        "medians being blurred by this machine's two speeds; ratios are median paired "
        "ratios):",
        "",
        "| no dropout | keras `dropout` | keras `dropout` + `recurrent_dropout` | "
        "kerasdrop `dropout` | kerasdrop `dropout` + `recurrent_dropout` | "
        "**kerasdrop / keras, input only** (target <= 1.05) | "
        "**kerasdrop / keras, both** (target <= 1.00) |",
        "|---|---|---|---|---|---|---|",
        f"| {m['none']:.3f} | {m['keras_input']:.3f} | {m['keras_both']:.3f} | "
        f"{m['kerasdrop_input']:.3f} | {m['kerasdrop_both']:.3f} | "
        f"**{p['kerasdrop_input_over_keras_input']:.3f}** | "
        f"**{p['kerasdrop_both_over_keras_both']:.3f}** |",
    ]


def drop_block_table(r):
    med, ratio = r["median_s"], r["paired_ratio_to_none"]
    return [
        f"DropBlock2D, train-epoch time of a small CNN (`{r['command']}`; "
        f"two Conv2D(32) on 32x32x3, batch {r['setup']['batch']}, "
        f"{r['setup']['steps_per_epoch']} steps; "
        "median seconds and median paired ratio to no dropout):",
        "",
        "| none | keras SpatialDropout2D | kerasdrop SpatialDropout2D | "
        "kerasdrop DropBlock2D (block 5) |",
        "|---|---|---|---|",
        "| "
        + " | ".join(
            f"{med[k]:.3f} s (x{ratio[k]:.2f})"
            for k in ("none", "spatial", "kerasdrop_spatial", "dropblock")
        )
        + " |",
    ]


def uci_table(r):
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent))
    from kerasdrop.apps.uci import markdown_table

    return [
        "MC dropout on UCI regression, Gal & Ghahramani (2016) protocol "
        f"(`{r['command']}`; "
        'mean ± standard error over splits; "within 2 SE": |ours - paper| <= 2 '
        "sqrt(se_ours^2 + se_paper^2), the gap in those units in brackets):",
        "",
        markdown_table(r["results"]),
    ]


def active_table(r):
    setup, names = r["setup"], ("random", "entropy", "bald", "batch_bald")
    rounds = [0, len(r["labels"]) // 2, len(r["labels"]) - 1]
    lines = [
        f"Active learning on digits (`{r['command'].strip()}`; {setup['start_labels']} "
        f"labels, +{setup['count']} per round, {setup['rounds']} rounds, "
        f"{setup['seeds']} seeds, T = {setup['samples']}; test accuracy, mean ± SE; "
        "labels: where the mean curve reaches random's final accuracy, "
        f"{r['random_final_accuracy']:.3f}):",
        "",
        "| strategy | "
        + " | ".join(f"{r['labels'][i]} labels" for i in rounds)
        + " | labels to reach random's final | saving |",
        "|---" * (len(rounds) + 3) + "|",
    ]
    for name in names:
        s = r["strategies"][name]
        cells = [
            f"{s['accuracy_mean'][i]:.3f} ± {s['accuracy_se'][i]:.3f}" for i in rounds
        ]
        need, saving = s["labels_to_reach_random_final"], s["label_saving_vs_random"]
        lines.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {'never' if need is None else f'{need:.0f}'} | "
            + f"{'-' if saving is None else f'{100 * saving:.0f}%'} |"
        )
    return lines


# Charts: one small PNG per table (600x350 px), drawn on an Agg canvas
# without pyplot, so nothing needs a display.

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
SIZE, DPI = (6.0, 3.5), 100


def _figure(ncols=1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, ncols)
    for ax in axes if ncols > 1 else [axes]:
        ax.tick_params(labelsize=8)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    return figure, axes


def _bars(ax, labels, values, fmt, colors=COLORS, rotate=False):
    bars = ax.bar(range(len(values)), values, color=colors[: len(values)])
    ax.bar_label(bars, [fmt(v) for v in values], fontsize=8, padding=2)
    ax.set_xticks(range(len(values)), labels, fontsize=8)
    if rotate:
        ax.tick_params(axis="x", labelrotation=15)
    ax.margins(y=0.15)
    return bars


def _grouped(ax, groups, series, values, fmt):
    """Bars of `values[i][j]` for group `groups[i]` and series `series[j]`."""
    width = 0.8 / len(series)
    for j, name in enumerate(series):
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(groups))]
        column = [row[j] for row in values]
        bars = ax.bar(xs, column, width, label=name, color=COLORS[j])
        ax.bar_label(bars, [fmt(v) for v in column], fontsize=7, padding=2)
    ax.set_xticks(range(len(groups)), groups, fontsize=8)
    ax.margins(y=0.15)


def _target(ax, y, text, legend=False):
    line = ax.axhline(y, color="0.3", linestyle="--", linewidth=1)
    if legend:  # named in the legend, where a label would cross the bars
        line.set_label(text)
        return
    ax.annotate(
        text,
        (1, y),
        xycoords=("axes fraction", "data"),
        xytext=(-2, 2),
        textcoords="offset points",
        ha="right",
        va="bottom",
        fontsize=7,
        color="0.3",
    )


def _title(figure, text):
    figure.suptitle(text, fontsize=10)


def dropout_chart(r, figure, ax):
    models = (("mlp_3x1024", "MLP 3x1024"), ("small_cnn", "small CNN"))
    variants = (
        ("keras", "keras"),
        ("kerasdrop", "kerasdrop"),
        ("kerasdrop_scheduled", "kerasdrop scheduled"),
    )
    values = [[100 * r[m]["overhead"][v] for v, _ in variants] for m, _ in models]
    _grouped(
        ax,
        [label for _, label in models],
        [label for _, label in variants],
        values,
        lambda v: f"{v:+.0f}%",
    )
    ax.set_ylabel("epoch time over no dropout (%)", fontsize=8)
    ax.legend(fontsize=8, frameon=False)
    _title(figure, "Dropout layers: overhead above no dropout (lower is better)")


def scheduler_chart(r, figure, ax):
    groups = [f"{run['model']} (batch {run['batch_size']})" for run in r["runs"]]
    values = [
        [100 * run["overhead"], 100 * run["overhead_in_graph_schedule"]]
        for run in r["runs"]
    ]
    _grouped(
        ax,
        groups,
        ["per-batch DropoutScheduler", "in-graph Dropout(schedule)"],
        values,
        lambda v: f"{v:+.1f}%",
    )
    ax.axhline(0, color="0.5", linewidth=0.8)
    _target(ax, 3, "target +3%")
    ax.set_ylim(top=4.5)  # room for the legend above the target line
    ax.set_ylabel("step time over no callback (%)", fontsize=8)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    _title(figure, "Per-batch rate scheduling: overhead")


def concrete_chart(r, figure, ax):
    ms = r["median_step_ms"]
    _bars(
        ax,
        [
            "keras Dropout\n+ Dense",
            "kerasdrop Dropout\n+ Dense",
            "ConcreteDropout\n(Dense)",
        ],
        [ms["keras_dropout"], ms["kerasdrop_dropout"], ms["concrete"]],
        lambda v: f"{v:.0f} ms",
    )
    _target(ax, 1.3 * ms["keras_dropout"], "target: 1.3 x keras")
    ax.set_ylabel("median step time (ms)", fontsize=8)
    _title(
        figure,
        f"Concrete Dropout step time: "
        f"{r['ratio_concrete_over_dropout']:.2f}x keras Dropout (paired)",
    )


def toy_chart(r, figure, ax):
    ns = [row["N"] for row in r["rows"]]
    names = (
        ("input", "input"),
        ("hidden1", "hidden 1"),
        ("hidden2", "hidden 2"),
        ("mean", "mean head"),
        ("log_var", "log-var head"),
    )
    for i, (key, label) in enumerate(names):
        ax.plot(
            ns,
            [row["p"][key] for row in r["rows"]],
            marker="o",
            markersize=3,
            color=COLORS[i],
            label=label,
        )
    ref = r["reference"]
    ax.plot(
        [10, 10000],
        [ref["hidden_p_N10"], ref["hidden_p_N10000"]],
        "k*",
        markersize=9,
        label="reference, hidden",
    )
    ax.axhline(
        ref["input_p"], color="k", linestyle=":", linewidth=1, label="reference, input"
    )
    ax.set_xscale("log")
    ax.set_xlabel("training points N", fontsize=8)
    ax.set_ylabel("learned dropout rate p", fontsize=8)
    ax.legend(fontsize=7, frameon=False, ncols=2)
    _title(figure, "Concrete Dropout toy experiment: learned p against N")


def export_chart(r, figure, axes):
    for ax, batch in zip(axes, (1, 256)):
        lat = r[f"batch_{batch}"]["latency_ms_median"]
        _bars(
            ax,
            ["stripped", "twin\nno dropout", "unstripped\nMC"],
            [lat["stripped"], lat["twin"], lat["unstripped"]],
            lambda v: f"{v:.2f}" if v < 10 else f"{v:.1f}",
        )
        ax.set_title(f"batch {batch}", fontsize=9)
    axes[0].set_ylabel("ms per call (median)", fontsize=8)
    _title(figure, "Serving latency of the reloaded SavedModel")


def mc_chart(r, figure, axes):
    s = r["speed"]
    loop = {
        k[5:]: v["speedup"]
        for k, v in s["vs_predict_loop"].items()
        if k.startswith("rows=")
    }
    ax = axes[0]
    _bars(ax, list(loop), list(loop.values()), lambda v: f"{v:.1f}x")
    _target(ax, 20, "target 20x")
    ax.set_xlabel("inputs", fontsize=8)
    ax.set_ylabel(f"speed-up over T = {s['samples']} predict calls", fontsize=8)
    ax.set_title("vs a loop of model.predict", fontsize=9)
    ax = axes[1]
    head = s["head_only_dropout"]
    _grouped(
        ax,
        ["CNN", "MLP, 512 wide"],
        ["prefix reuse", "no prefix reuse"],
        [
            [head[m]["ratio"], head[m]["ratio_without_prefix_reuse"]]
            for m in ("cnn", "mlp")
        ],
        lambda v: f"{v:.1f}x",
    )
    ax.set_yscale("log")
    ax.set_ylim(top=1000)  # room for the legend
    _target(ax, 3, "target 3x (CNN)", legend=True)
    ax.set_ylabel("time / one predict", fontsize=8)
    ax.set_title("dropout only before the head", fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    _title(figure, "MC dropout prediction with kerasdrop.mc.predict")


def hub_chart(r, figure, axes):
    speed, prefix = r["speed"]["median_s"], r["prefix"]["median_s"]
    ax = axes[0]
    _bars(
        ax,
        ["loop of\nmodel(x, training=True)", "mc.predict", "T compiled\npasses"],
        [speed["loop"], speed["mc_predict"], speed["compute_floor"]],
        lambda v: f"{v:.2f} s",
    )
    ax.set_ylabel("median seconds", fontsize=8)
    ax.set_title(f"T = {r['samples']}, {r['inputs']} inputs", fontsize=9)
    ax.tick_params(axis="x", labelsize=7)
    ax = axes[1]
    _bars(
        ax,
        ["one predict", "mc.predict"],
        [1000 * prefix["predict"], 1000 * prefix["mc"]],
        lambda v: f"{v:.1f} ms",
    )
    ax.set_ylabel("median milliseconds", fontsize=8)
    ax.set_title("dropout only in the head", fontsize=9)
    _title(figure, "MC dropout on a converted keras-hub BertTextClassifier")


def recurrent_chart(r, figure, ax):
    m = r["min_s"]
    keys = (
        ("none", "none"),
        ("keras_input", "keras\ninput"),
        ("keras_both", "keras\nboth"),
        ("kerasdrop_input", "kerasdrop\ninput"),
        ("kerasdrop_both", "kerasdrop\nboth"),
    )
    _bars(
        ax,
        [label for _, label in keys],
        [m[k] for k, _ in keys],
        lambda v: f"{v:.2f} s",
        colors=("0.6",) + COLORS[:1] * 2 + COLORS[1:2] * 2,
    )
    ax.set_ylabel("epoch time, fastest of reps (s)", fontsize=8)
    _title(figure, "Variational LSTM: input dropout, input + recurrent dropout")


def drop_block_chart(r, figure, ax):
    med, ratio = r["median_s"], r["paired_ratio_to_none"]
    keys = (
        ("none", "none"),
        ("spatial", "keras\nSpatialDropout2D"),
        ("kerasdrop_spatial", "kerasdrop\nSpatialDropout2D"),
        ("dropblock", "kerasdrop\nDropBlock2D"),
    )
    bars = ax.bar(range(4), [med[k] for k, _ in keys], color=("0.6",) + COLORS[:3])
    ax.bar_label(
        bars,
        [f"{med[k]:.2f} s (x{ratio[k]:.2f})" for k, _ in keys],
        fontsize=8,
        padding=2,
    )
    ax.set_xticks(range(4), [label for _, label in keys], fontsize=8)
    ax.margins(y=0.15)
    ax.set_ylabel("median train-epoch time (s)", fontsize=8)
    _title(figure, "DropBlock2D on a small CNN")


def active_chart(r, figure, ax):
    import numpy as np

    labels = np.asarray(r["labels"])
    for i, name in enumerate(("random", "entropy", "bald", "batch_bald")):
        s = r["strategies"][name]
        mean, se = np.asarray(s["accuracy_mean"]), np.asarray(s["accuracy_se"])
        ax.plot(labels, mean, color=COLORS[i], label=name, linewidth=1.5)
        ax.fill_between(labels, mean - se, mean + se, color=COLORS[i], alpha=0.15)
    ax.axhline(r["random_final_accuracy"], color="0.3", linestyle="--", linewidth=1)
    ax.set_xlabel("labels", fontsize=8)
    ax.set_ylabel("test accuracy (mean ± SE)", fontsize=8)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    _title(figure, "Active learning on digits")


def uci_chart(r, figure, ax):
    rows = r["results"]
    names = [row["dataset"].replace("-quality-", "-") for row in rows]
    values = [
        [row["summary"]["rmse_gap_in_se"], row["summary"]["ll_gap_in_se"]]
        for row in rows
    ]
    _grouped(ax, names, ["RMSE", "log-likelihood"], values, lambda v: f"{v:.1f}")
    _target(ax, 2, "within 2 SE")
    ax.set_ylabel("|ours - paper| / combined SE", fontsize=8)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    _title(
        figure,
        f"UCI regression (batch {rows[0]['batch_size']}): "
        "gap to Gal & Ghahramani (2016)",
    )


# What the figures say (the README's "Benchmarks" section), per table.


def dropout_reading(r):
    low, high = sorted(r[m]["overhead_reduction"] for m in ("mlp_3x1024", "small_cnn"))
    return (
        "kerasdrop's variable-rate dropout is not slower than Keras' float-rate "
        "dropout (target <= 1.00) and, on one thread, its overhead above no "
        f"dropout is {100 * low:.0f}-{100 * high:.0f}% smaller (Keras' "
        "`stateless_dropout` does more work per element). With TensorFlow's "
        "default two threads this machine's noise (epoch times flipping between "
        "two speeds) is larger than the effect, so only the ratio <= 1.00 was "
        "confirmed there."
    )


def scheduler_reading(r):
    runs = {run["model"]: run for run in r["runs"]}
    small, big = runs.get("small_mlp_2x256"), runs.get("mlp_3x1024")
    figures = (
        f": {pct(small['overhead'])} on the small MLP and {pct(big['overhead'])} "
        "on the 3x1024 MLP"
        if small and big
        else ""
    )
    return (
        "A per-batch `DropoutScheduler` driven by a `Schedule` runs inside the "
        f"train step{figures}, the in-graph `Dropout(schedule)`'s cost within "
        "this machine's noise (it was +19% on the small MLP while it wrote one "
        "variable per layer per step from Python, as a callable schedule still "
        "does)."
    )


def concrete_reading(r):
    return (
        f"Concrete Dropout costs {r['ratio_concrete_over_dropout']:.2f}x a stock "
        "Dropout + Dense (target <= 1.3): the relaxed mask and its gradient with "
        "respect to p, plus the weight term."
    )


def toy_reading(r):
    first, last = r["rows"][0], r["rows"][-1]
    hidden = [last["p"][k] for k in ("hidden1", "hidden2")]
    inputs = [row["p"]["input"] for row in r["rows"]]
    return (
        "The toy experiment of the Concrete Dropout paper: the learned rates "
        "against the number of training points. The hidden layers' p falls "
        f"from {first['p']['hidden1']:.2f} at N = {first['N']} to "
        f"{min(hidden):.2f}-{max(hidden):.2f} at N = {last['N']} (reference "
        f"~{r['reference']['hidden_p_N10']:.2f} to "
        f"~{r['reference']['hidden_p_N10000']:.2f}); the input layer's stays "
        f"between {min(inputs):.2f} and {max(inputs):.2f} (reference "
        f"~{r['reference']['input_p']:.2f})."
    )


def export_reading(r):
    b1, b256 = r["batch_1"], r["batch_256"]
    return (
        "The stripped SavedModel serves as fast as a twin built without dropout "
        f"(paired ratio {b1['ratio_stripped_over_twin']:.2f} at batch 1 and "
        f"{b256['ratio_stripped_over_twin']:.2f} at batch 256, target <= 1.02; "
        "the medians of single runs differ more, this machine being shared), "
        "and the unstripped export of the MC model, which keeps drawing masks, "
        f"is {b1['ratio_unstripped_over_stripped']:.2f}x (batch 1) to "
        f"{b256['ratio_unstripped_over_stripped']:.2f}x (batch 256) slower."
    )


def mc_reading(r):
    s, m = r["speed"], r["memory"]
    loop = {k[5:]: v for k, v in s["vs_predict_loop"].items() if k.startswith("rows=")}
    first, *rest = loop
    cnn, mlp = s["head_only_dropout"]["cnn"], s["head_only_dropout"]["mlp"]
    call_ms = 1000 * loop[first]["median_s"]["predict_loop"] / s["samples"]
    return (
        f"Each `model.predict` call costs ~{call_ms:.0f} ms of Keras overhead "
        "here, so a loop of T calls is slow while the compute is small. "
        "`mc.predict` pays "
        "that once and stacks the T passes along the batch axis, which is even "
        f"{s['vs_compute_limit']['ratio']:.2f}x the time of T compiled passes. "
        "The speed-up over the loop is therefore largest on the test-set sizes "
        f"MC dropout is usually run on ({loop[first]['speedup']:.1f}x at {first} "
        "inputs, target 20x) and shrinks as compute dominates ("
        + ", ".join(f"{loop[k]['speedup']:.1f}x at {k}" for k in rest)
        + f" inputs; it tends to ~{1 / s['vs_compute_limit']['ratio']:.1f}x for "
        "very large inputs, the ratio to the compute limit). With dropout only "
        "before the head, the trunk runs once "
        f"per batch: T = {s['samples']} costs {cnn['ratio']:.2f}x one `predict` "
        f"for the CNN ({cnn['ratio_without_prefix_reuse']:.1f}x without prefix "
        "reuse); an MLP whose sampled layer is 512 wide behind a cheap trunk is "
        "bound by drawing T x 512 random numbers per input "
        f"({mlp['ratio']:.1f}x). Memory does not grow with T: the peak RSS of "
        f"T = 1000 is {m['peak_ratio_T1000_over_T10']:.2f}x that of T = 10, "
        "where stacking all outputs would need "
        f"{m['stacking_all_T1000_outputs_would_need_mib']:.0f} MiB more."
    )


def hub_reading(r):
    speed = r["speed"]["median_s"]
    call_ms = 1000 * speed["loop"] / r["samples"]
    masks = 1 - r["compute_floor_over_mc_predict"]
    return (
        f"On the converted tiny BERT classifier, `mc.predict` with T = "
        f"{r['samples']} is {r['speedup_over_training_true_loop']:.1f}x faster "
        "than the loop users write today (T `model(x, training=True)` calls, "
        "which also put every other layer in training mode), short of the 10x "
        f"target: one eager call of this tiny model costs only ~{call_ms:.0f} "
        "ms, and drawing the dropout masks (attention dropout draws T x heads x "
        f"16 x 16 numbers per input) is {100 * masks:.0f}% of `mc.predict`'s "
        "time, so even T mask-free compiled passes would be only "
        f"~{speed['loop'] / speed['compute_floor']:.1f}x faster than the loop. "
        "With dropout only in the head "
        '(`convert(model, layers="classifier_dropout")`) the backbone is the '
        f"deterministic prefix: T = {r['samples']} costs "
        f"{r['head_only_mc_over_one_predict']:.2f}x one `model.predict` (target "
        "<= 1.5x). Neither grows the process's peak memory after warm-up."
    )


def recurrent_reading(r):
    p = r["paired_ratios"]
    return (
        "With input dropout only, kerasdrop's LSTM costs what Keras' does "
        f"(paired ratio {p['kerasdrop_input_over_keras_input']:.2f}, target "
        "<= 1.05): the shared input mask is applied to the sequence once, "
        "outside the step loop, so the fused step stays. With recurrent dropout "
        "too it takes half the time of Keras' "
        f"({p['kerasdrop_both_over_keras_both']:.2f}, target <= 1.00): Keras' "
        "`recurrent_dropout` draws one mask per gate and splits each step into "
        "four input and four recurrent matmuls (`implementation=1`), while the "
        "one shared state mask keeps the single fused matmul: kerasdrop with "
        f"both dropouts costs {p['kerasdrop_both_over_keras_input']:.2f}x Keras "
        "with input dropout only (on CPU; on a GPU state dropout gives up cuDNN "
        "in training). This machine ran at two speeds a factor 2 apart during "
        "the run; the paired ratios compare epochs run back to back."
    )


def drop_block_reading(r):
    ratio = r["paired_ratio_to_none"]
    return (
        "The cost of structured dropout on a small CNN: kerasdrop's "
        f"`SpatialDropout2D` takes x{ratio['kerasdrop_spatial']:.2f} the epoch "
        f"time of no dropout (Keras' x{ratio['spatial']:.2f}), `DropBlock2D` "
        f"x{ratio['dropblock']:.2f}: it draws block seeds on the padded feature "
        "map and expands them into blocks."
    )


def active_reading(r):
    s = r["strategies"]
    saving = {
        name: s[name]["label_saving_vs_random"]
        for name in ("bald", "batch_bald")
        if s[name]["label_saving_vs_random"] is not None
    }
    text = (
        '"Labels to reach" is where each mean curve first reaches random\'s '
        f"final accuracy ({r['random_final_accuracy']:.3f}, interpolated, the "
        "dashed line); random's own curve can touch it before the last round "
        'and dip again, hence its "saving".'
    )
    if len(saving) == 2:
        text += (
            f" BALD's {100 * saving['bald']:.0f}% is short of the 30% aimed at; "
            f"BatchBALD's {100 * saving['batch_bald']:.0f}% comes closest."
        )
    return text


def uci_reading(r):
    rows = [(row["dataset"], row["summary"]) for row in r["results"]]
    batch = r["results"][0]["batch_size"]
    source = {
        32: "the batch size of the paper's own 2016 per-data-set scripts "
        "(yaringal/DropoutUncertaintyExps) and the default of `kerasdrop uci`",
        128: "the batch size of the paper's later 2018 code",
    }.get(batch, "")
    both = [name for name, s in rows if s["rmse_within_2se"] and s["ll_within_2se"]]
    if len(both) == len(rows):
        worst = max(max(s["rmse_gap_in_se"], s["ll_gap_in_se"]) for _, s in rows)
        found = (
            f"all {len(rows)} sets land within {worst:.1f} combined standard "
            "errors of the paper on both RMSE and LL"
        )
    else:
        rmse_only = [n for n, s in rows if s["rmse_within_2se"] and n not in both]
        found = (
            "within 2 combined standard errors of the paper on both RMSE and LL: "
            + (", ".join(both) or "none")
            + (f"; on RMSE only: {', '.join(rmse_only)}" if rmse_only else "")
            + "; where it is not, training is the limit (the deterministic RMSE "
            "is as high; more epochs lower it)"
        )
    return f"Batch {batch}" + (f", {source}" if source else "") + f": {found}."


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


def render():
    parts = []
    for bench in BENCHMARKS:
        result = load(bench.name)
        if result is not None:
            parts.append("\n".join(bench.table(result)))
    return "\n\n".join(parts)


def write_charts(out_dir=CHARTS):
    """One PNG per table whose results exist; returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for bench in BENCHMARKS + UCI:
        result = load(bench.name)
        if result is None:
            continue
        figure, axes = _figure(bench.panels)
        bench.chart(result, figure, axes)
        path = out_dir / f"{bench.name}.png"
        figure.savefig(path, dpi=DPI)
        written.append(path)
    return written


DOCS_INTRO = """\
# Benchmarks

Figures from `benchmarks/results/*.json` (TF backend, CPU, 2 cores shared
with other machines; TensorFlow pinned to one thread so that runs are
comparable; variants alternated in one process, in a shuffled order per
repetition). Timing ratios are median *paired* ratios: the variants of one
repetition run back to back, and the ratio of each pair is taken before the
median, so slow drifts of the machine cancel (`benchmarks/_timing.py`).

Each section gives the table (the same one as README's), a chart of it and the
command that measures it. After a run, regenerate the tables, charts and this
page with

```bash
python benchmarks/tables.py --readme --docs
```

This page is written by `benchmarks/tables.py --docs`: edit that script, not
the page.
"""

DEMO_SECTION = f"""\
## The demo report

`kerasdrop demo` trains one small MLP on scikit-learn's digits 0-8 four ways
(no dropout, constant dropout, a scheduled recipe, Concrete Dropout),
evaluates each deterministically and with MC dropout, and writes a report
with these figures: the dropout rates per epoch, the training curves,
reliability diagrams, risk-coverage curves and the uncertainty of in- and
out-of-distribution inputs (the never-seen digit 9).

![Dropout rate per epoch](images/demo/rates.png)

![Training curves](images/demo/curves.png)

![Reliability diagrams](images/demo/reliability.png)

![Risk-coverage curves](images/demo/risk_coverage.png)

![Uncertainty of in- and out-of-distribution inputs](images/demo/uncertainty.png)

The figures above come from

```bash
{DEMO_COMMAND}
python benchmarks/tables.py --demo-report /tmp/kerasdrop-demo
```
"""


def _section(bench, result):
    name, title = bench.name, bench.title
    lines = bench.table(result)
    caption, rows = lines[0], "\n".join(lines[1:]).strip()
    command = result["command"].strip()
    return (
        f"## {title}\n\n{bench.reading(result)}\n\n{caption}\n\n{rows}\n\n"
        f"![{title}](images/benchmarks/{name}.png)\n\n"
        f"Reproduce:\n\n```bash\n{command}\npython benchmarks/tables.py --readme "
        "--docs\n```\n"
    )


def docs_page():
    """The text of docs/benchmarks.md."""
    sections = [DOCS_INTRO]
    for bench in BENCHMARKS + UCI:
        result = load(bench.name)
        if result is not None:
            sections.append(_section(bench, result))
    sections.append(DEMO_SECTION)
    return "\n".join(sections)


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", action="store_true")
    parser.add_argument(
        "--docs",
        action="store_true",
        help="write the charts to docs/images/benchmarks/ and docs/benchmarks.md",
    )
    parser.add_argument(
        "--demo-report",
        metavar="DIR",
        help="copy the PNGs of a `kerasdrop demo --out DIR` report to "
        "docs/images/demo/",
    )
    args = parser.parse_args(argv)
    text = render()
    uci_text = "\n\n".join(
        "\n".join(uci_table(r))
        for r in (load("uci"), load("uci_batch128"))
        if r is not None
    )
    if args.readme:
        readme = README.read_text()
        for begin, end, block in ((BEGIN, END, text), (UCI_BEGIN, UCI_END, uci_text)):
            head, rest = readme.split(begin, 1)
            _, tail = rest.split(end, 1)
            readme = f"{head}{begin}\n{block}\n{end}{tail}"
        README.write_text(readme)
    if args.docs:
        for path in write_charts():
            print(f"wrote {path.relative_to(ROOT)}")
        (DOCS / "benchmarks.md").write_text(docs_page())
        print("wrote docs/benchmarks.md")
    if args.demo_report:
        for path in copy_demo_figures(args.demo_report):
            print(f"copied {Path(path).relative_to(ROOT)}")
    if not (args.docs or args.demo_report):
        print(text + "\n\n" + uci_text)


if __name__ == "__main__":
    main()
