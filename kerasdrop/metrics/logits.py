"""Scores of a logits head: the max logit and the energy.

For a model whose last layer outputs logits `(..., K)` (before softmax),
two confidence scores that ignore the softmax normalization, often better
OOD detectors than the max probability:

- `max_logit`: the largest logit (Hendrycks et al. 2022, "Scaling
  Out-of-Distribution Detection for Real-World Settings"). Higher means
  in-distribution: give `-max_logit(...)` to `ood_auroc` and friends.
- `energy_score`: `E(x) = -T logsumexp(logits / T)` (Liu et al. 2020,
  "Energy-based Out-of-distribution Detection"). Lower energy means
  in-distribution, so the energy is an OOD score as it is.

A single column is the logit of class 1 of a binary (sigmoid) head against
class 0's logit 0, as softmax over `[0, z]` is sigmoid of `z`. With MC
samples `(T, N, K)` the score is per sample: average it over axis 0.
"""

import numpy as np

from kerasdrop import _checks
from kerasdrop.metrics import _inputs
from kerasdrop.metrics._numeric import logsumexp


def _logits(logits):
    values = _inputs.array("logits", logits)
    if values.shape[-1] == 1:
        values = np.concatenate([np.zeros_like(values), values], axis=-1)
    return values


def max_logit(logits):
    """The largest logit per input, `(...)` from `(..., K)`.

    Example:

    >>> max_logit([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]]).tolist()
    [2.0, 0.3]
    >>> max_logit([[-3.0]]).tolist()  # a binary head: max(0, z)
    [0.0]
    """
    return _logits(logits).max(axis=-1)


def energy_score(logits, temperature=1.0):
    """The free energy `-T logsumexp(logits / T)` per input (higher: OOD).

    Args:
        logits: `(..., K)` logits.
        temperature: `T` > 0 (Liu et al. use 1).

    Example:

    >>> round(float(energy_score([[0.0, 0.0]])[0]), 6)  # -log 2
    -0.693147
    >>> round(float(energy_score([[1000.0, 0.0]])[0]), 6)  # stable: -1000
    -1000.0
    """
    t = float(_checks.check_number("temperature", temperature, 0, strict=True))
    return -t * logsumexp(_logits(logits) / t, axis=-1)
