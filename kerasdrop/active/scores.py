"""Acquisition scores: one uncertainty score per pool row, higher first.

Each score reads a classification `kerasdrop.mc.MCResult` (what
`kerasdrop.mc.predict` returns for a chunk of the pool); none computes an
entropy of its own (they are `kerasdrop.mc.stats`' and
`kerasdrop.metrics`'):

- `bald`: mutual information between the label and the weights,
  `H[E_t p_t] - E_t H[p_t]` (Houlsby et al. 2011; Gal et al. 2017):
  high where the dropout samples disagree.
- `entropy`: predictive entropy `H[E_t p_t]` (total uncertainty).
- `variation_ratio`: `1 - (votes of the modal class) / T`.
- `margin`: `1 - (p_(1) - p_(2))`, one minus the gap between the two
  largest mean class probabilities (a small margin scores high).
- `mean_std`: the standard deviation over the samples of each class
  probability, averaged over the classes (Kampffmeyer et al. 2016; Gal et
  al. 2017's "mean STD").

For a sigmoid head with several units (independent labels), `bald` and
`entropy` are summed over the units (as in `MCResult`), `variation_ratio`
and `margin` averaged over them.

Example:

>>> import numpy as np
>>> from kerasdrop import mc
>>> result = mc.MCResult("classification", 2, mean=np.array([[0.5, 0.3, 0.2]]),
...     variance=None, std=None, variation_ratio=np.array([0.5]))
>>> [round(float(v), 6) for v in margin(result)]
[0.8]
"""

import numpy as np

from kerasdrop import metrics

#: Scores ranked deterministically (the top `count`).
SCORES = ("bald", "entropy", "variation_ratio", "margin", "mean_std")


def bald(result):
    """Mutual information (nats), `(N,)`."""
    return np.asarray(result.mutual_information, dtype="float64")


def entropy(result):
    """Predictive entropy (nats), `(N,)`."""
    return np.asarray(result.predictive_entropy, dtype="float64")


def variation_ratio(result):
    """Variation ratio in [0, 1], `(N,)` (averaged over sigmoid units)."""
    return _per_row(result.variation_ratio)


def margin(result):
    """`1 - (p_(1) - p_(2))` of the mean probabilities, `(N,)` in [0, 1]."""
    mean = np.asarray(result.mean, dtype="float64")
    multi_label = result.mean.shape[-1] > 1 and _is_multi_label(result)
    dists = metrics.class_distributions(mean, multi_label)  # (N, U, C)
    top = np.sort(dists, axis=-1)
    return np.mean(1.0 - (top[..., -1] - top[..., -2]), axis=-1)


def mean_std(result):
    """Mean over the classes (units) of the probabilities' std, `(N,)`."""
    std = np.asarray(result.std, dtype="float64")
    return std.reshape(std.shape[0], -1).mean(axis=-1)


def _is_multi_label(result):
    """A sigmoid head with several units: per-unit fields are `(N, K)`."""
    return np.ndim(result.variation_ratio) == 2


def _per_row(values):
    values = np.asarray(values, dtype="float64")
    return values.mean(axis=-1) if values.ndim == 2 else values


def score(name, result):
    """The score `name` (one of `SCORES`) of every row of `result`."""
    return {
        "bald": bald,
        "entropy": entropy,
        "variation_ratio": variation_ratio,
        "margin": margin,
        "mean_std": mean_std,
    }[name](result)
