"""Checked metric inputs: arrays, probabilities, labels, scores.

Every metric of `kerasdrop.metrics` reads its arguments through these, so a
bad input raises the same Keras-style error everywhere: a `TypeError` for
something that is not an array of numbers, a `ValueError` (naming the
argument) for a wrong shape, NaN/inf, probabilities outside [0, 1] or
labels out of range.
"""

import numpy as np

from kerasdrop import _checks
from kerasdrop.metrics.entropies import class_distributions


def array(name, value, min_ndim=1, max_ndim=None):
    """`value` as a non-empty, finite float64 array of `min_ndim` to
    `max_ndim` (None: any) dims.

    >>> array("scores", [1, 2]).dtype
    dtype('float64')
    """
    try:
        result = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        raise _checks.type_error(name, "an array of numbers", value) from None
    if result.ndim < min_ndim or (max_ndim is not None and result.ndim > max_ndim):
        dims = (
            f"at least {min_ndim}" if max_ndim is None else f"{min_ndim} to {max_ndim}"
        )
        if max_ndim == min_ndim:
            dims = str(min_ndim)
        raise _checks.invalid_value(
            name,
            f"Expected an array with {dims} dimension(s).",
            f"{name} of shape {result.shape}",
        )
    if result.size == 0:
        raise _checks.invalid_value(
            name, "Expected a non-empty array.", f"{name} of shape {result.shape}"
        )
    if not np.all(np.isfinite(result)):
        raise _checks.invalid_value(
            name, "Expected finite values.", f"{name} with NaN or inf"
        )
    return result


def probs(name, value, min_ndim=1, multi_label=False, max_ndim=None):
    """Checked probabilities `(..., K)` as `class_distributions` of them."""
    values = array(name, value, min_ndim, max_ndim)
    if values.min() < -1e-6 or values.max() > 1 + 1e-6:
        raise _checks.invalid_value(
            name,
            "Expected probabilities in [0, 1].",
            f"{name} with values in [{values.min():.6g}, {values.max():.6g}]",
        )
    _checks.check_bool("multi_label", multi_label)
    sums = values.sum(axis=-1)
    if not multi_label and values.shape[-1] > 1 and np.max(np.abs(sums - 1.0)) > 1e-3:
        raise _checks.invalid_value(
            name,
            "Expected rows (last axis) summing to 1, or one column of "
            "probabilities of class 1 (independent labels of a sigmoid head: "
            "multi_label=True).",
            f"{name} with row sums in [{sums.min():.6g}, {sums.max():.6g}]",
        )
    return class_distributions(values, multi_label)


def class_rows(value):
    """Checked probabilities `(N, K)` of one classifier (a single column:
    `[1 - p, p]`), for the calibration and selective metrics."""
    return probs("probs", value, min_ndim=2, max_ndim=2)[..., 0, :]


def tau(value):
    """The model precision: a positive number, as a float."""
    expected = "a positive number (the model precision)"
    return float(_checks.check_number("tau", value, 0, strict=True, expected=expected))


def _integer_labels(y, n, k, shape):
    if y.ndim == 2 and y.shape[-1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise _checks.invalid_value(
            "y_true",
            f"Expected integer labels of shape ({n},) or one-hot rows of shape "
            f"({n}, {k}).",
            f"y_true of shape {shape}",
        )
    if y.dtype.kind not in "iufb":
        raise _checks.type_error("y_true", "integer class labels", y.tolist())
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        raise _checks.invalid_value(
            "y_true",
            "Expected integer class labels.",
            "y_true with non-integer values",
        )
    return y.astype("int64")


def labels(y_true, rows):
    """Integer labels `(N,)` from labels or one-hot rows, checked against
    the probabilities `rows` `(N, K)`."""
    y = np.asarray(y_true)
    n, k = rows.shape[0], rows.shape[-1]
    if y.ndim == 2 and y.shape[-1] == k and k > 1:
        result = np.argmax(y, axis=-1)
    else:
        result = _integer_labels(y, n, k, np.shape(y_true))
    if result.shape[0] != n:
        raise _checks.invalid_value(
            "y_true",
            f"Expected {n} labels, one per row of `probs`.",
            f"y_true of shape {np.shape(y_true)} with probs of shape {rows.shape}",
        )
    if result.min() < 0 or result.max() >= k:
        raise _checks.invalid_value(
            "y_true",
            f"Expected labels in [0, {k - 1}].",
            f"y_true with values in [{result.min()}, {result.max()}]",
        )
    return result


def scores(name, value, n=None):
    """A finite score per input, `(n,)` (an `(n, 1)` column is accepted;
    `n` None: any number of inputs)."""
    values = array(name, value)
    if values.ndim == 2 and values.shape[-1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or (n is not None and values.shape[0] != n):
        rows = "N" if n is None else n
        raise _checks.invalid_value(
            name,
            f"Expected one score per input, shape ({rows},) (or a column ({rows}, 1)).",
            f"{name} of shape {np.shape(value)}",
        )
    return values


def top_label(y_true, probs_value, confidence=None):
    """`(confidence, correct)` of the predicted (top) class, `(N,)` each.

    `confidence` defaults to the largest class probability; `correct` is
    1.0 where the top class is the label, else 0.0.

    >>> conf, correct = top_label([0, 0], [[0.9, 0.1], [0.2, 0.8]])
    >>> conf.tolist(), correct.tolist()
    ([0.9, 0.8], [1.0, 0.0])
    """
    rows = class_rows(probs_value)
    y = labels(y_true, rows)
    correct = (rows.argmax(axis=-1) == y).astype("float64")
    if confidence is None:
        return rows.max(axis=-1), correct
    return scores("confidence", confidence, rows.shape[0]), correct
