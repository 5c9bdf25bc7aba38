"""Class distributions and their entropy: the one entropy of the package.

`kerasdrop.mc.predict` and the `mc` signature of `kerasdrop.export` call
`class_distributions`, `entropy` and `per_input` with `keras.ops` in place
of NumPy (`xp`), so that every entropy kerasdrop reports is this one.
"""

import numpy as np


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
    axis when there is one unit (softmax rows, a single sigmoid unit).

    >>> per_input(np.array([[0.3], [0.7]])).tolist()
    [0.3, 0.7]
    """
    return values[..., 0] if values.shape[-1] == 1 else values
