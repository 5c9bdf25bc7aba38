"""`acquire` refuses what would be silently wrong: one sample for a score of
disagreement, a strategy-specific argument the strategy ignores, absurd
`samples`, and NaN/inf in the pool or the model's outputs (named by pool
row, for every strategy)."""

import keras
import numpy as np
import pytest
from keras import ops

import kerasdrop
from kerasdrop import active
from kerasdrop.active import acquisition
from helpers import to_numpy


def _mlp():
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            kerasdrop.layers.Dropout(0.3),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def _pool(n=10):
    return np.abs(to_numpy(np.random.default_rng(0).normal(size=(n, 4)))).astype(
        "float32"
    )


@pytest.mark.parametrize("strategy", acquisition.DISAGREEMENT)
def test_one_sample_refused_where_scores_measure_disagreement(strategy):
    with pytest.raises(ValueError, match=r"argument `samples`.*>= 2.*samples=1"):
        active.acquire(_mlp(), _pool(), 2, strategy, samples=1, seed=0)


@pytest.mark.parametrize("strategy", ["entropy", "margin", "power_entropy", "random"])
def test_one_sample_is_fine_for_the_other_scores(strategy):
    picks = active.acquire(_mlp(), _pool(), 2, strategy, samples=1, seed=0)
    assert picks.indices.shape == (2,)


@pytest.mark.parametrize(
    "strategy, kwargs, name",
    [
        ("bald", {"candidates": 20}, "candidates"),
        ("random", {"candidates": 20}, "candidates"),
        ("power_bald", {"configurations": 64}, "configurations"),
        ("entropy", {"beta": 2.0}, "beta"),
        ("batch_bald", {"beta": 0.5}, "beta"),
    ],
)
def test_arguments_the_strategy_ignores_are_refused(strategy, kwargs, name):
    with pytest.raises(ValueError, match=f"argument `{name}`.*does not use"):
        active.acquire(_mlp(), _pool(), 2, strategy, seed=0, **kwargs)


def test_arguments_the_strategy_uses_are_taken():
    model, pool = _mlp(), _pool()
    kwargs = dict(samples=4, seed=0)
    active.acquire(model, pool, 2, "batch_bald", candidates=5, **kwargs)
    active.acquire(model, pool, 2, "batch_bald", configurations=64, **kwargs)
    active.acquire(model, pool, 2, "power_margin", beta=3.0, **kwargs)
    # The MC arguments go with every strategy (run_loop compares strategies
    # with the same keyword arguments): random ignores them quietly.
    active.acquire(model, pool, 2, "random", batch_size=4, task="auto", **kwargs)


def test_absurd_samples_refused():
    with pytest.raises(ValueError, match=r"\[1, 1000000\].*samples=1000000000"):
        active.acquire(_mlp(), _pool(), 2, "entropy", samples=10**9)


class _Poison(keras.layers.Layer):
    def call(self, x):
        return x + 0.0 * ops.log(x[:, :1])  # NaN where x[:, 0] < 0


def _poisoned():
    inputs = keras.Input((4,))
    h = kerasdrop.layers.Dropout(0.3)(keras.layers.Dense(8)(inputs))
    logits = keras.layers.Dense(3)(h)
    poisoned = _Poison()(keras.layers.Concatenate()([inputs, logits]))[:, 4:]
    return keras.Model(inputs, keras.layers.Activation("softmax")(poisoned))


@pytest.mark.parametrize("strategy", [s for s in active.STRATEGIES if s != "random"])
def test_non_finite_outputs_name_the_pool_row(strategy):
    pool = _pool(12)
    pool[[9, 11], 0] = -1.0
    with pytest.raises(ValueError, match=r"argument `model`.*row 9 of `pool`"):
        active.acquire(_poisoned(), pool, 2, strategy, seed=0, chunk_size=4)


def test_non_finite_pool_rows_named_and_random_needs_no_outputs():
    model, pool = _poisoned(), _pool(12)
    pool[10, 3] = np.nan
    with pytest.raises(ValueError, match=r"argument `pool`.*at row 10"):
        active.acquire(model, pool, 2, "bald", seed=0, chunk_size=4)
    pool[10, 3], pool[9, 0] = 0.0, -1.0
    picks = active.acquire(model, pool, 12, "random", seed=0)  # no model pass
    assert sorted(picks.indices.tolist()) == list(range(12))
