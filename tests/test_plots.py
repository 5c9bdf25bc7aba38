"""The demo's figures say what they show: legends clear of the curves, bin
counts on reliability diagrams (equal-width or equal-mass), one x-axis per
uncertainty score, risk-coverage curves with their AURC."""

import numpy as np
import pytest

from kerasdrop import metrics, plots
from helpers import to_numpy


@pytest.fixture
def figures(monkeypatch):
    """Captures each figure as it is saved (after the layout is final)."""
    seen = []
    save = plots._save

    def capture(figure, path):
        out = save(figure, path)
        figure.canvas.draw()
        seen.append(figure)
        return out

    monkeypatch.setattr(plots, "_save", capture)
    return seen


def test_rates_legend_sits_outside_the_curves(tmp_path, figures):
    rates = {
        "no dropout": {},
        "concrete": {"c1": [0.1, 0.12, 0.13, 0.13], "c2": [0.1, 0.11, 0.115, 0.12]},
        "scheduled": {"d1": [0.0, 0.1, 0.2, 0.3], "d2": [0.0, 0.1, 0.2, 0.3]},
    }
    plots.plot_rates(rates, tmp_path / "rates.png", first_epoch=0)
    (figure,) = figures
    (ax,) = figure.axes
    renderer = figure.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    axes = ax.get_window_extent(renderer)
    assert legend.x0 >= axes.x1 - 1  # beside the plot, not over it
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "no dropout (rate 0)" in labels
    assert not any(label.count("no dropout") > 1 for label in labels)


def test_reliability_diagram_shows_bin_counts(tmp_path, figures):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=200)
    labels = rng.integers(0, 3, size=200)
    d = metrics.reliability_diagram(labels, probs, 10)
    plots.plot_reliability({"model": {"deterministic": d}}, tmp_path / "r.png")
    (figure,) = figures
    twin = figure.axes[1]
    heights = [patch.get_height() for patch in twin.patches]
    assert heights == list(np.asarray(to_numpy(d["count"]), dtype=float))
    assert sum(heights) == 200
    assert twin.get_ylabel() == "examples per bin (bars)"


def test_uncertainty_panels_of_a_score_share_the_x_axis(tmp_path, figures):
    rng = np.random.default_rng(1)
    scores = {
        "narrow": {"entropy": (rng.random(50) * 0.2, rng.random(20) * 0.4)},
        "wide": {"entropy": (rng.random(50) * 1.5, rng.random(20) * 2.0)},
    }
    plots.plot_uncertainty(scores, tmp_path / "u.png")
    (figure,) = figures
    first, second = figure.axes
    assert first.get_xlim() == pytest.approx(second.get_xlim())
    assert first.get_xlim()[1] >= 1.9  # covers the wide variant's scores


def test_reliability_diagram_shows_adaptive_bins(tmp_path, figures):
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.ones(3) * 0.5, size=120)
    labels = rng.integers(0, 3, size=120)
    d = metrics.reliability_diagram(labels, probs, 8, binning="adaptive")
    plots.plot_reliability({"model": {"equal-mass bins": d}}, tmp_path / "r.png")
    (figure,) = figures
    bars = figure.axes[1].patches
    assert [bar.get_height() for bar in bars] == [15.0] * 8  # equal mass
    widths = [bar.get_width() for bar in bars]
    np.testing.assert_allclose(to_numpy(widths), np.diff(to_numpy(d["edges"])))
    assert bars[0].get_x() == pytest.approx(d["edges"][0])


def test_risk_coverage_plot_names_each_curve_with_its_aurc(tmp_path, figures):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, size=200)
    good = np.eye(3)[labels] * 0.6 + 0.4 * rng.dirichlet(np.ones(3), size=200)
    noisy = rng.dirichlet(np.ones(3), size=200)
    curves = {
        "model A": {
            "deterministic": metrics.risk_coverage_curve(labels, good),
            "MC dropout": metrics.risk_coverage_curve(labels, noisy),
        },
        "model B": metrics.risk_coverage_curve(labels, noisy),  # a plain pair
    }
    plots.plot_risk_coverage(curves, tmp_path / "rc.png")
    (figure,) = figures
    (ax,) = figure.axes
    lines = ax.get_lines()
    assert len(lines) == 3
    labels_shown = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels_shown == [
        f"model A, deterministic (AURC {metrics.aurc(labels, good):.4f})",
        f"model A, MC dropout (AURC {metrics.aurc(labels, noisy):.4f})",
        f"model B (AURC {metrics.aurc(labels, noisy):.4f})",
    ]
    # Colour per model, line style per mode; the curve is the metric's.
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert lines[0].get_linestyle() != lines[1].get_linestyle()
    np.testing.assert_allclose(
        to_numpy(lines[1].get_ydata()), to_numpy(curves["model A"]["MC dropout"][1])
    )
    assert ax.get_xlim() == (0.0, 1.0)
    renderer = figure.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.x0 >= ax.get_window_extent(renderer).x1 - 1  # beside the plot


def test_risk_coverage_plot_refuses_bad_curves(tmp_path):
    with pytest.raises(ValueError, match="curves"):
        plots.plot_risk_coverage({"a": ([0.5, 1.0], [0.1])}, tmp_path / "x.png")
    with pytest.raises(TypeError, match="curves"):
        plots.plot_risk_coverage({"a": 3}, tmp_path / "x.png")
    with pytest.raises(TypeError, match="curves"):
        plots.plot_risk_coverage([([1.0], [0.0])], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
