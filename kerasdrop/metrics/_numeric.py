"""Numerical helpers of the metrics: a stable logsumexp, and tie means."""

import numpy as np


def logsumexp(a, axis):
    """`log(sum(exp(a), axis))` without overflow.

    >>> round(float(logsumexp(np.array([1000.0, 1000.0]), axis=0)), 6)
    1000.693147
    """
    top = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.sum(np.exp(a - top), axis=axis))


def tie_means(keys, values):
    """`values` with each replaced by its mean over the inputs of equal key.

    The metrics that rank inputs by a score (selective prediction,
    equal-mass bins) give tied inputs this shared value, so that no result
    depends on the order of inputs with the same score: it is the expected
    value when ties are broken uniformly at random.

    >>> tie_means(np.array([0.9, 0.5, 0.9]), np.array([1.0, 0.0, 0.0])).tolist()
    [0.5, 0.0, 0.5]
    """
    _, group = np.unique(keys, return_inverse=True)
    group = group.reshape(-1)
    sums = np.bincount(group, weights=values)
    counts = np.bincount(group)
    return (sums / counts)[group]
