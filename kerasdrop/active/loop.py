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
import inspect

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
    fit_kwargs = {"verbose": 0, **_check_fit_kwargs(fit_kwargs)}
    (x, y), (pool_x, pool_y) = _check_data(labelled, pool, validation_data)
    _check_sizes(rounds, count, _rows(pool_x))
    _check_acquire(count, strategy, acquire_kwargs)
    free = np.arange(_rows(pool_x), dtype="int64")  # pool rows still unlabelled
    rng = np.random.default_rng(seed)
    result, progbar = LoopResult([], [], []), None
    for round_index in range(rounds + 1):
        result.model = _built(build_model)
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


#: `model.fit` arguments `run_loop` sets itself (or takes as its own).
_OWN_FIT_KEYS = ("x", "y", "validation_data")


def _check_fit_kwargs(fit_kwargs):
    """`fit_kwargs`: None or a dict of `fit` arguments other than the data."""
    if fit_kwargs is None:
        return {}
    if not isinstance(fit_kwargs, dict):
        raise _checks.type_error(
            "fit_kwargs", "None or a dict of `fit` arguments", fit_kwargs
        )
    own = [key for key in _OWN_FIT_KEYS if key in fit_kwargs]
    if own:
        raise _checks.value_error(
            "fit_kwargs",
            "`fit` arguments other than x and y (run_loop passes the labelled "
            "set) and validation_data (run_loop's own argument, evaluated "
            f"after each fit); found {own}",
            fit_kwargs,
        )
    return fit_kwargs


def _built(build_model):
    """`build_model()`, checked to be a compiled model before it is fitted."""
    model = build_model()
    expected = "a zero-argument callable returning a compiled `keras.Model`"
    if not isinstance(model, keras.Model):
        raise _checks.invalid_type(
            "build_model",
            f"Expected {expected}.",
            f"build_model={build_model!r} returning {model!r} of type "
            f"{type(model).__name__}",
        )
    if not getattr(model, "compiled", True):
        raise _checks.invalid_value(
            "build_model",
            f"Expected {expected} (call `model.compile` in it).",
            f"build_model={build_model!r} returning model '{model.name}', not compiled",
        )
    return model


def _check_sizes(rounds, count, pool_rows):
    """Every round acquires `count` rows: the pool must hold them all."""
    if rounds and count > pool_rows:
        raise _checks.value_error(
            "count", f"an integer in [1, {pool_rows}] (the rows of `pool`)", count
        )
    if rounds * count > pool_rows:
        raise _checks.value_error(
            "rounds",
            f"at most {pool_rows // count} rounds of count={count}: the pool "
            f"has {pool_rows} rows, and each round acquires {count}",
            rounds,
        )


def _check_acquire(count, strategy, acquire_kwargs):
    """`strategy` and `**acquire_kwargs` checked as `acquire` checks them,
    before the first fit (not after it, at the first acquisition)."""
    own = [key for key in ("model", "pool", "count") if key in acquire_kwargs]
    if own:
        raise _checks.invalid_type(
            "acquire_kwargs",
            f"Expected `acquire` arguments other than {own}, which run_loop "
            "passes itself (`count` is run_loop's own argument).",
            f"{own[0]}={acquire_kwargs[own[0]]!r}",
        )
    try:
        inspect.signature(acquisition.checked_options).bind(
            count, strategy, **acquire_kwargs
        )
    except TypeError as err:
        raise _checks.invalid_type(
            "acquire_kwargs",
            f"Expected arguments of `kerasdrop.active.acquire` ({err}).",
            f"{sorted(acquire_kwargs)}",
        ) from None
    acquisition.checked_options(count, strategy, **acquire_kwargs)


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


def _check_data(labelled, pool, validation_data):
    """The `(x, y)` pairs: arrays with one row count per pair, finite
    numbers, pool rows shaped as the labelled ones; the labelled set not
    empty. Returns `(labelled, pool)`."""
    pairs = {"labelled": _pair("labelled", labelled), "pool": _pair("pool", pool)}
    if validation_data is not None:
        pairs["validation_data"] = _pair("validation_data", validation_data)
    for name, pair in pairs.items():
        rows = _pair_rows(name, pair)
        if name == "labelled" and rows == 0:
            raise _checks.invalid_value(
                name, "Expected at least one labelled row.", "labelled with 0 rows"
            )
    for part, index in (("x", 0), ("y", 1)):
        _check_like(part, pairs["labelled"][index], pairs["pool"][index])
    return pairs["labelled"], pairs["pool"]


def _leaves(name, part, value):
    """`value`'s arrays; a Keras-style error for what is no array of numbers."""
    leaves = keras.tree.flatten(value)
    arrays = [np.asarray(leaf) for leaf in leaves]
    if not arrays or any(a.ndim == 0 or a.dtype.kind not in "biufc" for a in arrays):
        raise _checks.type_error(
            name,
            f"an `(x, y)` pair whose {part} is an array of numbers with a "
            "row axis (or a list/dict of them)",
            value,
        )
    if any(a.dtype.kind in "fc" and not np.all(np.isfinite(a)) for a in arrays):
        raise _checks.invalid_value(
            name, "Expected finite values.", f"{name} whose {part} has NaN or inf"
        )
    return arrays


def _pair_rows(name, pair):
    """The rows of the pair's arrays, all equal."""
    rows = {
        part: {a.shape[0] for a in _leaves(name, part, value)}
        for part, value in zip("xy", pair)
    }
    if len(rows["x"] | rows["y"]) != 1:
        raise _checks.invalid_value(
            name,
            "Expected x and y with the same number of rows.",
            f"{name} with x rows {sorted(rows['x'])} and y rows {sorted(rows['y'])}",
        )
    return rows["x"].pop()


def _check_like(part, labelled, pool):
    """Pool rows join the labelled set: same structure, same row shape."""
    try:
        keras.tree.assert_same_structure(labelled, pool)
        same = all(
            np.shape(a)[1:] == np.shape(b)[1:]
            for a, b in zip(keras.tree.flatten(labelled), keras.tree.flatten(pool))
        )
    except (ValueError, TypeError):
        same = False
    if not same:
        shapes = [np.shape(a) for a in keras.tree.flatten(pool)]
        labelled_shapes = [np.shape(a) for a in keras.tree.flatten(labelled)]
        raise _checks.invalid_value(
            "pool",
            f"Expected {part} rows shaped as the labelled set's (they join it), "
            f"shapes {labelled_shapes}.",
            f"pool {part} of shapes {shapes}",
        )


def _rows(x):
    return int(np.shape(keras.tree.flatten(x)[0])[0])


def _take(x, rows):
    return keras.tree.map_structure(lambda a: np.asarray(a)[rows], x)


def _concat(a, b):
    return keras.tree.map_structure(
        lambda u, v: np.concatenate([np.asarray(u), v], axis=0), a, b
    )
