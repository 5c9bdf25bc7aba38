"""Bad inputs of `kerasdrop.metrics`: shapes (2-D scores are refused, not
flattened) and ranges (`eps`, `n_bins`, `tau`...), naming the argument."""

import copy
import math

import numpy as np
import pytest

from helpers import assert_bad_input, to_numpy
from kerasdrop import metrics as M


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """These probes build no model: no `clear_session` per case (the
    conftest fixture's cost, paid hundreds of times, is most of their time)."""
    yield


P = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
Y = [0, 1, 1]
S = np.stack([P, P[::-1]])  # (T=2, N=3, K=2)
TWO_D = np.ones((3, 2))

CASES = [
    # OOD: one score per input.
    ("ood_auroc", (TWO_D, [1.0]), {}, ValueError, "scores_in", "shape (3, 2)"),
    ("ood_auroc", ([1.0], TWO_D), {}, ValueError, "scores_out", "shape (3, 2)"),
    ("aupr_in", ([1.0, 2.0], np.ones((2, 2))), {}, ValueError, "scores_out", "(2, 2)"),
    ("aupr_out", (np.ones((2, 1, 1)), [1.0]), {}, ValueError, "scores_in", "(2, 1, 1)"),
    ("fpr_at_tpr", (TWO_D, [1.0]), {}, ValueError, "scores_in", "shape (3, 2)"),
    ("fpr_at_tpr", ([1.0], [2.0]), {"tpr": math.nan}, ValueError, "tpr", "tpr=nan"),
    ("fpr_at_tpr", ([1.0], [2.0]), {"tpr": 0}, ValueError, "tpr", "tpr=0"),
    ("fpr_at_tpr", ([1.0], [2.0]), {"tpr": True}, TypeError, "tpr", "tpr=True"),
    ("ood_auroc", ("abc", [1.0]), {}, TypeError, "scores_in", "'abc'"),
    ("ood_auroc", ([], [1.0]), {}, ValueError, "scores_in", "shape (0,)"),
    ("ood_auroc", (1.0, [1.0]), {}, ValueError, "scores_in", "shape ()"),
    ("ood_auroc", ([math.nan], [1.0]), {}, ValueError, "scores_in", "NaN or inf"),
    # Scoring rules.
    ("negative_log_likelihood", (Y, P), {"eps": math.nan}, ValueError, "eps", "nan"),
    ("negative_log_likelihood", (Y, P), {"eps": 0.0}, ValueError, "eps", "eps=0.0"),
    ("negative_log_likelihood", (Y, P), {"eps": -1}, ValueError, "eps", "eps=-1"),
    ("negative_log_likelihood", (Y, P), {"eps": 1.0}, ValueError, "eps", "eps=1.0"),
    ("negative_log_likelihood", (Y, P), {"eps": "1e-9"}, TypeError, "eps", "'1e-9'"),
    ("negative_log_likelihood", (Y, S), {}, ValueError, "probs", "(2, 3, 2)"),
    ("brier_score", (Y, S), {}, ValueError, "probs", "shape (2, 3, 2)"),
    ("brier_score", (Y, [0.1, 0.2, 0.3]), {}, ValueError, "probs", "shape (3,)"),
    ("brier_score", (Y, -P), {}, ValueError, "probs", "values in [-0.9"),
    ("brier_score", (Y, P * 2), {}, ValueError, "probs", "values in [0.2"),
    ("brier_score", ([0, 1], P), {}, ValueError, "y_true", "y_true of shape (2,)"),
    ("brier_score", ([0, 2, 1], P), {}, ValueError, "y_true", "values in [0, 2]"),
    ("brier_score", ([0.5, 1, 1], P), {}, ValueError, "y_true", "non-integer"),
    # Calibration.
    (
        "expected_calibration_error",
        (Y, P),
        {"n_bins": 10**12},
        ValueError,
        "n_bins",
        "=",
    ),
    ("expected_calibration_error", (Y, P), {"n_bins": 0}, ValueError, "n_bins", "=0"),
    ("expected_calibration_error", (Y, P), {"n_bins": True}, TypeError, "n_bins", "="),
    ("adaptive_calibration_error", (Y, P), {"n_bins": 2.0}, TypeError, "n_bins", "="),
    ("reliability_diagram", (Y, P), {"binning": "x"}, ValueError, "binning", "'x'"),
    ("reliability_diagram", (Y, S), {}, ValueError, "probs", "shape (2, 3, 2)"),
    # Uncertainty.
    (
        "predictive_entropy",
        (np.full((2, 2, 3, 2), 0.5),),
        {},
        ValueError,
        "probs",
        "3, 2)",
    ),
    (
        "max_probability",
        (np.full((2, 2, 3, 2), 0.5),),
        {},
        ValueError,
        "probs",
        "3, 2)",
    ),
    ("expected_entropy", (P,), {}, ValueError, "sample_probs", "shape (3, 2)"),
    ("mutual_information", (S,), {"multi_label": 1}, TypeError, "multi_label", "=1"),
    ("variation_ratio", (S * np.nan,), {}, ValueError, "sample_probs", "NaN or inf"),
    # Regression.
    (
        "regression_log_likelihood",
        ([0.0], [[0.0]]),
        {"tau": 0},
        ValueError,
        "tau",
        "tau=0",
    ),
    (
        "regression_log_likelihood",
        ([0.0], [[0.0]]),
        {"tau": math.nan},
        ValueError,
        "tau",
        "nan",
    ),
    (
        "regression_log_likelihood",
        ([0.0], [[0.0]]),
        {"tau": 1.0, "reduction": "sum"},
        ValueError,
        "reduction",
        "'sum'",
    ),
    (
        "heteroscedastic_log_likelihood",
        ([0.0], [[0.0]], [[0.0]]),
        {"reduction": 1},
        ValueError,
        "reduction",
        "reduction=1",
    ),
    (
        "heteroscedastic_uncertainty",
        ([[0.0]], [[0.0, 1.0]]),
        {},
        ValueError,
        "log_var_samples",
        "(1, 2)",
    ),
    ("predictive_variance", ([[0.0]],), {"tau": -1}, ValueError, "tau", "tau=-1"),
    ("predictive_variance", ([0.0, 1.0],), {}, ValueError, "samples", "shape (2,)"),
    # Logits and selective prediction.
    (
        "energy_score",
        ([[1.0, 2.0]],),
        {"temperature": 0},
        ValueError,
        "temperature",
        "=0",
    ),
    (
        "energy_score",
        ([[1.0, 2.0]],),
        {"temperature": math.inf},
        ValueError,
        "temperature",
        "=inf",
    ),
    ("max_logit", (1.0,), {}, ValueError, "logits", "shape ()"),
    ("selective_accuracy", (Y, P, 0), {}, ValueError, "coverage", "coverage=0"),
    ("selective_accuracy", (Y, P, True), {}, TypeError, "coverage", "=True"),
    ("aurc", (Y, P), {"confidence": TWO_D}, ValueError, "confidence", "(3, 2)"),
    ("augrc", (Y, P), {"confidence": [1.0]}, ValueError, "confidence", "(1,)"),
]


@pytest.mark.parametrize(
    "function, args, kwargs, exc, name, received",
    CASES,
    ids=[f"{i}-{c[0]}-{c[4]}" for i, c in enumerate(CASES)],
)
def test_metric_refuses(function, args, kwargs, exc, name, received):
    copies = copy.deepcopy(args)
    assert_bad_input(lambda: getattr(M, function)(*args, **kwargs), exc, name, received)
    np.testing.assert_equal(to_numpy(args), to_numpy(copies))  # inputs untouched


def test_ood_scores_accept_a_column():
    column = M.ood_auroc(np.array([[0.1], [0.2]]), np.array([[0.3], [0.2]]))
    assert column == M.ood_auroc([0.1, 0.2], [0.3, 0.2]) == 0.875


def test_largest_bin_count_is_accepted():
    from kerasdrop.metrics.calibration import MAX_BINS

    assert M.expected_calibration_error(Y, P, n_bins=MAX_BINS) >= 0
