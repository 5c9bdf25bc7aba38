"""The demo report's content: its tables, its text and its plots.

`results_table` and `ood_table` (the two tables), `against_baseline` (the
reading computed from the first), `report_blocks` (the whole report as one
list of blocks, rendered by `kerasdrop.apps.report`) and `write_plots` (the
PNG figures the report shows, drawn by `kerasdrop.plots`).
"""

import math

from kerasdrop.apps.demo.settings import (
    HIDDEN,
    MODEL_DIR,
    OOD_METRICS,
    OOD_SCORES,
    PLOTS,
    RATE,
    TEST_METRICS,
)

#: Decimals shown per figure (AURC and AUGRC of a 97%-accurate model are
#: a few thousandths): 3 unless listed.
DECIMALS = {"aurc": 4, "augrc": 4}


def _fmt(value, decimals=3):
    if value is None:
        return "n/a"
    return f"{value:.{decimals}f}" if math.isfinite(value) else str(value)


MODES = (("deterministic", "deterministic"), ("mc", "MC dropout"))


def results_table(results):
    """Header and rows of the results table on the test digits (one row
    per variant and mode; `TEST_METRICS`).

    Example:

    >>> figures = dict(zip(TEST_METRICS, [0.9, 0.3, 0.05, 0.04, 0.1, 0.02, 0.01]))
    >>> header, rows = results_table(
    ...     {"variants": {"none": {"deterministic": figures, "mc": None}}})
    >>> rows[0]
    ['none', 'deterministic', '0.900', '0.300', '0.050', '0.040', '0.100', '0.0200', '0.0100']
    >>> rows[1][2:] == ["n/a"] * len(TEST_METRICS)
    True
    """  # noqa: E501
    header = ["variant", "prediction", "accuracy", "NLL", "ECE", "adaptive ECE"]
    header += ["Brier", "AURC", "AUGRC"]
    rows = []
    for variant, figures in results["variants"].items():
        for mode, label in MODES:
            values = figures[mode]
            if values is None:
                rows.append([variant, label] + ["n/a"] * len(TEST_METRICS))
            else:
                rows.append(
                    [variant, label]
                    + [_fmt(values[m], DECIMALS.get(m, 3)) for m in TEST_METRICS]
                )
    return header, rows


def ood_table(results):
    """Header and rows of the OOD detection table: one row per variant,
    mode and uncertainty score that applies (`OOD_METRICS`).

    Example:

    >>> figures = {"auroc_entropy": 0.93, "fpr95_entropy": 0.41,
    ...            "aupr_in_entropy": 0.97, "aupr_out_entropy": 0.8}
    >>> figures.update(dict.fromkeys(["auroc_mi", "fpr95_mi", "aupr_in_mi",
    ...                               "aupr_out_mi"]))
    >>> ood_table({"variants": {"none": {"deterministic": figures, "mc": None}}})[1]
    [['none', 'deterministic', 'predictive entropy', '0.930', '0.410', '0.970', '0.800']]
    """  # noqa: E501
    header = ["variant", "prediction", "score", "AUROC", "FPR at 95% TPR"]
    header += ["AUPR-in", "AUPR-out"]
    rows = []
    for variant, figures in results["variants"].items():
        for mode, label in MODES:
            if figures[mode] is None:
                continue
            for key, name in OOD_SCORES.items():
                values = [figures[mode][f"{m}_{key}"] for m in OOD_METRICS]
                if values[0] is not None:
                    rows.append([variant, label, name] + [_fmt(v) for v in values])
    return header, rows


def against_baseline(results, baseline="no dropout", keys=("nll", "brier")):
    """Which variant and mode beats the baseline's deterministic figures.

    Computed from the table, so the report never claims more than it shows.

    Example:

    >>> f = lambda nll, brier: {"nll": nll, "brier": brier}
    >>> against_baseline({"variants": {
    ...     "no dropout": {"deterministic": f(0.15, 0.05), "mc": None},
    ...     "constant": {"deterministic": f(0.13, 0.04), "mc": f(0.14, 0.06)}}})
    'Against no dropout (deterministic), lower NLL and Brier: constant (deterministic). Lower NLL only: constant (MC dropout).'
    """  # noqa: E501
    base = results["variants"][baseline]["deterministic"]
    groups = {}
    for variant, figures in results["variants"].items():
        for mode, label in MODES:
            if variant == baseline or figures[mode] is None:
                continue
            better = tuple(k for k in keys if figures[mode][k] < base[k])
            groups.setdefault(better, []).append(f"{variant} ({label})")
    names = {"nll": "NLL", "brier": "Brier"}
    parts = []
    for better in sorted(groups, key=len, reverse=True):
        head = "lower on neither"
        if better:
            head = "lower " + " and ".join(names.get(k, k) for k in better)
            head += " only" if len(better) < len(keys) else ""
        parts.append(f"{head}: {', '.join(groups[better])}")
    text = f"Against {baseline} (deterministic), " + ". ".join(parts) + "."
    return text.replace(". lower", ". Lower")


def _intro_blocks(results):
    """Title, data, model and the four variants."""
    d = results["data"]
    return [
        ("h1", "kerasdrop demo report"),
        (
            "p",
            (
                f"Data: scikit-learn's bundled 8x8 digits. In distribution: digits "
                f"0-8 ({d['train']} train, {d['validation']} validation, "
                f"{d['test']} test). Out of distribution (OOD): all {d['ood']} "
                f"images of the digit {d['ood_class']}, which no model saw in "
                "training."
            ),
        ),
        (
            "p",
            (
                f"Model: 64 -> Dense({HIDDEN}, relu) -> Dense({HIDDEN}, relu) -> "
                f"Dense(9, softmax), dropout on both hidden outputs; Adam 1e-3, "
                f"batch {results['batch_size']}, {results['epochs']} epochs, seed "
                f"{results['seed']}, {results['backend']} backend; MC dropout with "
                f"{results['mc_samples']} samples (`kerasdrop.mc.predict`)."
            ),
        ),
        (
            "ul",
            [
                "**no dropout**: the plain MLP (MC dropout does not apply).",
                f"**constant**: `kerasdrop.layers.Dropout({RATE})`.",
                "**scheduled**: the same layers from rate 0, driven per batch by "
                "`kerasdrop.recipes.curriculum_dropout(total_steps, "
                f"final_rate={RATE})`.",
                "**concrete**: `ConcreteDropout` wrappers, rates learned "
                "(regularizers from `concrete_regularizers(n_train, "
                'loss="cross_entropy")`, initial p = 0.1).',
            ],
        ),
    ]


def _results_blocks(results):
    """The tables, how to read them, the comparison and the final rates."""
    header, rows = results_table(results)
    ood_header, ood_rows = ood_table(results)
    blocks = [
        ("h2", "Results on the test digits"),
        ("table", header, rows),
        (
            "p",
            "Lower is better for every column but accuracy: NLL (nats); ECE "
            "(15 equal-width bins) and adaptive ECE (15 bins of equal count, "
            "Nixon et al. 2019); Brier; AURC, the mean error rate of the "
            "accepted digits when the most confident (max probability) are "
            "accepted first, over every coverage (Geifman & El-Yaniv 2017); and "
            "AUGRC, the same area with the fraction of all digits that are "
            "accepted and wrong (Traub et al. 2024).",
        ),
    ]
    if "no dropout" in results["variants"]:
        blocks.append(("p", against_baseline(results)))
    blocks += [
        ("h2", "Telling the unseen 9s from test digits"),
        ("table", ood_header, ood_rows),
        (
            "p",
            "A higher uncertainty score flags a digit as out of distribution. "
            "AUROC: the probability that an unseen 9 scores higher than a test "
            "digit (0.5: chance). FPR at 95% TPR: the fraction of test digits "
            "flagged when the threshold catches 95% of the 9s (lower is "
            "better). AUPR-in and AUPR-out: average precision of finding the "
            "test digits (by a low score), respectively the 9s (Hendrycks & "
            "Gimpel 2017). Mutual information needs samples, so it has no "
            "deterministic row.",
        ),
    ]
    rates = {
        v: ", ".join(f"{k} {r:.3f}" for k, r in f["final_rates"].items()) or "none"
        for v, f in results["variants"].items()
    }
    blocks.append(
        (
            "p",
            "Dropout rates at the end of training: "
            + "; ".join(f"{v}: {r}" for v, r in rates.items())
            + ".",
        )
    )
    return blocks


def _export_text(results):
    """What the export of the best model did, or why there is none."""
    info = results.get("export")
    if info is None:
        return "Export skipped (`--no-export`)."
    if info.get("error"):
        return (
            f"The best variant, **{results['best']}**, could not be exported: "
            f"{info['error']}"
        )
    if info.get("format") == "onnx":
        return (
            f"The best dropout variant by MC validation NLL, "
            f"**{results['best']}**, was exported with "
            f"`kerasdrop.export(model, '{MODEL_DIR}.onnx', format='onnx', "
            f"sample_inputs=x_test)` to `{info['path']}` (the torch backend "
            "serves through ONNX: Keras writes no SavedModel there), which ran "
            f"it back in onnxruntime and checked it on the {info['verified_on']} "
            f"test digits: it matches `model(x, training=False)` to "
            f"rtol={info['rtol']:g}, atol={info['atol']:g}, deterministically. "
            "MC predictions on torch come from `kerasdrop.mc.predict`, as above."
        )
    return (
        f"The best dropout variant by MC validation NLL, "
        f"**{results['best']}**, was exported with "
        f"`kerasdrop.export(model, '{MODEL_DIR}', mc_samples="
        f"{info['mc_samples']}, sample_inputs=x_test)` to `{info['path']}`, "
        f"which loaded it back with `tf.saved_model.load` and checked it on "
        f"the {info['verified_on']} test digits: `serving_default` (dropout "
        f"stripped, deterministic) matches `model(x, training=False)` to "
        f"rtol={info['rtol']:g}, atol={info['atol']:g}, and the `mc` "
        f"signature returns finite values. Signatures: "
        f"{', '.join(info['signatures'])}; `mc` returns "
        f"{', '.join(info['mc_outputs'])}."
    )


def _plot_blocks():
    """The plots, each with its heading and caption."""
    return [
        ("h2", "Plots"),
        ("h3", "Dropout rate per epoch"),
        (
            "p",
            "Scheduled rates as set by the recipe, learned Concrete rates "
            "as logged by `DropoutLogger` (end of each epoch).",
        ),
        ("img", PLOTS["rates"], "dropout rate per epoch"),
        ("h3", "Training and validation curves"),
        ("p", "Training loss includes the Concrete Dropout regularizer."),
        ("img", PLOTS["curves"], "training and validation curves"),
        ("h3", "Reliability diagrams (test digits)"),
        ("img", PLOTS["reliability"], "reliability diagrams"),
        ("h3", "Risk-coverage curves (test digits)"),
        (
            "p",
            "Error rate of the accepted digits when only the most confident "
            "(max probability) are accepted, against the fraction accepted; "
            "the legend gives each curve's AURC.",
        ),
        ("img", PLOTS["risk_coverage"], "risk-coverage curves"),
        ("h3", "Uncertainty in and out of distribution"),
        (
            "p",
            "MC dropout scores for the dropout variants, the deterministic "
            "entropy for the model without dropout.",
        ),
        ("img", PLOTS["uncertainty"], "uncertainty histograms"),
    ]


def report_blocks(results):
    """The report as a list of blocks (see `kerasdrop.apps.report`):
    `("h1", text)`, `("p", text)`, `("ul", items)`,
    `("table", header, rows)`, `("img", file, alt)`."""
    return (
        _intro_blocks(results)
        + _results_blocks(results)
        + [("h2", "Exported model"), ("p", _export_text(results))]
        + _plot_blocks()
        + [("p", f"Generated by `kerasdrop demo` in {results['seconds']} s.")]
    )


def write_plots(shown, out):
    """The PNG plots in `out`, from what the run kept of each variant
    (`shown[variant]` maps each key of `PLOTS` to what its plot shows)."""
    from kerasdrop import plots

    def of(kind):
        return {variant: kept[kind] for variant, kept in shown.items()}

    plots.plot_rates(of("rates"), out / PLOTS["rates"], first_epoch=0)
    plots.plot_curves(of("curves"), out / PLOTS["curves"])
    plots.plot_reliability(of("reliability"), out / PLOTS["reliability"])
    plots.plot_uncertainty(of("uncertainty"), out / PLOTS["uncertainty"])
    plots.plot_risk_coverage(of("risk_coverage"), out / PLOTS["risk_coverage"])
