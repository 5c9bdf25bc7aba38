"""PNG plots of dropout training and uncertainty (matplotlib, no window).

Each function draws one figure with matplotlib's object-oriented API on an
Agg canvas and writes it to `path` (PNG). `pyplot` is never imported, so no
window opens, no global backend is changed, and nothing needs a display.
matplotlib is imported when a function is called, not with `kerasdrop`.

Inputs are plain Python/NumPy data keyed by a variant name (one line or
panel per variant), e.g. `history.history` dicts from `model.fit`.
"""

import numpy as np

from kerasdrop import _checks

DPI = 100
#: One colour per variant, in order (matplotlib's tab10, colour-blind safe
#: enough for four lines).
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path):
    figure.tight_layout()
    figure.savefig(str(path), format="png", dpi=DPI)
    return path


def _check_mapping(name, value):
    """A non-empty dict keyed by variant (TypeError / ValueError else)."""
    expected = "a non-empty dict from variant name to its data"
    _checks.check_type(name, value, dict, expected)
    if not value:
        raise _checks.value_error(name, expected, value)
    return value


def _color(index):
    return COLORS[index % len(COLORS)]


def plot_rates(rates, path, title="Dropout rate per epoch", first_epoch=1):
    """Dropout rate against epoch, one line per (variant, layer).

    Args:
        rates: dict variant -> dict layer name -> list of rates (one per
            epoch; e.g. the `dropout/<name>` entries of `history.history`
            written by `kerasdrop.callbacks.DropoutLogger`). An empty inner
            dict draws a flat line at 0 labelled "<variant> (rate 0)".
        path: PNG file to write.
        title: the figure's title.
        first_epoch: the epoch of each list's first value (1: the end of
            the first epoch; 0 when the lists start with the rate before
            training).

    Returns:
        `path`.

    Example:

    >>> import tempfile, os
    >>> from kerasdrop import plots
    >>> path = os.path.join(tempfile.mkdtemp(), "rates.png")
    >>> _ = plots.plot_rates({"constant": {"drop": [0.3, 0.3, 0.3]}}, path)
    >>> os.path.getsize(path) > 1000
    True
    """
    _check_mapping("rates", rates)
    figure = _figure(9.5, 4.5)
    ax = figure.add_subplot(1, 1, 1)
    _rate_lines(ax, rates, first_epoch)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch (0: before training)" if first_epoch == 0 else "epoch")
    ax.set_ylabel("dropout rate p (end of epoch)")
    ax.set_ylim(bottom=-0.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    # Outside the axes: inside, it covered the curves it names.
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(figure, path)


def _rate_lines(ax, rates, first_epoch):
    """One line per (variant, layer); a flat 0 for a variant without any."""
    styles = ("-", "--", ":", "-.")
    longest = max([len(v) for layers in rates.values() for v in layers.values()] or [1])
    for i, (variant, layers) in enumerate(rates.items()):
        if not layers:
            ax.plot(
                range(first_epoch, first_epoch + longest),
                [0.0] * longest,
                color=_color(i),
                label=f"{variant} (rate 0)",
            )
            continue
        for j, (layer, values) in enumerate(layers.items()):
            ax.plot(
                range(first_epoch, first_epoch + len(values)),
                values,
                styles[j % len(styles)],
                color=_color(i),
                marker="o",
                markersize=3,
                label=f"{variant}: {layer}",
            )


def plot_curves(histories, path, metrics=("loss", "accuracy")):
    """Training (solid) and validation (dashed) curves per variant.

    Args:
        histories: dict variant -> `history.history` dict (keys such as
            `loss`, `val_loss`, `accuracy`, `val_accuracy`).
        path: PNG file to write.
        metrics: the keys to plot, one panel each (`val_<key>` dashed).

    Returns:
        `path`.

    Example:

    >>> import tempfile, os
    >>> from kerasdrop import plots
    >>> h = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7],
    ...      "accuracy": [0.6, 0.8], "val_accuracy": [0.5, 0.7]}
    >>> path = os.path.join(tempfile.mkdtemp(), "curves.png")
    >>> plots.plot_curves({"constant": h}, path) == path
    True
    """
    _check_mapping("histories", histories)
    figure = _figure(5.0 * len(metrics), 4.5)
    for k, metric in enumerate(metrics):
        ax = figure.add_subplot(1, len(metrics), k + 1)
        for i, (variant, history) in enumerate(histories.items()):
            for key, style, suffix in (
                (metric, "-", "train"),
                ("val_" + metric, "--", "val"),
            ):
                values = history.get(key)
                if values:
                    ax.plot(
                        range(1, len(values) + 1),
                        values,
                        style,
                        color=_color(i),
                        label=f"{variant} ({suffix})",
                    )
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric}: train (solid) / validation (dashed)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _save(figure, path)


def plot_reliability(diagrams, path):
    """Reliability diagrams: accuracy against confidence, one panel per variant.

    Each panel also shows the number of examples per confidence bin (bars
    spanning each bin's edges, right axis): a bin's accuracy is only as
    trustworthy as its count. Equal-mass bins
    (`reliability_diagram(..., binning="adaptive")`) draw bars of equal
    height whose widths show where the confidences lie.

    Args:
        diagrams: dict variant -> dict mode (e.g. "deterministic", "MC") ->
            the dict of `kerasdrop.metrics.reliability_diagram` (`edges`,
            `confidence`, `accuracy`, `count`). Empty bins are skipped.
        path: PNG file to write.

    Returns:
        `path`.

    Example:

    >>> import tempfile, os
    >>> from kerasdrop import metrics, plots
    >>> d = metrics.reliability_diagram([0, 1, 1], [[.9, .1], [.4, .6], [.2, .8]], 5)
    >>> path = os.path.join(tempfile.mkdtemp(), "reliability.png")
    >>> plots.plot_reliability({"model": {"deterministic": d}}, path) == path
    True
    """
    _check_mapping("diagrams", diagrams)
    n = len(diagrams)
    figure = _figure(3.6 * n, 4.0)
    markers = ("o", "s", "^")
    for i, (variant, modes) in enumerate(diagrams.items()):
        ax = figure.add_subplot(1, n, i + 1)
        _bin_counts(ax.twinx(), modes, last=i == n - 1)
        ax.plot([0, 1], [0, 1], ":", color="gray", label="perfect calibration")
        for j, (mode, d) in enumerate(modes.items()):
            filled = np.asarray(d["count"]) > 0
            ax.plot(
                np.asarray(d["confidence"])[filled],
                np.asarray(d["accuracy"])[filled],
                "-" + markers[j % len(markers)],
                color=_color(j),
                markersize=4,
                label=mode,
            )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("confidence (max probability)")
        if i == 0:
            ax.set_ylabel("accuracy")
        ax.set_title(variant)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    return _save(figure, path)


def _bin_counts(ax, modes, last):
    """Bars of examples per bin, one bar per mode side by side."""
    for j, d in enumerate(modes.values()):
        edges = np.asarray(d["edges"], dtype="float64")
        width = np.diff(edges) / len(modes)
        ax.bar(
            edges[:-1] + j * width,
            np.asarray(d["count"]),
            width,
            align="edge",
            color=_color(j),
            alpha=0.2,
        )
    ax.set_ylim(bottom=0)
    if last:
        ax.set_ylabel("examples per bin (bars)")


def plot_risk_coverage(curves, path, title="Risk-coverage curves"):
    """Selective risk against coverage, one line per model (and mode).

    The curve of `kerasdrop.metrics.risk_coverage_curve`: accepting the
    most confident inputs first, the error rate among those accepted. Each
    legend entry gives the curve's AURC (its mean risk, as
    `kerasdrop.metrics.aurc` computes it); lower curves are better.

    Args:
        curves: dict model -> `(coverage, risk)`, or dict model -> dict
            mode (e.g. "deterministic", "MC dropout") -> `(coverage, risk)`.
            One colour per model, one line style per mode.
        path: PNG file to write.
        title: the figure's title.

    Returns:
        `path`.

    Example:

    >>> import tempfile, os
    >>> from kerasdrop import metrics, plots
    >>> curve = metrics.risk_coverage_curve([0, 1, 1], [[.9, .1], [.4, .6], [.8, .2]])
    >>> path = os.path.join(tempfile.mkdtemp(), "risk_coverage.png")
    >>> plots.plot_risk_coverage({"model": curve}, path) == path
    True
    """
    _check_mapping("curves", curves)
    figure = _figure(8.5, 4.5)
    ax = figure.add_subplot(1, 1, 1)
    styles = ("-", "--", ":", "-.")
    for i, (model, modes) in enumerate(curves.items()):
        if not isinstance(modes, dict):
            modes = {None: modes}
        for j, (mode, curve) in enumerate(modes.items()):
            coverage, risk = _curve_arrays(model, curve)
            name = model if mode is None else f"{model}, {mode}"
            ax.plot(
                coverage,
                risk,
                styles[j % len(styles)],
                color=_color(i),
                label=f"{name} (AURC {np.mean(risk):.4f})",
            )
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("coverage (fraction of inputs accepted, most confident first)")
    ax.set_ylabel("selective risk (error rate of accepted)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(figure, path)


def _curve_arrays(model, curve):
    """`(coverage, risk)` as two float arrays of one length."""
    try:
        coverage, risk = (np.asarray(a, dtype="float64").ravel() for a in curve)
    except (TypeError, ValueError):
        raise _checks.type_error(
            "curves", "(coverage, risk) array pairs", curve, f"Model {model!r}."
        ) from None
    if coverage.shape != risk.shape or coverage.size == 0:
        raise _checks.invalid_value(
            "curves",
            "Expected (coverage, risk) arrays of one non-zero length.",
            f"coverage of shape {coverage.shape} and risk of shape "
            f"{risk.shape} for {model!r}",
        )
    return coverage, risk


def plot_uncertainty(scores, path, bins=30):
    """Histograms of uncertainty scores, in vs out of distribution.

    Args:
        scores: dict variant -> dict score name (e.g. "predictive entropy")
            -> `(in_distribution_scores, out_of_distribution_scores)`, or
            None to draw an empty "n/a" panel. One row per score name, one
            column per variant.
        path: PNG file to write.
        bins: histogram bins (the same edges for every panel of a score,
            so the panels of a row share one x-axis).

    Returns:
        `path`.

    Example:

    >>> import tempfile, os
    >>> import numpy as np
    >>> from kerasdrop import plots
    >>> rng = np.random.default_rng(0)
    >>> s = {"MC": {"entropy": (rng.random(50) * 0.5, rng.random(20) + 0.5)}}
    >>> path = os.path.join(tempfile.mkdtemp(), "uncertainty.png")
    >>> plots.plot_uncertainty(s, path) == path
    True
    """
    names = _score_names(_check_mapping("scores", scores))
    rows, cols = len(names), len(scores)
    edges = _shared_edges(scores, names, bins)
    figure = _figure(3.6 * cols, 3.0 * rows)
    for c, (variant, per_variant) in enumerate(scores.items()):
        for r, name in enumerate(names):
            ax = figure.add_subplot(rows, cols, r * cols + c + 1)
            pair = per_variant.get(name)
            _histograms(ax, pair, edges[name])
            if r == 0:
                ax.set_title(variant)
            if r == rows - 1 or pair is not None:
                ax.set_xlabel(f"{name} (nats)")
            if c == 0:
                ax.set_ylabel("density")
    return _save(figure, path)


def _score_names(scores):
    """The score names of every variant, in order of first appearance."""
    names = []
    for per_variant in scores.values():
        names += [name for name in per_variant if name not in names]
    if not names:
        raise _checks.value_error("scores", "at least one score per variant", scores)
    return names


def _histograms(ax, pair, edges):
    """In- and out-of-distribution histograms, or "n/a" for None."""
    if pair is None:
        ax.text(
            0.5,
            0.5,
            "n/a",
            ha="center",
            va="center",
            fontsize=14,
            color="gray",
            transform=ax.transAxes,
        )
        ax.set_xticks([])
        ax.set_yticks([])
        return
    inside = np.asarray(pair[0], dtype="float64").ravel()
    outside = np.asarray(pair[1], dtype="float64").ravel()
    ax.hist(
        inside,
        edges,
        density=True,
        alpha=0.55,
        color=_color(0),
        label="in distribution",
    )
    ax.hist(
        outside,
        edges,
        density=True,
        alpha=0.55,
        color=_color(3),
        label="out of distribution",
    )
    ax.legend(fontsize=7)


def _shared_edges(scores, names, bins):
    """One set of bin edges per score name, shared by every variant's panel
    so that the panels of a row are comparable."""
    edges = {}
    for name in names:
        pairs = [v[name] for v in scores.values() if v.get(name) is not None]
        top = max(
            [1e-6] + [float(np.max(s)) for pair in pairs for s in pair if np.size(s)]
        )
        edges[name] = np.linspace(0.0, top * 1.0001, bins + 1)
    return edges


def image_size(path):
    """`(width, height)` of a PNG file, read from its header.

    Example:

    >>> import tempfile, os
    >>> from kerasdrop import plots
    >>> path = os.path.join(tempfile.mkdtemp(), "rates.png")
    >>> plots.image_size(plots.plot_rates({"a": {"drop": [0.1, 0.2]}}, path))
    (950, 450)
    """
    with open(path, "rb") as f:
        header = f.read(24)
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"'{path}' is not a PNG file.")
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
