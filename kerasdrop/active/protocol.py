"""The protocol of `run_loop` (Gal, Islam & Ghahramani 2017): `Protocol`,
its settings, and its pieces as pure functions of a NumPy `Generator`: a
balanced initial draw, a fixed labelled validation split, the random pool
subset scored each round; and the re-initialisation of a reused model.

Every function returns int64 row indices (sorted, so the same `rng` state
gives the same rows whatever the caller does with them).

Example:

>>> import numpy as np
>>> y = np.repeat(np.arange(3), 4)           # 3 classes, 4 rows each
>>> rng = np.random.default_rng(0)
>>> start = balanced_draw(y, 2, rng)         # 2 rows per class
>>> np.bincount(y[start]).tolist()
[2, 2, 2]
>>> rest = np.setdiff1d(np.arange(12), start)
>>> validation_split(rest, 3, rng).size, pool_subset(rest, 100, rng).size
(3, 6)
"""

import dataclasses

import keras
import numpy as np

from kerasdrop import _checks


@dataclasses.dataclass(frozen=True)
class Protocol:
    """How `kerasdrop.active.run_loop` draws its sets and fits each round,
    as Gal, Islam & Ghahramani 2017 do ("Deep Bayesian Active Learning
    with Image Data"). Every setting is off (None) unless given.

    Args:
        initial_per_class: int >= 1: the start set is this many pool rows
            per class (the pool's `y` holds class labels), drawn at random;
            `run_loop`'s `labelled` must then be None (the paper: 2).
        validation_size: int >= 1: this many pool rows, drawn at random
            once, are a fixed labelled validation set passed to every `fit`
            as its `validation_data` (callbacks see `val_*` logs), never
            acquired nor counted as labels (the paper: 100).
        early_stopping: int patience >= 0: every fit stops when `val_loss`
            has not improved for this many epochs and keeps its best
            weights (`keras.callbacks.EarlyStopping`); needs
            `validation_size`.
        pool_subset: int >= 1: each round scores a fresh random subset of
            this many unlabelled pool rows (all when fewer); None scores
            the whole pool (the paper: 2000 of MNIST's pool).

    Example:

    >>> protocol = Protocol(initial_per_class=2, validation_size=100)
    >>> protocol.validation_size, protocol.early_stopping
    (100, None)
    >>> Protocol(early_stopping=5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ... Expected None without `validation_size` (early stopping ...
    """

    initial_per_class: int = None
    validation_size: int = None
    early_stopping: int = None
    pool_subset: int = None

    def __post_init__(self):
        for name in ("initial_per_class", "validation_size", "pool_subset"):
            value = _checks.check_int(name, getattr(self, name), 1, allow_none=True)
            object.__setattr__(self, name, value)
        patience = _checks.check_int(
            "early_stopping", self.early_stopping, minimum=0, allow_none=True,
            expected="None or an integer patience >= 0 (epochs without a "
            "better val_loss)",
        )  # fmt: skip
        object.__setattr__(self, "early_stopping", patience)
        if patience is not None and self.validation_size is None:
            raise _checks.invalid_value(
                "early_stopping",
                "Expected None without `validation_size` (early stopping "
                "watches the validation set's val_loss).",
                f"early_stopping={patience!r}",
            )


def class_labels(y, name="pool"):
    """`y` as a 1-D int64 array of class indices (sparse labels; a one-hot
    or probability `(N, C)` array is read by its argmax)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        y = np.argmax(y, axis=1)
    elif y.ndim == 2:
        y = y[:, 0]
    if y.ndim != 1 or y.dtype.kind not in "biuf" or not np.all(y == np.round(y)):
        raise _checks.invalid_value(
            name,
            "Expected class labels (integers, or one-hot rows) to draw a "
            "balanced initial set from.",
            f"{name} labels of shape {np.shape(y)} and dtype {y.dtype}",
        )
    return y.astype("int64")


def balanced_draw(y, per_class, rng):
    """`per_class` rows of every class present in `y`, drawn without
    replacement: int64 indices into `y`, sorted.

    Args:
        y: class labels (see `class_labels`).
        per_class: rows per class (int >= 1).
        rng: a `numpy.random.Generator`.
    """
    per_class = _checks.check_int("initial_per_class", per_class, minimum=1)
    y = class_labels(y)
    classes, counts = np.unique(y, return_counts=True)
    short = classes[counts < per_class]
    if short.size:
        raise _checks.invalid_value(
            "initial_per_class",
            f"Expected at most the rows of the rarest class ({counts.min()}): "
            f"class {int(short[0])} has {int(counts[classes == short[0]][0])} "
            "rows in the pool.",
            f"initial_per_class={per_class}",
        )
    picks = [
        rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes
    ]
    return np.sort(np.concatenate(picks)).astype("int64")


def validation_split(rows, size, rng):
    """`size` of `rows` (pool indices) drawn uniformly without replacement:
    the fixed labelled validation set, int64, sorted."""
    rows = np.asarray(rows, dtype="int64")
    size = _checks.check_int("validation_size", size, minimum=1)
    if size >= rows.size:
        raise _checks.value_error(
            "validation_size",
            f"an integer in [1, {rows.size - 1}] (fewer than the {rows.size} "
            "pool rows left after the initial draw)",
            size,
        )
    return np.sort(rng.choice(rows, size, replace=False)).astype("int64")


def pool_subset(free, size, rng):
    """A uniform random `size` of the `free` pool rows (all of them when
    there are at most `size`, or `size` is None), int64, sorted: what a
    round scores."""
    free = np.asarray(free, dtype="int64")
    if size is None or free.size <= size:
        return free
    return np.sort(rng.choice(free, size, replace=False)).astype("int64")


class Reinitializer:
    """Fresh weights and a fresh optimizer for one reused compiled model.

    Each call draws new weights and seed states from the model's own
    initializers (those of `keras.models.clone_model(model)`, a model of
    the same config) and sets
    the optimizer's variables (step count, moments) to those of a new
    optimizer of the same config (its state before the first update,
    whatever the model's optimizer went through before), so the model
    trains as a newly built and compiled one would, while keeping its
    traced train, test and predict functions (no retracing per round).
    """

    def __init__(self, model):
        self.model = model
        optimizer = model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(model.trainable_variables)
        self.optimizer_state = [
            keras.ops.convert_to_numpy(v) for v in _variables(_new(optimizer, model))
        ]

    def __call__(self):
        fresh = keras.models.clone_model(self.model)
        # All variables, not only the weights: the dropout layers' seed
        # states too, drawn anew (Keras' global RNG) as in a new model.
        for variable, value in zip(self.model.variables, fresh.variables):
            variable.assign(value)
        variables = _variables(self.model.optimizer)
        for variable, value in zip(variables, self.optimizer_state):
            variable.assign(value)
        return self.model


def _new(optimizer, model):
    if optimizer is None:
        return None
    fresh = optimizer.__class__.from_config(optimizer.get_config())
    fresh.build(model.trainable_variables)
    return fresh


def _variables(optimizer):
    return [] if optimizer is None else list(optimizer.variables)
