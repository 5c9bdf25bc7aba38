"""`run_loop`'s argument checks (all before the first fit) and the array
helpers it moves rows with."""

import inspect

import keras
import numpy as np

from kerasdrop import _checks
from kerasdrop.active import acquisition
from kerasdrop.active.protocol import Protocol


def check_loop(build_model, rounds, count, seed, verbose):
    """`run_loop`'s plain arguments, checked: `(rounds, count, seed)`."""
    if not callable(build_model):
        raise _checks.type_error(
            "build_model",
            "a callable returning a compiled model, or a compiled model",
            build_model,
        )
    _checks.check_choice("verbose", verbose, (0, 1))
    return (
        _checks.check_int("rounds", rounds, minimum=0),
        _checks.check_int("count", count, minimum=1),
        _checks.check_int("seed", seed, minimum=0, allow_none=True),
    )


#: `model.fit` arguments `run_loop` sets itself (or takes as its own).
_OWN_FIT_KEYS = ("x", "y", "validation_data")


def check_fit_kwargs(fit_kwargs):
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


def built(build_model):
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
    return check_compiled(model, "build_model", build_model)


def check_compiled(model, name, source=None):
    """`model`, refused unless compiled (`source`: the builder it came from)."""
    if not getattr(model, "compiled", True):
        received = f"model '{model.name}', not compiled"
        if source is not None:
            received = f"{name}={source!r} returning {received}"
        raise _checks.invalid_value(
            name,
            "Expected a compiled `keras.Model`, or a zero-argument callable "
            "returning one (call `model.compile`).",
            received,
        )
    return model


def check_protocol(labelled, protocol):
    """`protocol` (None: no protocol setting), checked against `labelled`:
    a `Protocol`; the start set given, or drawn, not both or neither."""
    if protocol is None:
        protocol = Protocol()
    if not isinstance(protocol, Protocol):
        raise _checks.type_error(
            "protocol", "None or a `kerasdrop.active.Protocol`", protocol
        )
    drawn = protocol.initial_per_class is not None
    if drawn == (labelled is not None):
        raise _checks.invalid_value(
            "labelled",
            "Expected an `(x, y)` start set, or None with the protocol's "
            "`initial_per_class` (the start set drawn from the pool), not "
            "both or neither.",
            f"labelled={'None' if labelled is None else '(x, y)'}, "
            f"initial_per_class={protocol.initial_per_class!r}",
        )
    return protocol


def check_sizes(rounds, count, pool_rows):
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


def check_acquire(count, strategy, acquire_kwargs):
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


def _pair(name, value):
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise _checks.type_error(name, "an `(x, y)` pair", value)
    return tuple(value)


def check_data(labelled, pool, validation_data):
    """The `(x, y)` pairs: arrays with one row count per pair, finite
    numbers, pool rows shaped as the labelled ones; the labelled set not
    empty. Returns `(labelled, pool)`."""
    pairs = {"pool": _pair("pool", pool)}
    if labelled is not None:  # None: drawn from the pool (initial_per_class)
        pairs["labelled"] = _pair("labelled", labelled)
    if validation_data is not None:
        pairs["validation_data"] = _pair("validation_data", validation_data)
    for name, pair in pairs.items():
        rows = _pair_rows(name, pair)
        if name == "labelled" and rows == 0:
            raise _checks.invalid_value(
                name, "Expected at least one labelled row.", "labelled with 0 rows"
            )
    for part, index in (("x", 0), ("y", 1)):
        if labelled is not None:
            _check_like(part, pairs["labelled"][index], pairs["pool"][index])
    return pairs.get("labelled"), pairs["pool"]


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


def rows(x):
    return int(np.shape(keras.tree.flatten(x)[0])[0])


def take(x, rows):
    return keras.tree.map_structure(lambda a: np.asarray(a)[rows], x)


def concat(a, b):
    return keras.tree.map_structure(
        lambda u, v: np.concatenate([np.asarray(u), v], axis=0), a, b
    )
