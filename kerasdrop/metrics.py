"""Uncertainty and calibration metrics for Monte-Carlo dropout outputs.

NumPy functions in float64 (post-processing of `kerasdrop.mc.predict`
results, exact enough to check by hand). Shapes: `N` inputs, `K` classes,
`T` samples. Class probabilities are rows summing to 1 (a softmax head); a
single column is read as the probability of class 1 of a binary problem.
With `multi_label=True` (a sigmoid head with several units) every column is
the probability of its own independent binary label (a Bernoulli): the
entropies are summed over the units (the entropy of the joint of independent
labels, one score per input), and `variation_ratio` and `max_probability`
are per unit, `(N, K)`. Logarithms are natural (nats); `0 log 0 = 0`.

`class_distributions` and `entropy` are the one entropy of the package:
`kerasdrop.mc.predict` and the `mc` signature of `kerasdrop.export` call
them with `keras.ops` in place of NumPy.

- Classification, from sample probabilities `(T, N, K)`:
  `predictive_entropy`, `expected_entropy`, `mutual_information` (BALD),
  `variation_ratio`; from mean probabilities `(N, K)`: `max_probability`.
- Regression: `predictive_variance`, `regression_log_likelihood` (Gal &
  Ghahramani 2016, logsumexp over samples), heteroscedastic heads:
  `heteroscedastic_uncertainty`, `heteroscedastic_log_likelihood`.
- Calibration: `expected_calibration_error`, `negative_log_likelihood`,
  `brier_score`, `reliability_diagram`.
- Out-of-distribution detection: `ood_auroc`.
"""

import math

import numpy as np

from kerasdrop import _checks


# ----------------------------------------------------------------------
# Validation.
# ----------------------------------------------------------------------
def _array(name, value, min_ndim=1):
    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        raise _checks.type_error(name, "an array of numbers", value) from None
    if array.ndim < min_ndim:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected an "
            f"array with at least {min_ndim} dimension(s). Received: "
            f"{name} of shape {array.shape}"
        )
    if array.size == 0:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a "
            f"non-empty array. Received: {name} of shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected finite "
            f"values. Received: {name} with NaN or inf"
        )
    return array


def _probs(name, value, min_ndim=1, multi_label=False):
    """Checked probabilities `(..., K)` as `class_distributions` of them."""
    probs = _array(name, value, min_ndim)
    if probs.min() < -1e-6 or probs.max() > 1 + 1e-6:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected "
            f"probabilities in [0, 1]. Received: {name} with values in "
            f"[{probs.min():.6g}, {probs.max():.6g}]"
        )
    _checks.check_bool("multi_label", multi_label)
    sums = probs.sum(axis=-1)
    if not multi_label and probs.shape[-1] > 1 and np.max(np.abs(sums - 1.0)) > 1e-3:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected rows "
            "(last axis) summing to 1, or one column of probabilities of "
            "class 1 (independent labels of a sigmoid head: "
            f"multi_label=True). Received: {name} with row sums in "
            f"[{sums.min():.6g}, {sums.max():.6g}]"
        )
    return class_distributions(probs, multi_label)


def _class_rows(probs):
    """Checked probabilities `(N, K)` of one classifier (a single column:
    `[1 - p, p]`), for the calibration metrics."""
    return _probs("probs", probs, min_ndim=2)[..., 0, :]


def _tau(tau):
    """The model precision: a positive number, as a float."""
    expected = "a positive number (the model precision)"
    return float(_checks.check_number("tau", tau, 0, strict=True, expected=expected))


def _labels(y_true, probs):
    """Integer labels `(N,)` from labels or one-hot rows, checked against
    `probs` `(N, K)`."""
    y = np.asarray(y_true)
    n, k = probs.shape[0], probs.shape[-1]
    if y.ndim == 2 and y.shape[-1] == k and k > 1:
        labels = np.argmax(y, axis=-1)
    else:
        if y.ndim == 2 and y.shape[-1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(
                "Invalid value received for argument `y_true`. Expected "
                f"integer labels of shape ({n},) or one-hot rows of shape "
                f"({n}, {k}). Received: y_true of shape {np.shape(y_true)}"
            )
        labels = y
        if labels.dtype.kind == "f":
            if not np.all(labels == np.round(labels)):
                raise ValueError(
                    "Invalid value received for argument `y_true`. Expected "
                    "integer class labels. Received: y_true with "
                    "non-integer values"
                )
        labels = labels.astype("int64")
    if labels.shape[0] != n:
        raise ValueError(
            "Invalid value received for argument `y_true`. Expected "
            f"{n} labels, one per row of `probs`. Received: y_true of "
            f"shape {np.shape(y_true)} with probs of shape {probs.shape}"
        )
    if labels.min() < 0 or labels.max() >= k:
        raise ValueError(
            "Invalid value received for argument `y_true`. Expected labels "
            f"in [0, {k - 1}]. Received: y_true with values in "
            f"[{labels.min()}, {labels.max()}]"
        )
    return labels


def class_distributions(probs, multi_label=False, xp=np):
    """Probabilities `(..., K)` as `(..., U, C)`: `U` categorical
    distributions over `C` classes each.

    A softmax row is one distribution over its `K` classes (`U = 1`); a
    single column `p` is one binary distribution `[1 - p, p]`; with
    `multi_label` every column is its own binary distribution (`U = K`,
    `C = 2`: independent Bernoullis, a sigmoid head). Values are clipped to
    [0, 1]. `xp` is `numpy` or `keras.ops` (in a traced function).

    >>> class_distributions(np.array([[0.2, 0.9]]), multi_label=True).tolist()
    [[[0.8, 0.2], [0.09999999999999998, 0.9]]]
    """
    probs = xp.clip(probs, 0.0, 1.0)
    if multi_label or probs.shape[-1] == 1:
        return xp.stack([1.0 - probs, probs], axis=-1)
    return xp.expand_dims(probs, -2)


def entropy(distributions, xp=np):
    """Entropy in nats of `class_distributions` `(..., U, C)`, summed over
    the `U` units (independent labels): shape `(...)`. `0 log 0 = 0`.

    >>> float(entropy(class_distributions(np.array([0.5, 0.5]))))  # log 2
    0.6931471805599453
    """
    positive = distributions > 0
    logs = xp.log(xp.where(positive, distributions, xp.ones_like(distributions)))
    return -xp.sum(distributions * logs, axis=(-2, -1))


def per_input(values):
    """Per-unit values `(..., U)` of `class_distributions`, without the unit
    axis when there is one unit (softmax rows, a single sigmoid unit)."""
    return values[..., 0] if values.shape[-1] == 1 else values


def _logsumexp(a, axis):
    top = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.sum(np.exp(a - top), axis=axis))


# ----------------------------------------------------------------------
# Classification uncertainty.
# ----------------------------------------------------------------------
def predictive_entropy(probs, multi_label=False):
    """Entropy of the mean prediction, `H[mean_t p_t]`: total uncertainty.

    Args:
        probs: mean probabilities `(N, K)` (or `(T, N, K)` sample
            probabilities, averaged first).
        multi_label: True for a sigmoid head with several units
            (independent labels; entropies summed over them).

    Example:

    >>> float(predictive_entropy([[0.5, 0.5]])[0])  # log 2
    0.6931471805599453
    >>> float(predictive_entropy([[0.5, 0.5]], multi_label=True)[0])  # 2 log 2
    1.3862943611198906
    """
    dists = _probs("probs", probs, multi_label=multi_label)
    if np.ndim(probs) == 3:
        dists = dists.mean(axis=0)
    return entropy(dists)


def expected_entropy(sample_probs, multi_label=False):
    """Mean over samples of each sample's entropy, `E_t[H[p_t]]`: the
    aleatoric part. `sample_probs`: `(T, N, K)`."""
    dists = _probs("sample_probs", sample_probs, 3, multi_label)
    return entropy(dists).mean(axis=0)


def mutual_information(sample_probs, multi_label=False):
    """BALD: `H[E_t p_t] - E_t[H[p_t]]` >= 0, the epistemic part.

    With `multi_label`, the sum over units of each label's BALD score.

    Example:

    >>> # Two confident samples that disagree: maximal disagreement.
    >>> float(mutual_information([[[1.0, 0.0]], [[0.0, 1.0]]])[0])
    0.6931471805599453
    """
    dists = _probs("sample_probs", sample_probs, 3, multi_label)
    value = entropy(dists.mean(axis=0)) - entropy(dists).mean(axis=0)
    return np.maximum(value, 0.0)


def variation_ratio(sample_probs, multi_label=False):
    """`1 - (count of the modal predicted class) / T`, from `(T, N, K)`
    (per unit, `(N, K)`, with `multi_label`)."""
    dists = _probs("sample_probs", sample_probs, 3, multi_label)
    t, c = dists.shape[0], dists.shape[-1]
    votes = np.eye(c)[dists.argmax(axis=-1)].sum(axis=0)
    return per_input(1.0 - votes.max(axis=-1) / t)


def max_probability(probs, multi_label=False):
    """Confidence: the largest mean class probability, `(N,)` (per unit,
    `(N, K)`, with `multi_label`: `max(p, 1 - p)`)."""
    dists = _probs("probs", probs, multi_label=multi_label)
    if np.ndim(probs) == 3:
        dists = dists.mean(axis=0)
    return per_input(dists.max(axis=-1))


# ----------------------------------------------------------------------
# Regression.
# ----------------------------------------------------------------------
def predictive_variance(samples, tau=None):
    """Variance over the samples axis 0 of `(T, N, ...)` outputs; with the
    model precision `tau`, plus the observation noise `1 / tau`."""
    samples = _array("samples", samples, min_ndim=2)
    variance = samples.var(axis=0)
    if tau is not None:
        variance = variance + 1.0 / _tau(tau)
    return variance


def regression_log_likelihood(y_true, samples, tau, reduction="mean"):
    """Test log-likelihood of MC dropout (Gal & Ghahramani 2016, eq. 8).

    `LL_i = logsumexp_t(-tau/2 (y_i - yhat_ti)^2) - log T - log(2 pi)/2 +
    log(tau)/2`, computed stably by logsumexp, in the units of `y_true`.

    Args:
        y_true: targets `(N,)` or `(N, D)`.
        samples: `(T, N)` or `(T, N, D)` sampled predictions.
        tau: model precision (> 0).
        reduction: "mean" (a float) or None (per-target values).

    Example:

    >>> round(float(regression_log_likelihood([0.0], [[0.0]], tau=1.0)), 6)
    -0.918939
    """
    tau = _tau(tau)
    y = _array("y_true", y_true)
    samples = _array("samples", samples, min_ndim=2)
    if samples.shape[1:] != y.shape:
        if samples.shape[1:] == y.shape + (1,):
            y = y[..., None]
        elif y.ndim == 2 and y.shape[-1] == 1 and samples.shape[1:] == y.shape[:1]:
            y = y[:, 0]
        else:
            raise ValueError(
                "Invalid value received for argument `samples`. Expected "
                f"shape (T,) + {y.shape} to match `y_true`. Received: "
                f"samples of shape {samples.shape}"
            )
    t = samples.shape[0]
    ll = (
        _logsumexp(-0.5 * tau * (y[None] - samples) ** 2, axis=0)
        - math.log(t)
        - 0.5 * math.log(2 * math.pi)
        + 0.5 * math.log(tau)
    )
    return _reduce(ll, reduction)


def _reduce(values, reduction):
    if reduction == "mean":
        return float(np.mean(values))
    if reduction is None:
        return values
    raise _checks.value_error("reduction", "'mean' or None", reduction)


def _hetero_pair(mean_samples, log_var_samples):
    means = _array("mean_samples", mean_samples, min_ndim=2)
    log_vars = _array("log_var_samples", log_var_samples, min_ndim=2)
    if means.shape != log_vars.shape:
        raise ValueError(
            "Invalid value received for argument `log_var_samples`. Expected "
            f"the shape of `mean_samples`, {means.shape}. Received: "
            f"log_var_samples of shape {log_vars.shape}"
        )
    return means, log_vars


def heteroscedastic_uncertainty(mean_samples, log_var_samples):
    """Aleatoric/epistemic split for a (mean, log-variance) head.

    Args:
        mean_samples, log_var_samples: `(T, N, ...)` sampled head outputs.

    Returns:
        dict with `mean` (predictive mean), `aleatoric` (`E_t[exp(s_t)]`),
        `epistemic` (`Var_t[mu_t]`), `total` (their sum).
    """
    means, log_vars = _hetero_pair(mean_samples, log_var_samples)
    aleatoric = np.exp(log_vars).mean(axis=0)
    epistemic = means.var(axis=0)
    return {
        "mean": means.mean(axis=0),
        "aleatoric": aleatoric,
        "epistemic": epistemic,
        "total": aleatoric + epistemic,
    }


def heteroscedastic_log_likelihood(
    y_true, mean_samples, log_var_samples, reduction="mean"
):
    """`log (1/T) sum_t N(y; mu_t, exp(s_t))` by logsumexp over samples."""
    means, log_vars = _hetero_pair(mean_samples, log_var_samples)
    y = _array("y_true", y_true)
    if means.shape[1:] != y.shape:
        raise ValueError(
            "Invalid value received for argument `y_true`. Expected shape "
            f"{means.shape[1:]}. Received: y_true of shape {y.shape}"
        )
    log_pdf = -0.5 * (
        math.log(2 * math.pi) + log_vars + (y[None] - means) ** 2 / np.exp(log_vars)
    )
    ll = _logsumexp(log_pdf, axis=0) - math.log(means.shape[0])
    return _reduce(ll, reduction)


# ----------------------------------------------------------------------
# Calibration.
# ----------------------------------------------------------------------
def reliability_diagram(y_true, probs, n_bins=15):
    """Per-bin data of a reliability diagram (equal-width confidence bins).

    Returns:
        dict of arrays: `edges` (`n_bins + 1`), `confidence` (mean max
        probability per bin, NaN if empty), `accuracy`, `count`.
    """
    n_bins = _checks.check_int("n_bins", n_bins, minimum=1)
    probs = _class_rows(probs)
    labels = _labels(y_true, probs)
    confidence = probs.max(axis=-1)
    correct = (probs.argmax(axis=-1) == labels).astype("float64")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Bin i holds (edges[i], edges[i+1]]; confidence 0 goes to bin 0.
    index = np.clip(np.ceil(confidence * n_bins).astype("int64") - 1, 0, n_bins - 1)
    count = np.bincount(index, minlength=n_bins).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(index, weights=confidence, minlength=n_bins) / count
        acc = np.bincount(index, weights=correct, minlength=n_bins) / count
    return {"edges": edges, "confidence": conf, "accuracy": acc, "count": count}


def expected_calibration_error(y_true, probs, n_bins=15):
    """ECE: `sum_b |B_b|/N |accuracy_b - confidence_b|`, equal-width bins.

    Example:

    >>> y, p = [0, 1], [[0.9, 0.1], [0.2, 0.8]]
    >>> round(expected_calibration_error(y, p, n_bins=10), 6)
    0.15
    """
    diagram = reliability_diagram(y_true, probs, n_bins)
    count = diagram["count"]
    filled = count > 0
    gaps = np.abs(diagram["accuracy"][filled] - diagram["confidence"][filled])
    return float(np.sum(count[filled] * gaps) / count.sum())


def negative_log_likelihood(y_true, probs, eps=1e-12):
    """Mean `-log p(y_true)` (probabilities clipped at `eps`)."""
    probs = _class_rows(probs)
    labels = _labels(y_true, probs)
    picked = probs[np.arange(labels.shape[0]), labels]
    return float(-np.mean(np.log(np.maximum(picked, eps))))


def brier_score(y_true, probs):
    """Mean over inputs of `sum_k (p_k - onehot_k)^2` (0 best, 2 worst)."""
    probs = _class_rows(probs)
    labels = _labels(y_true, probs)
    onehot = np.eye(probs.shape[-1])[labels]
    return float(np.mean(np.sum((probs - onehot) ** 2, axis=-1)))


# ----------------------------------------------------------------------
# Out-of-distribution detection.
# ----------------------------------------------------------------------
def ood_auroc(scores_in, scores_out):
    """AUROC of telling out-of-distribution inputs by a higher score.

    Any uncertainty score works (predictive entropy, mutual information,
    variance, `1 - max_probability`). Computed as the Mann-Whitney
    statistic with ties counted half: 1.0 perfect, 0.5 chance.

    Example:

    >>> ood_auroc([0.1, 0.2], [0.3, 0.2])
    0.875
    """
    inside = _array("scores_in", scores_in).ravel()
    outside = _array("scores_out", scores_out).ravel()
    scores = np.concatenate([inside, outside])
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty_like(scores)
    sorted_scores = scores[order]
    # Average ranks over ties.
    start = 0
    for end in range(1, len(scores) + 1):
        if end == len(scores) or sorted_scores[end] != sorted_scores[start]:
            ranks[order[start:end]] = 0.5 * (start + end - 1) + 1
            start = end
    n_in, n_out = len(inside), len(outside)
    rank_sum = ranks[n_in:].sum()
    return float((rank_sum - n_out * (n_out + 1) / 2) / (n_in * n_out))
