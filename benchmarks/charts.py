"""The chart of each benchmark table: one small PNG (600x350 px) per table,
drawn on an Agg canvas without pyplot, so nothing needs a display.

`write_charts` draws those of a registry (`tables.BENCHMARKS + tables.UCI`)
into docs/images/benchmarks/; `python benchmarks/tables.py --docs` calls it.
"""

from pathlib import Path

from _results import ACTIVE_STRATEGIES, DOCS, connect_rows, depth_rows, load

CHARTS = DOCS / "images" / "benchmarks"
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


def torch_chart(r, figure, ax):
    """The Dropout overheads on torch, as `dropout_chart` draws TF's."""
    dropout_chart(r, figure, ax)
    _title(
        figure, "PyTorch backend: Dropout overhead above no dropout (lower is better)"
    )


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


def connect_chart(r, figure, ax):
    rows = connect_rows(r)
    _grouped(
        ax,
        [f"{label.split(',')[0]}\n({backend})" for backend, label, _ in rows],
        ("before: a call per sample", "now"),
        [(ratios["looped_before"], ratios["mc_predict"]) for *_, ratios in rows],
        lambda v: f"{v:.2f}",
    )
    ax.axhline(1.5, color="0.4", linestyle=":", linewidth=1)
    ax.set_ylabel("mc.predict / T compiled passes", fontsize=8)
    ax.legend(fontsize=7)
    _title(figure, "Monte-Carlo DropConnect, T = 50")


def mask_chart(r, figure, ax):
    runs = r["backends"]
    keys = ("float_uniform", "decision_uniform")
    _grouped(
        ax,
        list(runs),
        ("float32 uniforms", "decision uniforms"),
        [tuple(run["median_s"][k] * 1e3 for k in keys) for run in runs.values()],
        lambda v: f"{v:.1f}",
    )
    ax.set_ylabel("median ms per mask", fontsize=8)
    ax.legend(fontsize=7)
    _title(figure, "Drawing a keep/drop mask")


def depth_chart(r, figure, ax):
    rows = depth_rows(r)
    width, top = 0.27, 1.5
    for i, (variant, label) in enumerate(
        (("none", "no drop path"), ("per_sample", "DropPath"), ("skip", "SkipResidual"))
    ):
        values = [n["cpu"]["paired_ratio_to_none"][variant] for *_, n in rows]
        bars = ax.bar(
            [j + (i - 1) * width for j in range(len(rows))],
            [min(v, top) for v in values],
            width,
            label=label,
            color=("0.6",) + COLORS[:2],
        )
        if variant == "skip":
            ax.bar_label(bars, [f"{v:.2f}" for v in values], fontsize=7, padding=2)
    ticks = [f"{label.split(',')[0]}\n({backend})" for backend, _, label, _ in rows]
    ax.set_xticks(range(len(rows)), ticks, fontsize=7)
    ax.axhline(0.8, color="0.4", linestyle=":", linewidth=1)
    ax.set_ylim(0, top * 1.1)
    ax.set_ylabel("CPU time / no drop path (capped)", fontsize=8)
    ax.legend(fontsize=7)
    _title(figure, "Stochastic depth, linear rule to p_L = 0.5")


def active_chart(r, figure, ax):
    import numpy as np

    labels = np.asarray(r["labels"])
    colors = (*COLORS, "#e377c2")
    for i, name in enumerate(ACTIVE_STRATEGIES):
        s = r["strategies"][name]
        mean, se = np.asarray(s["accuracy_mean"]), np.asarray(s["accuracy_se"])
        style = {"linestyle": "--"} if name == "random" else {}
        ax.plot(labels, mean, color=colors[i], label=name, linewidth=1.3, **style)
        ax.fill_between(labels, mean - se, mean + se, color=colors[i], alpha=0.12)
    ax.axhline(r["random_final_accuracy"], color="0.3", linestyle=":", linewidth=1)
    ax.set_xlabel("labels", fontsize=8)
    ax.set_ylabel("test accuracy (mean ± SE)", fontsize=8)
    ax.legend(fontsize=7, frameon=False, loc="lower right", ncol=2)
    _title(figure, f"Active learning on digits ({r['setup']['seeds']} seeds)")


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


def write_charts(benchmarks, out_dir=CHARTS):
    """One PNG per benchmark of `benchmarks` whose results exist; returns the
    paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for bench in benchmarks:
        result = load(bench.name)
        if result is None:
            continue
        figure, axes = _figure(bench.panels)
        bench.chart(result, figure, axes)
        path = out_dir / f"{bench.name}.png"
        figure.savefig(path, dpi=DPI)
        written.append(path)
    return written
