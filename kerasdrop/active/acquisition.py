"""`kerasdrop.active.acquire`: which pool rows to label next.

The pool is read in chunks of `chunk_size` rows, each scored by one
`kerasdrop.mc.predict(..., consistent=True)` call with the same seed (so
sample `t` is the same network for every row and the scores do not depend
on `chunk_size`), and only the best keys seen so far are kept
(`topk.TopK`): memory does not grow with the pool. `batch_bald` keeps
the `candidates` rows of highest BALD in that pass, samples them again
(same seed, same masks) and runs greedy BatchBALD on them (`batch_bald`).

Refused before anything runs (a `ValueError`): `samples < 2` for a
strategy of `DISAGREEMENT` (with one sample every row scores 0), and a
value other than the default for an argument the strategy ignores
(`candidates` and `configurations` but for `batch_bald`, `beta` but for
`power_*`; the MC arguments `samples`, `batch_size` and `task` go with
every strategy, so that `run_loop` compares strategies with the same
arguments). A NaN or inf in the pool, or in the model's outputs on it, is
a `ValueError` naming the first such pool row
(`kerasdrop.mc.guards.NonFiniteError`).
"""

import typing

import keras
import numpy as np

from kerasdrop import _checks, metrics
from kerasdrop.mc import guards as mc_guards
from kerasdrop.mc import inputs as mc_inputs
from kerasdrop.mc import prediction as mc_prediction
from kerasdrop.mc import tasks as mc_tasks
from kerasdrop.active import batch_bald as batch_bald_lib
from kerasdrop.active import scores as scores_lib
from kerasdrop.active import topk

#: Stochastic variants of the scores (Kirsch et al. 2023).
POWER = tuple(f"power_{name}" for name in scores_lib.SCORES)
#: Every strategy `acquire` takes.
STRATEGIES = (*scores_lib.SCORES, "random", "batch_bald", *POWER)
#: Strategies that measure how the samples disagree (0 for one sample):
#: they need `samples >= 2`.
DISAGREEMENT = (
    "bald",
    "variation_ratio",
    "batch_bald",
    "power_bald",
    "power_variation_ratio",
    "mean_std",
    "power_mean_std",
)
#: Tasks `acquire` scores (all classification).
ACQUIRE_TASKS = ("auto", "classification", "logits")
DEFAULT_CHUNK_SIZE = 8192


class Acquisition(typing.NamedTuple):
    """What `acquire` returns (a named tuple: `indices, scores = ...`).

    Attributes:
        indices: int64 pool rows to label, in pick order.
        scores: float64, their scores (for `random`, the uniform draws that
            ranked them; for `batch_bald`, each pick's gain in mutual
            information given the earlier picks; for `power_*`, the score,
            not the noisy key).
    """

    indices: np.ndarray
    scores: np.ndarray


def acquire(
    model,
    pool,
    count,
    strategy="bald",
    samples=20,
    seed=None,
    batch_size=None,
    chunk_size=DEFAULT_CHUNK_SIZE,
    candidates=None,
    configurations=batch_bald_lib.DEFAULT_CONFIGURATIONS,
    beta=1.0,
    task="auto",
    verbose=0,
):
    """The `count` rows of `pool` to label next, by MC dropout uncertainty.

    Args:
        model: a classifier with kerasdrop dropout (`kerasdrop.mc.predict`);
            any `keras.Model` for `strategy="random"`.
        pool: unlabelled inputs, a NumPy array or a list/dict of arrays.
        count: rows to pick, `1 <= count <= len(pool)`.
        strategy: one of `STRATEGIES`: `"bald"`, `"entropy"`,
            `"variation_ratio"`, `"margin"`, `"mean_std"` (top `count` scores: see
            `kerasdrop.active.scores`), `"random"`, `"batch_bald"` (greedy
            BatchBALD), or `"power_<score>"` (`count` rows drawn without
            replacement with probability proportional to `score ** beta`).
        samples: MC dropout samples `T` per row (>= 2 for `DISAGREEMENT`,
            at most `kerasdrop.mc.prediction.MAX_SAMPLES`).
        seed: an int (the same seed picks the same rows) or None (a fresh one).
        batch_size: rows per `mc.predict` batch (default 128; memory, not results).
        chunk_size: rows per `mc.predict` call (memory, not results).
        candidates: `batch_bald` only: it runs on this many rows of highest
            BALD (default `max(100, 10 * count)`, at most the pool).
        configurations: `batch_bald` only: joint label configurations held
            (all `C^n` while at most this many, then this many sampled).
        beta: `power_*` only: the power (> 0); large `beta` tends to top-k.
        task: "auto", "classification" or "logits", as in `mc.predict`.
        verbose: 0 or 1 (a Keras progress bar over the pool).

    Returns an `Acquisition`: `indices` (int64) and `scores` (refusals:
    `kerasdrop.active.acquisition`). Example:

    >>> import numpy as np, keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, "relu"),
    ...     kerasdrop.layers.Dropout(0.5),
    ...     keras.layers.Dense(3, activation="softmax")])
    >>> pool = np.random.default_rng(0).normal(size=(100, 4))
    >>> picks = kerasdrop.active.acquire(model, pool, 5, "batch_bald", seed=0)
    >>> picks.indices.shape, picks.scores.shape
    ((5,), (5,))
    """
    _checks.check_model(model, built=True)
    args = (samples, seed, batch_size, chunk_size, candidates, configurations)
    options = checked_options(count, strategy, *args, beta, task, verbose)
    rows = _check_pool(pool, options["count"])
    if strategy != "random":
        _check_classifier(model, task, strategy)
    return _Run(model, pool, rows, options).acquire()


def checked_options(
    count,
    strategy="bald",
    samples=20,
    seed=None,
    batch_size=None,
    chunk_size=DEFAULT_CHUNK_SIZE,
    candidates=None,
    configurations=batch_bald_lib.DEFAULT_CONFIGURATIONS,
    beta=1.0,
    task="auto",
    verbose=0,
):
    """`acquire`'s arguments but the model and pool, checked as `acquire`
    checks them (the one home of those checks: `run_loop` checks its
    `acquire_kwargs` here before its first fit), as a dict."""
    options = _check_options(strategy, count, samples, seed, chunk_size, beta)
    options |= _check_extras(candidates, configurations, batch_size, task, verbose)
    _check_used(strategy, options)  # refusals of the module docstring
    return options


def _check_options(strategy, count, samples, seed, chunk_size, beta):
    """`acquire`'s main arguments, checked, as a dict (a fresh seed for
    None)."""
    _checks.check_type("strategy", strategy, str, f"one of {STRATEGIES}")
    _checks.check_choice("strategy", strategy, STRATEGIES)
    seed = _checks.check_int("seed", seed, minimum=0, allow_none=True)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**31)
    return {
        "strategy": strategy,
        "count": _checks.check_int("count", count, minimum=1),
        "samples": _checks.check_int("samples", samples, 1, mc_prediction.MAX_SAMPLES),
        "seed": seed,
        "chunk_size": _checks.check_int("chunk_size", chunk_size, minimum=1),
        "beta": _checks.check_number("beta", beta, minimum=0, strict=True),
    }


def _check_extras(candidates, configurations, batch_size, task, verbose):
    """`acquire`'s other arguments, checked, as a dict."""
    candidates = _checks.check_int("candidates", candidates, 1, allow_none=True)
    _checks.check_type("task", task, str, f"one of {ACQUIRE_TASKS}")
    _checks.check_choice("task", task, ACQUIRE_TASKS)
    if not _checks.is_int(verbose):
        raise _checks.type_error("verbose", "0 or 1", verbose)
    _checks.check_choice("verbose", verbose, (0, 1))
    return {
        "candidates": candidates,
        "configurations": _checks.check_int("configurations", configurations, 1),
        "batch_size": _checks.check_int("batch_size", batch_size, 1, allow_none=True),
        "task": task,
        "verbose": verbose,
    }


#: `argument: (default, strategies that use it)` of the arguments only some
#: strategies use: any other value with another strategy is refused.
_SPECIFIC = {
    "candidates": (None, ("batch_bald",)),
    "configurations": (batch_bald_lib.DEFAULT_CONFIGURATIONS, ("batch_bald",)),
    "beta": (1.0, POWER),
}


def _check_used(strategy, options):
    """Refuses `samples < 2` for a strategy of `DISAGREEMENT` (every score
    would be 0), and a strategy-specific argument the strategy ignores."""
    if strategy in DISAGREEMENT and options["samples"] < 2:
        raise _checks.value_error(
            "samples",
            f"an integer >= 2 for strategy={strategy!r}, which scores how the "
            "MC samples disagree (one sample scores every row 0)",
            options["samples"],
        )
    for name, (default, users) in _SPECIFIC.items():
        if strategy not in users and options[name] != default:
            raise _checks.value_error(
                name,
                f"the default ({default!r}) for strategy={strategy!r}, which "
                f"does not use `{name}` (only {', '.join(users)} do)",
                options[name],
            )


def _check_pool(pool, count):
    """The pool's number of rows (`count` at most); `mc_inputs.check_x`'s
    errors for anything but arrays with the same number (> 0) of rows.
    The pool is not copied: each chunk is converted when it is scored."""
    if mc_inputs.is_dataset(pool):
        raise _checks.type_error(
            "pool",
            "a NumPy array or a list/dict of arrays (rows are picked by "
            "index; collect a dataset with `np.concatenate`)",
            pool,
        )
    leaves = keras.tree.flatten(pool)
    shaped = bool(leaves) and all(
        hasattr(a, "shape") and hasattr(a, "__array__") and len(a.shape) >= 1
        for a in leaves
    )
    if not shaped or len({a.shape[0] for a in leaves}) != 1 or not leaves[0].shape[0]:
        mc_inputs.check_x(pool)  # raises, with its message
    rows = int(leaves[0].shape[0])
    if count > rows:
        raise _checks.value_error(
            "count", f"an integer in [1, {rows}] (the rows of `pool`)", count
        )
    return rows


def _check_classifier(model, task, strategy):
    """A classification head (scores are of class probabilities); no
    multi-label head for `batch_bald` (its joint labels are not a class)."""
    head = mc_tasks.head_activation(model)
    if task == "auto" and head is None:
        raise _checks.invalid_value(
            "model",
            f"Expected a classifier for strategy={strategy!r}: a softmax or "
            "sigmoid head, or task='logits' for a linear head of class logits.",
            f"model '{model.name}' with a linear (regression) head",
        )
    outputs = keras.tree.flatten(getattr(model, "outputs", None) or [])
    units = outputs[0].shape[-1] if outputs else None
    if strategy == "batch_bald" and head == "sigmoid" and (units or 1) > 1:
        raise _checks.value_error(
            "strategy",
            "a strategy other than 'batch_bald' for a multi-label head "
            f"({units} independent sigmoid units): use 'bald' or 'power_bald'",
            "batch_bald",
        )


def _take(pool, rows):
    """The pool's `rows` (a slice or an index array)."""
    return keras.tree.map_structure(lambda a: a[rows], pool)


class _Run:
    """One checked `acquire` call: scores the pool chunk by chunk."""

    def __init__(self, model, pool, rows, options):
        self.model, self.pool, self.rows = model, pool, rows
        self.options = options
        self.rng = np.random.default_rng(options["seed"])
        self.mc_seed = int(self.rng.integers(2**31 - 1))
        count, kept = options["count"], options["candidates"]
        if kept is not None and kept < count:
            raise _checks.value_error(
                "candidates", f"None or an integer >= count ({count})", kept
            )
        if options["strategy"] != "batch_bald":
            kept = count
        self.kept = min(rows, kept or max(100, 10 * count))

    def acquire(self):
        """The `Acquisition` of the whole call."""
        top = self.stream()
        if self.options["strategy"] != "batch_bald":
            return Acquisition(top.indices, top.values)
        return self.batch_bald(top.indices)

    def predict(self, x, rows, return_samples=False):
        """`mc.predict` with consistent masks from the one seed of the call;
        its errors about a row of `x` name pool row `rows(row)`."""
        try:
            return self._predict(x, return_samples)
        except mc_guards.NonFiniteError as error:
            raise error.moved("pool", rows) from None

    def _predict(self, x, return_samples):
        return mc_prediction.predict(
            self.model,
            x,
            samples=self.options["samples"],
            batch_size=self.options["batch_size"],
            seed=self.mc_seed,
            return_samples=return_samples,
            task=self.options["task"],
            verbose=0,
            consistent=True,
        )

    def stream(self):
        """The `TopK` of the whole pool's keys, one chunk at a time."""
        top = topk.TopK(self.kept)
        step = self.options["chunk_size"]
        progbar = None
        if self.options["verbose"]:
            progbar = keras.utils.Progbar(self.rows, unit_name="row")
        for start in range(0, self.rows, step):
            stop = min(self.rows, start + step)
            keys, values = self._keys(
                _take(self.pool, slice(start, stop)), start, stop - start
            )
            top.add(keys, start, values)
            if progbar is not None:
                progbar.update(stop)
        return top

    def _keys(self, chunk, start, rows):
        """`(keys, scores)` of one chunk's rows."""
        strategy = self.options["strategy"]
        if strategy == "random":
            draws = self.rng.random(rows)
            return draws, draws
        name = "bald" if strategy == "batch_bald" else strategy
        result = self.predict(chunk, rows=lambda row: start + row)
        values = scores_lib.score(name.removeprefix("power_"), result)
        if strategy in POWER:
            return topk.power_keys(values, self.options["beta"], self.rng), values
        return values, values

    def batch_bald(self, indices):
        """Greedy BatchBALD on the pool's rows `indices` (the candidates)."""
        result = self.predict(
            _take(self.pool, indices), indices.__getitem__, return_samples=True
        )
        probs = metrics.class_distributions(result.samples)[..., 0, :]
        picks, gains = batch_bald_lib.batch_bald(
            probs, self.options["count"], self.rng, self.options["configurations"]
        )
        return Acquisition(indices[picks], np.asarray(gains, dtype="float64"))
