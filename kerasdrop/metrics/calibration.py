"""Calibration: reliability diagrams and expected calibration errors.

Top-label calibration of a classifier's probabilities `(N, K)` (a single
column is the probability of class 1): the confidence of an input is its
largest class probability, and it is right when that class is the label.

- `reliability_diagram`: per-bin confidence, accuracy and count, with
  equal-width bins (`binning="uniform"`) or equal-mass bins
  (`binning="adaptive"`, each bin holding the same number of inputs).
- `expected_calibration_error`: ECE over equal-width bins (Naeini et al.
  2015; Guo et al. 2017).
- `adaptive_calibration_error`: the same gap over equal-mass bins (Nixon
  et al. 2019, "Measuring Calibration in Deep Learning": adaptive binning;
  their ACE also averages over every class, this is its top-label form, as
  torch-uncertainty's `AdaptiveCalibrationError`).
"""

import numpy as np

from kerasdrop import _checks
from kerasdrop.metrics import _inputs
from kerasdrop.metrics._numeric import tie_means

BINNINGS = ("uniform", "adaptive")
#: The most bins a diagram takes (each bin holds a few float64 values).
MAX_BINS = 10**6


def _uniform_bins(confidence, n_bins):
    """Bin index per input and edges: bin i holds (edges[i], edges[i+1]];
    confidence 0 goes to bin 0."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.ceil(confidence * n_bins).astype("int64") - 1, 0, n_bins - 1)
    return index, edges


def _adaptive_bins(confidence, n_bins):
    """Bin index per input (inputs sorted by confidence, cut into
    `min(n_bins, N)` runs of equal size, the first ones one larger when `N`
    does not divide) and edges halfway between neighbouring bins."""
    order = np.argsort(confidence, kind="mergesort")
    n_bins = min(n_bins, confidence.shape[0])
    sizes = [len(part) for part in np.array_split(order, n_bins)]
    index = np.empty_like(order)
    index[order] = np.repeat(np.arange(n_bins), sizes)
    ranked = confidence[order]
    starts = np.cumsum(sizes)[:-1]
    middles = 0.5 * (ranked[starts - 1] + ranked[starts])
    return index, np.concatenate([ranked[:1], middles, ranked[-1:]])


def reliability_diagram(y_true, probs, n_bins=15, binning="uniform"):
    """Per-bin data of a reliability diagram.

    Args:
        y_true: integer labels `(N,)` or one-hot rows `(N, K)`.
        probs: class probabilities `(N, K)`.
        n_bins: number of bins, in `[1, MAX_BINS]` (a million); with
            "adaptive", at most `N` are used.
        binning: "uniform" (equal-width confidence bins over [0, 1]) or
            "adaptive" (equal-mass: bins of equal count, edges halfway
            between neighbouring bins, from the lowest to the highest
            confidence). With "adaptive", inputs of equal confidence share
            their mean correctness, so a tie split across two bins does not
            depend on the order of the inputs.

    Returns:
        dict of arrays: `edges` (`n_bins + 1`), `confidence` (mean max
        probability per bin, NaN if empty), `accuracy`, `count`.

    Example:

    >>> d = reliability_diagram([0, 1, 1, 0], [[.9, .1], [.3, .7], [.6, .4],
    ...                         [.55, .45]], n_bins=2, binning="adaptive")
    >>> d["count"].tolist(), d["accuracy"].tolist(), d["edges"].round(3).tolist()
    ([2.0, 2.0], [0.5, 1.0], [0.55, 0.65, 0.9])
    """
    n_bins = _checks.check_int("n_bins", n_bins, minimum=1, maximum=MAX_BINS)
    _checks.check_choice("binning", binning, BINNINGS)
    confidence, correct = _inputs.top_label(y_true, probs)
    if binning == "uniform":
        index, edges = _uniform_bins(confidence, n_bins)
    else:
        index, edges = _adaptive_bins(confidence, n_bins)
        correct = tie_means(confidence, correct)
    bins = len(edges) - 1
    count = np.bincount(index, minlength=bins).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(index, weights=confidence, minlength=bins) / count
        acc = np.bincount(index, weights=correct, minlength=bins) / count
    return {"edges": edges, "confidence": conf, "accuracy": acc, "count": count}


def _calibration_gap(diagram):
    """`sum_b |B_b|/N |accuracy_b - confidence_b|` over the non-empty bins."""
    count = diagram["count"]
    filled = count > 0
    gaps = np.abs(diagram["accuracy"][filled] - diagram["confidence"][filled])
    return float(np.sum(count[filled] * gaps) / count.sum())


def expected_calibration_error(y_true, probs, n_bins=15):
    """ECE: `sum_b |B_b|/N |accuracy_b - confidence_b|`, equal-width bins.

    Example:

    >>> y, p = [0, 1], [[0.9, 0.1], [0.2, 0.8]]
    >>> round(expected_calibration_error(y, p, n_bins=10), 6)
    0.15
    """
    return _calibration_gap(reliability_diagram(y_true, probs, n_bins))


def adaptive_calibration_error(y_true, probs, n_bins=15):
    """Adaptive (equal-mass) ECE: the ECE gap over bins of equal count.

    Nixon et al. 2019, "Measuring Calibration in Deep Learning": inputs
    sorted by confidence are cut into `n_bins` bins of `N / n_bins` inputs
    (sizes differ by at most one), so that every bin's accuracy rests on as
    many inputs and no bin is empty; then `sum_b |B_b|/N |accuracy_b -
    confidence_b|`. Top-label form (torch-uncertainty's
    `AdaptiveCalibrationError`, L1 norm). Inputs of equal confidence share
    their mean correctness (order-independent ties).

    Example:

    >>> y = [0, 1, 1, 0]
    >>> p = [[.9, .1], [.3, .7], [.6, .4], [.55, .45]]
    >>> # Bins {.55 right, .6 wrong} and {.7 right, .9 right}.
    >>> round(adaptive_calibration_error(y, p, n_bins=2), 6)
    0.1375
    """
    return _calibration_gap(reliability_diagram(y_true, probs, n_bins, "adaptive"))
