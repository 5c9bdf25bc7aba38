"""`kerasdrop.active.run_loop`: the active-learning loop, fit -> acquire ->
label -> refit, on a pool whose labels are known.

One way, chosen to be the standard protocol of the literature (Gal et al.
2017; Kirsch et al. 2019; baal): every round trains a fresh model (a new
`build_model()`, or the same compiled model with fresh weights and a fresh
optimizer) on all labels so far (no warm start, so no strategy inherits an
earlier round's fit), evaluates it, and moves the `count` pool rows
`kerasdrop.active.acquire` picks into the labelled set. The protocol of
Gal et al. 2017 is one argument away, `protocol=Protocol(...)`: a balanced
initial draw (`initial_per_class`), a fixed labelled validation set
(`validation_size`) with early stopping on it (`early_stopping`), and a
random pool subset scored each round (`pool_subset`); the pieces are
`kerasdrop.active.protocol`'s. It is a library function because the
example, the benchmark and users' experiments all run exactly this loop;
with a real annotator, call `acquire` in your own loop.

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
>>> protocol = kerasdrop.active.Protocol(initial_per_class=2,
...     validation_size=10, early_stopping=2, pool_subset=20)
>>> result = kerasdrop.active.run_loop(build(), None, (x, y), rounds=2,
...     count=5, seed=0, verbose=0, protocol=protocol, fit_kwargs={"epochs": 5})
>>> result.labelled, len(result.validation_rows), sorted(result.seconds[0])
([4, 9, 14], 10, ['acquire', 'evaluate', 'fit'])
"""

import dataclasses
import time

import keras
import numpy as np

from kerasdrop.active import acquisition
from kerasdrop.active import loop_checks as checks
from kerasdrop.active.protocol import (
    Protocol,
    Reinitializer,
    balanced_draw,
    pool_subset,
    validation_split,
)


def _none():
    return np.zeros((0,), "int64")


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
        seconds: per round, a dict of wall-clock seconds: `fit`,
            `evaluate` and `acquire` (about 0 after the last round).
        initial_rows: int64 pool rows drawn as the initial labelled set
            (`initial_per_class`; empty otherwise).
        validation_rows: int64 pool rows held out as the labelled
            validation set (`validation_size`; empty otherwise).
        epochs: per round, the epochs the fit ran (early stopping ends
            some before `fit_kwargs["epochs"]`).
    """

    labelled: list
    logs: list
    acquired: list
    model: keras.Model = None
    seconds: list = dataclasses.field(default_factory=list)
    initial_rows: np.ndarray = dataclasses.field(default_factory=_none)
    validation_rows: np.ndarray = dataclasses.field(default_factory=_none)
    epochs: list = dataclasses.field(default_factory=list)


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
    protocol=None,
    **acquire_kwargs,
):
    """`rounds` acquisitions of `count` rows: `rounds + 1` fits in all.

    Args:
        build_model: a zero-argument callable returning a fresh compiled
            model with kerasdrop dropout (called once per round), or such a
            compiled `keras.Model`, reused every round with fresh weights,
            dropout seed states and optimizer state (`Reinitializer`):
            it trains as a new model would, and nothing is retraced.
        labelled: `(x, y)`, the labelled start set; None when `protocol`
            draws it from the pool (`initial_per_class`).
        pool: `(x, y)`, the unlabelled pool with its labels (the oracle).
        rounds: acquisitions (int >= 0).
        count: rows acquired per round (int >= 1).
        strategy: an `acquire` strategy.
        fit_kwargs: dict of `model.fit` arguments (`verbose` defaults to 0).
        validation_data: `(x, y)` evaluated after each fit (a test set).
        seed: int: the seed of the draws here and, through a seed drawn
            per round, of Keras' global RNG: the same seed, the same picks
            and fits, whatever ran before in the process.
        verbose: 0 or 1 (a Keras progress bar over rounds).
        protocol: a `kerasdrop.active.Protocol` (Gal et al. 2017's balanced
            start set, fixed validation set, early stopping, pool subset),
            or None (none of them).
        **acquire_kwargs: more `acquire` arguments (`samples`, ...).

    Returns a `LoopResult` (example: the module's docstring).
    """
    rounds, count, seed = checks.check_loop(build_model, rounds, count, seed, verbose)
    fit_kwargs = {"verbose": 0, **checks.check_fit_kwargs(fit_kwargs)}
    protocol = checks.check_protocol(labelled, protocol)
    labelled, pool = checks.check_data(labelled, pool, validation_data)
    checks.check_acquire(count, strategy, acquire_kwargs)
    rng, result = np.random.default_rng(seed), LoopResult([], [], [])
    free, labelled = _start(result, labelled, pool, protocol, rng)
    checks.check_sizes(rounds, count, free.size)
    loop = _Loop(result, pool, protocol, rng, seed, strategy, count, acquire_kwargs)
    loop.fit_kwargs = _fit_kwargs(fit_kwargs, result, pool, protocol)
    loop.fresh_model = _model_source(build_model, labelled)
    loop.run(labelled, free, rounds, validation_data, verbose)
    return result


@dataclasses.dataclass
class _Loop:
    """One `run_loop`'s rounds: fit a fresh model, evaluate, acquire."""

    result: LoopResult
    pool: tuple
    protocol: Protocol
    rng: np.random.Generator
    seed: int
    strategy: str
    count: int
    acquire_kwargs: dict
    fit_kwargs: dict = None
    fresh_model: object = None

    def run(self, labelled, free, rounds, validation_data, verbose):
        result, progbar = self.result, None
        for round_index in range(rounds + 1):
            seconds = {}
            if self.seed is not None:
                # Keras' global RNG seeded per round: a round's fresh weights
                # and fit do not depend on what ran before (a first trace,
                # another run of the same model).
                keras.utils.set_random_seed(int(self.rng.integers(2**31 - 1)))
            with _timer(seconds, "fit"):
                result.model = self.fresh_model()
                history = result.model.fit(*labelled, **self.fit_kwargs)
            result.epochs.append(len(getattr(history, "epoch", None) or ()))
            result.labelled.append(checks.rows(labelled[0]))
            with _timer(seconds, "evaluate"):
                result.logs.append(_evaluate(result.model, validation_data))
            picked = _none()
            with _timer(seconds, "acquire"):
                if round_index < rounds and free.size:
                    picked = self.pick(free)
                    free = np.setdiff1d(free, picked)
                    labelled = _add(labelled, self.pool, picked)
            result.acquired.append(picked)
            result.seconds.append(seconds)
            if verbose:
                progbar = _progress(progbar, rounds, round_index, result)

    def pick(self, free):
        """The pool rows, among a random subset of the `free` ones (all
        without `pool_subset`), that `acquire` picks."""
        scored = pool_subset(free, self.protocol.pool_subset, self.rng)
        options = {"seed": int(self.rng.integers(2**31 - 1)), **self.acquire_kwargs}
        chosen = acquisition.acquire(
            self.result.model,
            checks.take(self.pool[0], scored),
            min(self.count, scored.size),
            self.strategy,
            **options,
        )
        return scored[chosen.indices]


def _start(result, labelled, pool, protocol, rng):
    """The unlabelled pool rows and the start set: `labelled`, or
    `initial_per_class` rows per class drawn from the pool; the validation
    rows (`validation_size`) are taken out of the pool too."""
    free = np.arange(checks.rows(pool[0]), dtype="int64")
    if protocol.initial_per_class is not None:
        rows = balanced_draw(pool[1], protocol.initial_per_class, rng)
        result.initial_rows = rows
        free = np.setdiff1d(free, rows)
        labelled = tuple(checks.take(part, rows) for part in pool)
    if protocol.validation_size is not None:
        rows = validation_split(free, protocol.validation_size, rng)
        result.validation_rows = rows
        free = np.setdiff1d(free, rows)
    return free, labelled


def _fit_kwargs(fit_kwargs, result, pool, protocol):
    """`fit_kwargs` with the validation set and the early-stopping callback."""
    if protocol.validation_size is None:
        return fit_kwargs
    rows = result.validation_rows
    validation = tuple(checks.take(part, rows) for part in pool)
    fit_kwargs = {**fit_kwargs, "validation_data": validation}
    if protocol.early_stopping is not None:
        stop = keras.callbacks.EarlyStopping(
            monitor="val_loss",
            patience=protocol.early_stopping,
            restore_best_weights=True,
        )
        fit_kwargs["callbacks"] = [*fit_kwargs.get("callbacks", ()), stop]
    return fit_kwargs


def _model_source(build_model, labelled):
    """A callable giving each round's fresh model: `build_model()`, or the
    reused model re-initialised.

    A reused model is first evaluated on one labelled row: that builds its
    compiled loss and metrics, which Keras' first `fit` of a model would
    otherwise build by drawing a batch of shuffled data (on JAX, one extra
    permutation from NumPy's global RNG), so its first run in a process
    fits as every later run with the same seed does."""
    if isinstance(build_model, keras.Model):
        checks.check_compiled(build_model, "build_model")
        one = tuple(checks.take(part, np.arange(1)) for part in labelled)
        build_model.evaluate(*one, verbose=0)
        return Reinitializer(build_model)
    return lambda: checks.built(build_model)


class _timer:
    """Sets `seconds[key]` to the block's wall-clock seconds."""

    def __init__(self, seconds, key):
        self.seconds, self.key = seconds, key

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.seconds[self.key] = time.perf_counter() - self.start


def _evaluate(model, validation_data):
    if validation_data is None:
        return {}
    return model.evaluate(*validation_data, verbose=0, return_dict=True)


def _add(labelled, pool, picked):
    return tuple(
        checks.concat(part, checks.take(source, picked))
        for part, source in zip(labelled, pool)
    )


def _progress(progbar, rounds, round_index, result):
    """The Keras progress bar over rounds, showing the round's labels,
    evaluation and seconds (stateful: the values as they are, not averaged)."""
    values = [
        ("labelled", result.labelled[-1]),
        *result.logs[-1].items(),
        ("seconds", sum(result.seconds[-1].values())),
    ]
    if progbar is None:
        names = [name for name, _ in values]
        progbar = keras.utils.Progbar(
            rounds + 1, stateful_metrics=names, unit_name="round"
        )
    progbar.update(round_index + 1, values)
    return progbar
