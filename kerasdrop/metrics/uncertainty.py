"""Classification uncertainty from Monte-Carlo samples of class probabilities.

From sample probabilities `(T, N, K)`: `predictive_entropy` (total),
`expected_entropy` (aleatoric), `mutual_information` (BALD, epistemic),
`variation_ratio`; from mean probabilities `(N, K)`: `max_probability`.
With `multi_label=True` (a sigmoid head with several units) the entropies
are summed over the independent labels and the decisions are per unit.
"""

import numpy as np

from kerasdrop.metrics import _inputs
from kerasdrop.metrics.entropies import entropy, per_input


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
    dists = _inputs.probs("probs", probs, multi_label=multi_label, max_ndim=3)
    if np.ndim(probs) == 3:
        dists = dists.mean(axis=0)
    return entropy(dists)


def expected_entropy(sample_probs, multi_label=False):
    """Mean over samples of each sample's entropy, `E_t[H[p_t]]`: the
    aleatoric part. `sample_probs`: `(T, N, K)`.

    >>> float(expected_entropy([[[1.0, 0.0]], [[0.5, 0.5]]])[0])  # log(2) / 2
    0.34657359027997264
    """
    dists = _inputs.probs("sample_probs", sample_probs, 3, multi_label)
    return entropy(dists).mean(axis=0)


def mutual_information(sample_probs, multi_label=False):
    """BALD: `H[E_t p_t] - E_t[H[p_t]]` >= 0, the epistemic part.

    With `multi_label`, the sum over units of each label's BALD score.

    Example:

    >>> # Two confident samples that disagree: maximal disagreement.
    >>> float(mutual_information([[[1.0, 0.0]], [[0.0, 1.0]]])[0])
    0.6931471805599453
    """
    dists = _inputs.probs("sample_probs", sample_probs, 3, multi_label)
    value = entropy(dists.mean(axis=0)) - entropy(dists).mean(axis=0)
    return np.maximum(value, 0.0)


def variation_ratio(sample_probs, multi_label=False):
    """`1 - (count of the modal predicted class) / T`, from `(T, N, K)`
    (per unit, `(N, K)`, with `multi_label`).

    >>> variation_ratio([[[0.9, 0.1]], [[0.8, 0.2]], [[0.3, 0.7]]]).round(4).tolist()
    [0.3333]
    """
    dists = _inputs.probs("sample_probs", sample_probs, 3, multi_label)
    t, c = dists.shape[0], dists.shape[-1]
    votes = np.eye(c)[dists.argmax(axis=-1)].sum(axis=0)
    return per_input(1.0 - votes.max(axis=-1) / t)


def max_probability(probs, multi_label=False):
    """Confidence: the largest mean class probability, `(N,)` (per unit,
    `(N, K)`, with `multi_label`: `max(p, 1 - p)`).

    >>> max_probability([[0.1, 0.9], [0.5, 0.5]]).tolist()
    [0.9, 0.5]
    """
    dists = _inputs.probs("probs", probs, multi_label=multi_label, max_ndim=3)
    if np.ndim(probs) == 3:
        dists = dists.mean(axis=0)
    return per_input(dists.max(axis=-1))
