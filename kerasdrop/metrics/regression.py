"""Regression uncertainty and test log-likelihood of MC dropout samples.

`predictive_variance`, `regression_log_likelihood` (Gal & Ghahramani 2016,
logsumexp over samples) and, for heteroscedastic (mean, log-variance)
heads, `heteroscedastic_uncertainty` and `heteroscedastic_log_likelihood`.
"""

import math

import numpy as np

from kerasdrop import _checks
from kerasdrop.metrics import _inputs
from kerasdrop.metrics._numeric import logsumexp


def predictive_variance(samples, tau=None):
    """Variance over the samples axis 0 of `(T, N, ...)` outputs; with the
    model precision `tau`, plus the observation noise `1 / tau`.

    >>> predictive_variance([[0.0], [2.0]], tau=4.0).tolist()
    [1.25]
    """
    samples = _inputs.array("samples", samples, min_ndim=2)
    variance = samples.var(axis=0)
    if tau is not None:
        variance = variance + 1.0 / _inputs.tau(tau)
    return variance


def _matched_targets(y, samples):
    """`y` reshaped to `samples.shape[1:]` (an extra or missing unit axis)."""
    if samples.shape[1:] == y.shape:
        return y
    if samples.shape[1:] == y.shape + (1,):
        return y[..., None]
    if y.ndim == 2 and y.shape[-1] == 1 and samples.shape[1:] == y.shape[:1]:
        return y[:, 0]
    raise _checks.invalid_value(
        "samples",
        f"Expected shape (T,) + {y.shape} to match `y_true`.",
        f"samples of shape {samples.shape}",
    )


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
    tau = _inputs.tau(tau)
    _check_reduction(reduction)
    samples = _inputs.array("samples", samples, min_ndim=2)
    y = _matched_targets(_inputs.array("y_true", y_true), samples)
    ll = (
        logsumexp(-0.5 * tau * (y[None] - samples) ** 2, axis=0)
        - math.log(samples.shape[0])
        - 0.5 * math.log(2 * math.pi)
        + 0.5 * math.log(tau)
    )
    return _reduce(ll, reduction)


def _check_reduction(reduction):
    """`reduction`: "mean" or None, checked before any work."""
    if reduction is not None and not (
        isinstance(reduction, str) and reduction == "mean"
    ):
        raise _checks.value_error("reduction", "'mean' or None", reduction)
    return reduction


def _reduce(values, reduction):
    return float(np.mean(values)) if reduction == "mean" else values


def _hetero_pair(mean_samples, log_var_samples):
    means = _inputs.array("mean_samples", mean_samples, min_ndim=2)
    log_vars = _inputs.array("log_var_samples", log_var_samples, min_ndim=2)
    if means.shape != log_vars.shape:
        raise _checks.invalid_value(
            "log_var_samples",
            f"Expected the shape of `mean_samples`, {means.shape}.",
            f"log_var_samples of shape {log_vars.shape}",
        )
    return means, log_vars


def heteroscedastic_uncertainty(mean_samples, log_var_samples):
    """Aleatoric/epistemic split for a (mean, log-variance) head.

    Args:
        mean_samples: `(T, N, ...)` sampled outputs of the mean head.
        log_var_samples: `(T, N, ...)` sampled outputs of the log-variance
            head.

    Returns:
        dict with `mean` (predictive mean), `aleatoric` (`E_t[exp(s_t)]`),
        `epistemic` (`Var_t[mu_t]`), `total` (their sum).

    Example:

    >>> split = heteroscedastic_uncertainty([[0.0], [2.0]], [[0.0], [0.0]])
    >>> {k: v.tolist() for k, v in split.items()}
    {'mean': [1.0], 'aleatoric': [1.0], 'epistemic': [1.0], 'total': [2.0]}
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
    """`log (1/T) sum_t N(y; mu_t, exp(s_t))` by logsumexp over samples.

    >>> round(heteroscedastic_log_likelihood([0.0], [[0.0]], [[0.0]]), 6)
    -0.918939
    """
    _check_reduction(reduction)
    means, log_vars = _hetero_pair(mean_samples, log_var_samples)
    y = _inputs.array("y_true", y_true)
    if means.shape[1:] != y.shape:
        raise _checks.invalid_value(
            "y_true",
            f"Expected shape {means.shape[1:]}.",
            f"y_true of shape {y.shape}",
        )
    log_pdf = -0.5 * (
        math.log(2 * math.pi) + log_vars + (y[None] - means) ** 2 / np.exp(log_vars)
    )
    ll = logsumexp(log_pdf, axis=0) - math.log(means.shape[0])
    return _reduce(ll, reduction)
