"""Picking rows by key, streamed: the top `k` of a pool seen chunk by chunk.

`TopK` keeps the `k` largest keys seen so far and their rows, so choosing
from a pool of any size holds `k` plus one chunk of keys in memory. Ties go
to the earlier row. Deterministic strategies use the score as the key;
stochastic ones (`power_*`, Kirsch et al. 2023, "Stochastic Batch
Acquisition") use `power_keys`: with Gumbel noise added to `beta * log(score)`,
the top `k` keys are a sample of `k` rows without replacement with
probability proportional to `score ** beta` (the Gumbel-top-k trick, Kool
et al. 2019); `random` is the same with every score equal.

Example:

>>> top = TopK(2)
>>> top.add(np.array([0.1, 0.9, 0.5]), offset=0)
>>> top.add(np.array([0.7, 0.2]), offset=3)
>>> top.indices.tolist(), top.keys.tolist()
([1, 3], [0.9, 0.7])
"""

import numpy as np

#: Scores below this count as this in `power_keys` (log of 0 is -inf):
#: such rows are drawn only once every row with a positive score is.
TINY = 1e-300


class TopK:
    """The `k` largest keys seen by `add`, with their rows and values.

    Attributes:
        indices: int64 rows of the kept keys, largest key first.
        keys: their keys.
        values: what was added with them (`values=` of `add`; the keys by
            default).
    """

    def __init__(self, k):
        self.k = k
        self.indices = np.zeros((0,), "int64")
        self.keys = np.zeros((0,), "float64")
        self.values = np.zeros((0,), "float64")

    def add(self, keys, offset, values=None):
        """Merges the keys of rows `offset, offset + 1, ...`."""
        keys = np.asarray(keys, dtype="float64")
        values = keys if values is None else np.asarray(values, dtype="float64")
        rows = offset + np.arange(keys.shape[0], dtype="int64")
        all_keys = np.concatenate([self.keys, keys])
        all_rows = np.concatenate([self.indices, rows])
        # Largest key first; among equal keys, the earlier row.
        order = np.lexsort((all_rows, -all_keys))[: self.k]
        self.indices = all_rows[order]
        self.keys = all_keys[order]
        self.values = np.concatenate([self.values, values])[order]


def power_keys(scores, beta, rng):
    """Gumbel-top-k keys `beta * log(score) + Gumbel(0, 1)` of `scores`
    (>= 0); the noise is drawn from `rng` in row order, so a pool cut into
    other chunks gets the same keys."""
    logs = np.log(np.maximum(np.asarray(scores, dtype="float64"), TINY))
    return beta * logs + rng.gumbel(size=logs.shape)
