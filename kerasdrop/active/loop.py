"""`kerasdrop.active.run_loop`: the active-learning loop, fit -> acquire ->
label -> refit, on a pool whose labels are known.

One way, chosen to be the standard protocol of the literature (Gal et al.
2017; Kirsch et al. 2019; baal): every round trains a fresh model from
`build_model()` on all labels so far (no warm start, so no strategy
inherits an earlier round's fit), evaluates it, and moves the `count` pool
rows `kerasdrop.active.acquire` picks into the labelled set. It is a library
function because the example, the benchmark and users' experiments all run
exactly this loop; with a real annotator, call `acquire` in your own loop.

Example:

>>> import numpy as np, keras, kerasdrop
>>> def build():
...     model = keras.Sequential([keras.Input((4,)),
...         keras.layers.Dense(8, activation="relu"),
...         kerasdrop.layers.Dropout(0.5),
...         keras.layers.Dense(2, activation="softmax")])
...     model.compile("adam", "sparse_categorical_crossentropy")
...     return model
>>> rng = np.random.default_rng(0)
>>> x, y = rng.normal(size=(60, 4)), rng.integers(0, 2, 60)
>>> result = kerasdrop.active.run_loop(build, (x[:10], y[:10]),
...     (x[10:], y[10:]), rounds=2, count=5, seed=0, verbose=0)
>>> result.labelled
[10, 15, 20]
"""

import dataclasses

import keras
import numpy as np

from kerasdrop import _checks
from kerasdrop.active import acquisition


@dataclasses.dataclass
class LoopResult:
    """What `run_loop` returns; one entry per round in each list.

    Attributes:
        labelled: labels the round's model was trained on.
        logs: the round's `model.evaluate` results (a dict; empty without
            `validation_data`).
        acquired: int64 indices into the pool acquired after the round
            (an empty array after the last).
        model: the last round's model.
    """

    labelled: list
    logs: list
    acquired: list
    model: keras.Model = None


def run_loop(
    build_model,
    labelled,
    pool,
    rounds,
    count,
    strategy="bald",
    fit_kwargs=None,
    validation_data=None,
    seed=None,
    verbose=1,
    **acquire_kwargs,
):
    """`rounds` acquisitions of `count` rows: `rounds + 1` fits in all.

    Args:
        build_model: zero-argument callable returning a fresh compiled model
            with kerasdrop dropout (called once per round).
        labelled: `(x, y)`, the labelled start set.
        pool: `(x, y)`, the unlabelled pool with its labels (the oracle).
        rounds: acquisitions (int >= 0).
        count: rows acquired per round (int >= 1).
        strategy: an `acquire` strategy.
        fit_kwargs: dict of `model.fit` arguments (`verbose` defaults to 0).
        validation_data: `(x, y)` evaluated after each fit.
        seed: int: the same seed, the same picks (given the same fits).
        verbose: 0 or 1 (a Keras progress bar over rounds).
        **acquire_kwargs: more `acquire` arguments (`samples`, ...).

    Returns a `LoopResult` (example: the module's docstring).
    """
    rounds, count, seed = _check_loop(build_model, rounds, count, seed, verbose)
    fit_kwargs = {"verbose": 0, **(fit_kwargs or {})}
    (x, y), (pool_x, pool_y) = _pair("labelled", labelled), _pair("pool", pool)
    free = np.arange(_rows(pool_x), dtype="int64")  # pool rows still unlabelled
    rng = np.random.default_rng(seed)
    result, progbar = LoopResult([], [], []), None
    for round_index in range(rounds + 1):
        result.model = build_model()
        result.model.fit(x, y, **fit_kwargs)
        result.labelled.append(_rows(x))
        result.logs.append(_evaluate(result.model, validation_data))
        picked = np.zeros((0,), "int64")
        if round_index < rounds and free.size:
            options = {"seed": int(rng.integers(2**31 - 1)), **acquire_kwargs}
            picked = _pick(result.model, pool_x, free, count, strategy, options)
            free = np.setdiff1d(free, picked)
            x, y = _concat(x, _take(pool_x, picked)), _concat(y, _take(pool_y, picked))
        result.acquired.append(picked)
        if verbose:
            progbar = _progress(progbar, rounds, round_index, result)
    return result


def _evaluate(model, validation_data):
    if validation_data is None:
        return {}
    return model.evaluate(*validation_data, verbose=0, return_dict=True)


def _pick(model, pool_x, free, count, strategy, options):
    """The pool rows, among the `free` ones, that `acquire` picks."""
    chosen = acquisition.acquire(
        model, _take(pool_x, free), min(count, free.size), strategy, **options
    )
    return free[chosen.indices]


def _check_loop(build_model, rounds, count, seed, verbose):
    """`run_loop`'s plain arguments, checked: `(rounds, count, seed)`."""
    if not callable(build_model):
        raise _checks.type_error(
            "build_model", "a callable returning a model", build_model
        )
    _checks.check_choice("verbose", verbose, (0, 1))
    return (
        _checks.check_int("rounds", rounds, minimum=0),
        _checks.check_int("count", count, minimum=1),
        _checks.check_int("seed", seed, minimum=0, allow_none=True),
    )


def _progress(progbar, rounds, round_index, result):
    """The Keras progress bar over rounds, showing the round's labels and
    evaluation (stateful: the values as they are, not averaged)."""
    values = [("labelled", result.labelled[-1]), *result.logs[-1].items()]
    if progbar is None:
        names = [name for name, _ in values]
        progbar = keras.utils.Progbar(
            rounds + 1, stateful_metrics=names, unit_name="round"
        )
    progbar.update(round_index + 1, values)
    return progbar


def _pair(name, value):
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise _checks.type_error(name, "an `(x, y)` pair", value)
    return tuple(value)


def _rows(x):
    return int(np.shape(keras.tree.flatten(x)[0])[0])


def _take(x, rows):
    return keras.tree.map_structure(lambda a: np.asarray(a)[rows], x)


def _concat(a, b):
    return keras.tree.map_structure(
        lambda u, v: np.concatenate([np.asarray(u), v], axis=0), a, b
    )
