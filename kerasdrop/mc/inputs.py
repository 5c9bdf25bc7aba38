"""The inputs of `kerasdrop.mc.predict`: checks, NumPy batches, padding.

`x` is a NumPy array or tensor, a list/tuple/dict of them, or a batched
`tf.data.Dataset` yielding `x` or `(x, y, ...)`; `check_x` reads it once,
`batches` cuts it into NumPy batches and `check_batch` checks each against
the model's inputs before anything runs on it.
"""

import reprlib

import keras
import numpy as np

from kerasdrop import _checks


def is_dataset(x):
    return hasattr(x, "as_numpy_iterator") and hasattr(x, "element_spec")


def _x_of(element):
    # Keras' convention: a tuple is (x,), (x, y) or (x, y, sample_weight).
    if isinstance(element, tuple) and 1 <= len(element) <= 3:
        return element[0]
    return element


def row_count(x):
    return int(np.shape(keras.tree.flatten(x)[0])[0])


def _take(x, start, stop):
    return keras.tree.map_structure(lambda a: a[start:stop], x)


def pad(x, rows):
    """Pads every array of `x` to `rows` rows by repeating its last row."""

    def pad(a):
        missing = rows - a.shape[0]
        if missing <= 0:
            return a
        return np.concatenate([a, np.repeat(a[-1:], missing, axis=0)], axis=0)

    return keras.tree.map_structure(pad, x)


def to_numpy(x):
    return keras.tree.map_structure(
        lambda a: (
            np.asarray(a, dtype="float32")
            if np.asarray(a).dtype.kind in "fiub"
            else np.asarray(a)
        ),
        x,
    )


def batches(x, batch_size):
    """Yields NumPy batches of at most `batch_size` rows."""
    if is_dataset(x):
        for element in x.as_numpy_iterator():
            data = to_numpy(_x_of(element))
            rows = row_count(data)
            for start in range(0, rows, batch_size):
                yield _take(data, start, min(rows, start + batch_size))
        return
    rows = row_count(x)
    for start in range(0, rows, batch_size):
        yield _take(x, start, min(rows, start + batch_size))


def check_batch(model, batch, index):
    flat = keras.tree.flatten(batch)
    for array in flat:
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise _checks.invalid_value(
                "x", "Expected finite values.", f"x with NaN or inf in batch {index}"
            )
    model_inputs = getattr(model, "inputs", None)
    if not model_inputs:
        return
    expected = keras.tree.flatten(model_inputs)
    if isinstance(batch, dict):
        names = [spec.name for spec in expected]
        if sorted(batch) != sorted(names):
            raise _checks.invalid_value(
                "x",
                f"Expected a dict with the keys {sorted(names)} (the inputs of "
                f"model '{model.name}').",
                f"x with keys {sorted(batch)}",
            )
        flat = [batch[name] for name in names]
    if len(expected) != len(flat):
        raise _checks.invalid_value(
            "x",
            f"Expected {len(expected)} input array(s) for model '{model.name}'.",
            f"x with {len(flat)} array(s)",
        )
    for spec, array in zip(expected, flat):
        _check_array(spec, array, model.name)


def _check_array(spec, array, name):
    """One input array against the model's input `spec`: dtype and rows."""
    if array.dtype.kind not in "fiub" and spec.dtype != "string":
        raise _checks.invalid_type(
            "x",
            f"Expected numeric arrays for input '{spec.name}' ({spec.dtype}) of "
            f"model '{name}'.",
            f"x with an array of dtype {array.dtype}",
        )
    want = tuple(spec.shape[1:])
    got = tuple(array.shape[1:])
    if len(want) != len(got) or any(
        w is not None and w != g for w, g in zip(want, got)
    ):
        raise _checks.invalid_value(
            "x",
            f"Expected rows of shape {want} for input '{spec.name}' of model '{name}'.",
            f"x with rows of shape {got}",
        )


def check_x(x):
    """`x` as `predict` reads it: a dataset, or the NumPy form of a
    structure of arrays with the same number (> 0) of rows."""
    if is_dataset(x):
        return x
    leaves = keras.tree.flatten(x)
    if not leaves or not all(
        hasattr(a, "shape") and hasattr(a, "__array__") for a in leaves
    ):
        raise _checks.invalid_type(
            "x",
            "Expected a NumPy array or tensor, a list/tuple/dict of them (one "
            "per model input), or a batched `tf.data.Dataset` yielding `x` or "
            "`(x, y, ...)`; collect a generator's or `keras.utils.PyDataset`'s "
            "batches with `np.concatenate`, or wrap it in "
            "`tf.data.Dataset.from_generator`.",
            f"x={reprlib.repr(x)} of type {type(x).__name__}",
        )
    if isinstance(x, (list, tuple)) and len(x) == 1:
        x = x[0]
    x = to_numpy(x)
    rows = {np.shape(a)[0] if np.ndim(a) else None for a in keras.tree.flatten(x)}
    if None in rows or len(rows) > 1:
        found = "a 0-d array" if None in rows else f"{sorted(rows)} rows"
        raise _checks.invalid_value(
            "x",
            "Expected arrays with a leading batch axis, the same number of rows "
            "in each.",
            f"x with {found}",
        )
    if rows == {0}:
        raise _checks.invalid_value("x", "Expected at least one row.", "x with 0 rows")
    return x
