"""The demo's figures say what they show: legends clear of the curves, bin
counts on reliability diagrams, one x-axis per uncertainty score."""

import numpy as np
import pytest

from kerasdrop import metrics, plots


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
    assert heights == list(np.asarray(d["count"], dtype=float))
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
