"""Greedy BatchBALD (Kirsch, van Amersfoort & Gal, NeurIPS 2019).

BatchBALD scores a batch by the mutual information between the joint labels
of its points and the weights, `I(y_1..y_n; w)`, and grows it greedily: the
next point is the one with the largest gain

    I(y_1..y_n; w) - I(y_1..y_{n-1}; w) = H(y_n | y_1..y_{n-1}) - E_w H(y_n | w)

(the expected entropies of the points already chosen cancel). The first
gain is BALD; a point that only repeats what a chosen one tells (a
duplicate) gains almost nothing.

The MC samples must be consistent: sample `t` is the same network `w_t` for
every point (`kerasdrop.mc.predict(..., consistent=True)`), so that
`p(y_1..y_n | w_t) = prod_i p(y_i | w_t)`. The joint `p(y_1..y_{n-1})` is
held as `log P[t, s]`, one column per configuration `s` of the chosen
labels: all `C^(n-1)` of them while that is at most `configurations`, then
`configurations` configurations sampled from the joint (draw `t`, then
each label from `p(y_i | w_t)`, as Kirsch et al. do), extended by one
label per pick. With `pi_s = mean_t P[t, s]` and `q_s = mean_t P[t, s]
p_t / pi_s` (the next label's distribution given configuration `s`),

    H(y_n | y_1..y_{n-1}) = sum_s omega_s H(q_s),

`omega_s = pi_s` when enumerating, `1 / configurations` when sampling.

Example:

>>> import numpy as np
>>> one_hot = np.eye(2)[[[0, 1, 1], [1, 0, 0]]]  # (T=2, M=3, C=2)
>>> picks, gains = batch_bald(one_hot, 2, np.random.default_rng(0))
>>> picks, [round(g, 4) for g in gains]  # point 2 repeats point 1
([0, 1], [0.6931, 0.0])
"""

import numpy as np

from kerasdrop import metrics

#: Default number of sampled joint configurations (baal's `num_draw` is 500).
DEFAULT_CONFIGURATIONS = 512
#: Smallest probability used in logarithms.
_FLOOR = 1e-30
#: Entries of the `(S, block, C)` array of one block of candidates.
_BLOCK_ENTRIES = 2**22


def batch_bald(probs, count, rng, configurations=DEFAULT_CONFIGURATIONS):
    """Greedily picks `count` of the `M` points of consistent MC samples.

    Args:
        probs: `(T, M, C)` class probabilities, sample `t` the same network
            for every point.
        count: points to pick, `1 <= count <= M`.
        rng: a `numpy.random.Generator` (for sampled configurations).
        configurations: largest number of joint configurations held.

    Returns:
        `(picks, gains)`: indices into the `M` points in pick order, and
        each pick's gain in mutual information (nats; the first is BALD).
    """
    probs = np.asarray(probs, dtype="float64")
    samples, points, _ = probs.shape
    log_probs = np.log(np.maximum(probs, _FLOOR))
    expected = metrics.entropy(probs[:, :, None, :]).mean(axis=0)  # (M,)
    joint = _Joint(samples)
    picks, gains = [], []
    free = np.ones(points, dtype=bool)
    for _ in range(count):
        gain = _conditional_entropy(joint, probs) - expected
        gain = np.where(free, gain, -np.inf)
        pick = int(np.argmax(gain))
        picks.append(pick)
        gains.append(max(float(gain[pick]), 0.0))
        free[pick] = False
        joint.extend(log_probs[:, pick], probs[:, picks], configurations, rng)
    return picks, gains


class _Joint:
    """`log P[t, s]` of the chosen labels' configurations and their weights
    `omega_s`; `draws[s]` is the sample `t` configuration `s` was drawn
    with (None while enumerating)."""

    def __init__(self, samples):
        self.log_p = np.zeros((samples, 1))
        self.omega = np.ones(1)
        self.draws = None

    def extend(self, log_probs, chosen, configurations, rng):
        """Adds one chosen point, `log_probs` `(T, C)`; `chosen`: `(T, n, C)`
        probabilities of all chosen points (to sample afresh)."""
        samples, classes = log_probs.shape
        if self.draws is None and self.log_p.shape[1] * classes <= configurations:
            self.log_p = (self.log_p[:, :, None] + log_probs[:, None, :]).reshape(
                samples, -1
            )
            self.omega = np.exp(_log_mean(self.log_p))
        elif self.draws is None:  # too many to enumerate: sample
            self.draws = rng.integers(samples, size=configurations)
            self.log_p = np.zeros((samples, configurations))
            for i in range(chosen.shape[1]):
                self._add_sampled(np.log(np.maximum(chosen[:, i], _FLOOR)), rng)
            self.omega = np.full(configurations, 1.0 / configurations)
        else:
            self._add_sampled(log_probs, rng)

    def _add_sampled(self, log_probs, rng):
        """One label per configuration, drawn from `p(y | w_t)` of its `t`."""
        cumulative = np.cumsum(np.exp(log_probs[self.draws]), axis=-1)
        uniform = rng.random(self.draws.shape[0]) * cumulative[:, -1]
        labels = np.minimum(
            (cumulative < uniform[:, None]).sum(axis=-1), log_probs.shape[1] - 1
        )
        self.log_p = self.log_p + log_probs[:, labels]


def _log_mean(log_p):
    """`log mean_t exp(log_p[t, s])`, stably, `(S,)`."""
    top = log_p.max(axis=0)
    return top + np.log(np.mean(np.exp(log_p - top), axis=0))


def _conditional_entropy(joint, probs):
    """`H(y_m | chosen labels)` for every point `m`, `(M,)`, in blocks of
    points so that the `(S, block, C)` array stays bounded."""
    samples, points, classes = probs.shape
    # P[t, s] / pi_s: each configuration's weight on the samples.
    weights = np.exp(joint.log_p - _log_mean(joint.log_p)) / samples
    block = max(1, _BLOCK_ENTRIES // (weights.shape[1] * classes))
    out = np.empty(points)
    for start in range(0, points, block):
        q = np.einsum("ts,tmc->smc", weights, probs[:, start : start + block])
        out[start : start + block] = joint.omega @ metrics.entropy(q[..., None, :])
    return out
