"""Bad arguments of `kerasdrop.active.run_loop`: every one refused before
the first fit (none after a training round), naming the argument."""

import keras
import numpy as np
import pytest

import kerasdrop
from helpers import assert_bad_input, to_numpy

RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 3)).astype("float32")
Y = RNG.integers(0, 2, 6)
PX = RNG.normal(size=(10, 3)).astype("float32")
PY = RNG.integers(0, 2, 10)


class _NoFit(keras.Sequential):
    """A model whose `fit` fails the test: the checks come first."""

    def fit(self, *args, **kwargs):
        raise AssertionError("run_loop trained before refusing a bad input")


def _model():
    model = _NoFit(
        [
            keras.Input((3,)),
            kerasdrop.layers.Dropout(0.5),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


def _uncompiled():
    return _NoFit([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])


NAN_X = X.copy()
NAN_X[1, 2] = np.nan
INF_Y = Y.astype("float32")
INF_Y[0] = np.inf
BASE = {
    "build_model": _model,
    "labelled": (X, Y),
    "pool": (PX, PY),
    "rounds": 2,
    "count": 3,
}
# (changed arguments, error type, argument named, received fragment)
CASES = [
    ({"build_model": 3}, TypeError, "build_model", "build_model=3"),
    ({"build_model": lambda: 3}, TypeError, "build_model", "returning 3"),
    ({"build_model": lambda: "m"}, TypeError, "build_model", "of type str"),
    ({"build_model": _uncompiled}, ValueError, "build_model", "not compiled"),
    ({"fit_kwargs": [("epochs", 1)]}, TypeError, "fit_kwargs", "fit_kwargs=["),
    ({"fit_kwargs": "epochs=1"}, TypeError, "fit_kwargs", "'epochs=1'"),
    ({"fit_kwargs": {"x": X}}, ValueError, "fit_kwargs", "fit_kwargs={'x'"),
    ({"fit_kwargs": {"y": Y}}, ValueError, "fit_kwargs", "fit_kwargs={'y'"),
    (
        {"fit_kwargs": {"validation_data": (X, Y)}},
        ValueError,
        "fit_kwargs",
        "'validation_data'",
    ),
    ({"labelled": X}, TypeError, "labelled", "labelled=array"),
    ({"labelled": (X, Y, Y)}, TypeError, "labelled", "labelled=("),
    ({"labelled": (X, Y[:4])}, ValueError, "labelled", "x rows [6] and y rows [4]"),
    ({"labelled": (X[:0], Y[:0])}, ValueError, "labelled", "0 rows"),
    ({"labelled": (NAN_X, Y)}, ValueError, "labelled", "x has NaN or inf"),
    ({"labelled": (X, INF_Y)}, ValueError, "labelled", "y has NaN or inf"),
    ({"labelled": (X, np.array(list("abcdef")))}, TypeError, "labelled", "labelled="),
    ({"labelled": (X, 3)}, TypeError, "labelled", "labelled="),
    ({"pool": PX}, TypeError, "pool", "pool=array"),
    ({"pool": (PX, PY[:3])}, ValueError, "pool", "x rows [10] and y rows [3]"),
    ({"pool": (PX[:, :2], PY)}, ValueError, "pool", "pool x of shapes [(10, 2)]"),
    ({"pool": ([PX, PX], PY)}, ValueError, "pool", "pool x of shapes"),
    ({"pool": (PX, PY[:, None])}, ValueError, "pool", "pool y of shapes"),
    ({"pool": (PX * np.nan, PY)}, ValueError, "pool", "x has NaN or inf"),
    ({"validation_data": X}, TypeError, "validation_data", "validation_data=array"),
    (
        {"validation_data": (X, Y[:2])},
        ValueError,
        "validation_data",
        "x rows [6] and y rows [2]",
    ),
    ({"rounds": -1}, ValueError, "rounds", "rounds=-1"),
    ({"rounds": 1.0}, TypeError, "rounds", "rounds=1.0"),
    ({"rounds": True}, TypeError, "rounds", "rounds=True"),
    ({"rounds": 4}, ValueError, "rounds", "rounds=4"),  # 4 x 3 > 10 pool rows
    ({"rounds": 10**9}, ValueError, "rounds", "rounds=1000000000"),
    ({"count": 11}, ValueError, "count", "count=11"),  # > 10 pool rows
    ({"count": 0}, ValueError, "count", "count=0"),
    ({"count": "3"}, TypeError, "count", "count='3'"),
    ({"seed": -1}, ValueError, "seed", "seed=-1"),
    ({"verbose": 2}, ValueError, "verbose", "verbose=2"),
    ({"strategy": "nope"}, ValueError, "strategy", "strategy='nope'"),
    ({"strategy": 3}, TypeError, "strategy", "strategy=3"),
    ({"samples": 0}, ValueError, "samples", "samples=0"),
    ({"samples": 2.5}, TypeError, "samples", "samples=2.5"),
    ({"chunk_size": 0}, ValueError, "chunk_size", "chunk_size=0"),
    ({"beta": float("nan")}, ValueError, "beta", "beta=nan"),
    ({"task": "regression"}, ValueError, "task", "task='regression'"),
    ({"batch_size": -2}, ValueError, "batch_size", "batch_size=-2"),
    ({"sample": 5}, TypeError, "acquire_kwargs", "['sample']"),
    ({"model": None}, TypeError, "acquire_kwargs", "model=None"),
    ({"pool_x": PX}, TypeError, "acquire_kwargs", "['pool_x']"),
]


@pytest.mark.parametrize(
    "changes, exc, name, received",
    CASES,
    ids=[f"{i}-{c[2]}" for i, c in enumerate(CASES)],
)
def test_refused_before_any_fit(changes, exc, name, received):
    args = {"verbose": 0, **BASE, **changes}
    kept = [a.copy() for a in (X, Y, PX, PY)]
    assert_bad_input(
        lambda: kerasdrop.active.run_loop(**args),
        exc,
        name,
        received,
    )
    for before, now in zip(kept, (X, Y, PX, PY)):
        np.testing.assert_array_equal(
            to_numpy(before), to_numpy(now)
        )  # nothing changed


def test_good_inputs_reach_the_first_fit():
    """The same base arguments pass every check: the refusals above are of
    their one bad argument (the first fit is where `_NoFit` stops)."""
    with pytest.raises(AssertionError, match="trained before"):
        kerasdrop.active.run_loop(**BASE, verbose=0, samples=4, fit_kwargs={})
    with pytest.raises(AssertionError, match="trained before"):  # rounds=0
        kerasdrop.active.run_loop(_model, (X, Y), (PX[:0], PY[:0]), 0, 3, verbose=0)
