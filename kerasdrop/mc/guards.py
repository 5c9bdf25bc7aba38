"""What keeps `kerasdrop.mc.predict` honest: the random streams of the
dropout layers (seeded, rewound, one call at a time) and its outputs
(finite).

`seeded(layers, seed)` reseeds the layers' generators for a call and puts
them back; `rewinder(layers)` puts them back to where they are now
(consistent masks); `exclusive(layers)` makes calls that share layers run
one at a time, whatever thread they come from; `check_finite` raises
`NonFiniteError` for NaN or inf outputs, naming the first row.
"""

import contextlib
import threading
import weakref

import keras
import numpy as np
from keras import ops

from kerasdrop import _checks


def derived_seeds(seed, count):
    rng = np.random.default_rng(seed)
    return [int(s) for s in rng.integers(1, 2**31 - 1, size=count)]


@contextlib.contextmanager
def seeded(layers, seed):
    """Runs the block with every dropout layer's generator reseeded from
    `seed` (when given); puts the generators' states back afterwards, and
    whenever the block raises (a refused call moves no random stream)."""
    generators = [layer.seed_generator for layer in layers]
    put_back = rewinder(layers)
    if seed is not None:
        for generator, value in zip(generators, derived_seeds(seed, len(generators))):
            generator.state.assign(
                ops.convert_to_tensor(np.array([value, 0]), dtype=generator.state.dtype)
            )
    restore = seed is not None
    try:
        yield
    except BaseException:
        restore = True
        raise
    finally:
        if restore:
            put_back()


_LOCKS = weakref.WeakKeyDictionary()
_LOCKS_LOCK = threading.Lock()


@contextlib.contextmanager
def exclusive(layers):
    """Runs the block holding the lock of every layer (or model) of `layers`,
    taken in one global order so that two calls never deadlock: `predict`
    calls that share a model or dropout layers run one at a time. The
    layers' generator states are shared: a call reseeds them, draws from
    them and puts them back, and two calls interleaved would draw from each
    other's streams (on JAX, also read arrays the other call replaced)."""
    with _LOCKS_LOCK:
        locks = [_LOCKS.setdefault(layer, threading.RLock()) for layer in layers]
    with contextlib.ExitStack() as stack:
        for lock in sorted(set(locks), key=id):
            stack.enter_context(lock)
        yield


def rewinder(layers):
    """A function that puts every layer's generator back to its state now:
    with it, each chunk of each batch draws the same noise (consistent
    masks)."""
    generators = [layer.seed_generator for layer in layers]
    saved = [ops.convert_to_numpy(g.state.value) for g in generators]

    def rewind():
        for generator, value in zip(generators, saved):
            generator.state.assign(value)

    return rewind


class NonFiniteError(ValueError):
    """`predict`'s error for NaN or inf inputs or outputs (a `ValueError`).

    Attributes: `argument` (the inputs' argument name, e.g. "x"), `row`
    (the first row of it found at fault), `inputs` (True: that row's inputs
    are not finite; False: they are, and the model's outputs are not).

    Example:

    >>> error = NonFiniteError("net", "x", 5, inputs=False)
    >>> error.moved("pool", lambda row: 100 + row).row
    105
    """

    def __init__(self, model_name, argument, row, inputs):
        self.model_name, self.argument = model_name, argument
        self.row, self.inputs = row, inputs
        super().__init__(_non_finite_text(model_name, argument, row, inputs))

    def moved(self, argument, row_of):
        """The same error for row `row_of(row)` of argument `argument` (for
        a caller that passed rows of its own input)."""
        row = int(row_of(self.row))
        return NonFiniteError(self.model_name, argument, row, self.inputs)


def _non_finite_text(model_name, argument, row, inputs):
    if inputs:
        return _checks.invalid(
            argument,
            f"Expected finite values (row {row} is the first with NaN or inf).",
            f"{argument} with NaN or inf at row {row}",
        )
    return _checks.invalid(
        "model",
        f"Expected finite outputs on finite inputs: model '{model_name}' "
        f"outputs NaN or inf at row {row} of `{argument}`, whose inputs are "
        "finite (no mean, class or score of such a row means anything).",
        f"model '{model_name}' with non-finite outputs",
    )


def check_finite_inputs(model_name, batch, start):
    """Raises `NonFiniteError` naming the first row (`start`: the batch's
    first row in x) of a NumPy batch with a NaN or inf input."""
    rows = int(np.shape(keras.tree.flatten(batch)[0])[0])
    first = rows
    for leaf in keras.tree.flatten(batch):
        values = np.asarray(leaf)
        if values.dtype.kind in "fc" and not np.all(np.isfinite(values)):
            wrong = ~np.isfinite(values.reshape(rows, -1)).all(axis=1)
            first = min(first, int(np.flatnonzero(wrong)[0]))
    if first < rows:
        raise NonFiniteError(model_name, "x", start + first, inputs=True)


def check_finite(model_name, finite, start, rows):
    """Raises `NonFiniteError` when one of the `rows` real rows of a batch
    (from row `start` of x) has a non-finite output (`finite`: per row,
    1.0 where every sample's output is finite)."""
    bad = np.flatnonzero(np.asarray(finite)[:rows] < 0.5)
    if bad.size:
        raise NonFiniteError(model_name, "x", start + int(bad[0]), inputs=False)
