"""Proper scoring rules of class probabilities: NLL and the Brier score."""

import numpy as np

from kerasdrop import _checks
from kerasdrop.metrics import _inputs


def negative_log_likelihood(y_true, probs, eps=1e-12):
    """Mean `-log p(y_true)` (probabilities clipped at `eps`).

    >>> round(negative_log_likelihood([0, 1], [[0.5, 0.5], [0.5, 0.5]]), 6)
    0.693147
    """
    eps = _checks.check_number(
        "eps", eps, minimum=0, strict=True, expected="a small number in (0, 1)"
    )
    if eps >= 1:
        raise _checks.value_error("eps", "a small number in (0, 1)", eps)
    rows = _inputs.class_rows(probs)
    labels = _inputs.labels(y_true, rows)
    picked = rows[np.arange(labels.shape[0]), labels]
    return float(-np.mean(np.log(np.maximum(picked, eps))))


def brier_score(y_true, probs):
    """Mean over inputs of `sum_k (p_k - onehot_k)^2` (0 best, 2 worst).

    >>> round(brier_score([0], [[0.9, 0.1]]), 6)
    0.02
    """
    rows = _inputs.class_rows(probs)
    labels = _inputs.labels(y_true, rows)
    onehot = np.eye(rows.shape[-1])[labels]
    return float(np.mean(np.sum((rows - onehot) ** 2, axis=-1)))
