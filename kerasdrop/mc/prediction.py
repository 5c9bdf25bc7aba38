"""`kerasdrop.mc.predict`: Monte-Carlo dropout prediction, and its result.

Every kerasdrop dropout layer drops (as inside `mc.sampling()`), at any
depth; all other layers run in inference mode. Dropout it cannot sample
(stock layers not converted, RNN dropout) is named in one warning; a model
where every rate is 0 warns too (the uncertainty would be zero).

How it runs: per batch, the `T = samples` passes are stacked along the
batch axis, in chunks sized so that one chunk's activations fit in
`memory_budget` bytes, and reduced on the fly by `kerasdrop.mc.stats`
(running mean and variance, entropy sums, class votes): memory does not grow
with `T` unless `return_samples=True`. For Functional and Sequential models
the deterministic layers before the first dropout layer run once per batch
and only the rest is sampled. The compiled functions are kept per model, so
repeated calls do not retrace.

Several devices: where `model.predict` would shard batches (a
`tf.distribute` Mirrored or MultiWorkerMirrored strategy the model was
created under, or an active `keras.distribution` on JAX), each batch is
split over the devices, with the same result as on one device for the
same seed: see `kerasdrop.mc.devices`.

Prefix fallback: Keras cuts the graph by the shapes layers declare; where
one declares a wrong shape (keras-hub's XLNet declares `(None, None)` for
`(B, L, L)` tensors), the prefix or the rest fails on the first batch, and
`predict` samples the whole model instead, for this call and later ones
(one debug-level note on the "kerasdrop" logger per model).

Threads: calls that share a model or dropout layers run one at a time
(`kerasdrop.mc.guards.exclusive`): the layers' generator states are shared,
and a seeded call reseeds, draws and puts them back, so interleaved calls
would mix streams. A seeded result is the same whatever other threads'
`predict` calls do (calling the model yourself inside `mc.sampling` in
another thread meanwhile still moves the same streams).

Non-finite values: a NaN or inf in `x` is refused naming its first row; a
NaN or inf output on finite inputs (one cheap reduction per chunk) is a
`ValueError` naming the model and the first such row, rather than NaN
means with `predicted_class=0` (both: `kerasdrop.mc.guards.NonFiniteError`).

`predict` reads as: argument checks (`_check_options`), input preparation
(`_prepare`), the batch loop (`_run`, `_sample_batch`) and the result
(`_result`).
"""

import dataclasses
import logging
import re
import threading
import warnings
import weakref

import keras
import numpy as np
from keras import ops

from kerasdrop import _checks, graph
from kerasdrop.mc import devices, guards
from kerasdrop.mc import inputs as inputs_lib
from kerasdrop.mc import stats as stats_lib
from kerasdrop.mc import switch as switch_lib
from kerasdrop.mc import tasks as tasks_lib
from kerasdrop.layers import base as base_lib

DEFAULT_BATCH_SIZE = 128
DEFAULT_MEMORY_BUDGET = 128 * 2**20
#: Most samples `predict` takes per input (a larger `T` is a mistake: its
#: Monte-Carlo error, `1 / sqrt(T)`, is already 0.001 of the spread).
MAX_SAMPLES = 10**6
#: `verbose="auto"` shows a progress bar from this many sampled rows
#: (`samples` times the rows of `x`) on, or from 50 compiled calls on.
PROGRESS_SAMPLES = 10**6
split_deterministic_prefix = graph.split_deterministic_prefix


@dataclasses.dataclass(repr=False)
class MCResult:
    """What `kerasdrop.mc.predict` returns.

    Every field is always present; a field that does not apply to the task
    is None. Arrays are NumPy (`N` inputs, `T` samples), float32 except
    `predicted_class` (int64).

    Attributes:
        task: "regression", "classification" or "heteroscedastic".
        samples_count: `T`.
        mean: predictive mean, shape of one model output for `N` inputs
            (for classifiers: the mean probabilities; for heteroscedastic
            heads: the mean of the predicted means).
        variance, std: variance / standard deviation over the `T` samples
            (for heteroscedastic heads: of the predicted means).
        samples: `(T, N, ...)` stacked outputs when `return_samples=True`.
        predictive_entropy, expected_entropy, mutual_information:
            classification, `(N,)`, in nats: entropy of the mean, mean
            per-sample entropy, their difference (BALD). Softmax rows are
            one distribution (a single unit: `[1 - p, p]`); the units of a
            sigmoid head are independent Bernoullis, entropies summed over
            them.
        variation_ratio, max_probability, predicted_class: classification,
            `(N,)`; per unit, `(N, K)`, for a sigmoid head with `K > 1`
            units.
        aleatoric, epistemic, total: heteroscedastic (`[..., 0]` mean,
            `[..., 1]` log-variance): mean predicted variance, variance of
            the means, their sum.
    """

    task: str
    samples_count: int
    mean: np.ndarray
    variance: np.ndarray
    std: np.ndarray
    samples: np.ndarray = None
    predictive_entropy: np.ndarray = None
    expected_entropy: np.ndarray = None
    mutual_information: np.ndarray = None
    variation_ratio: np.ndarray = None
    max_probability: np.ndarray = None
    predicted_class: np.ndarray = None
    aleatoric: np.ndarray = None
    epistemic: np.ndarray = None
    total: np.ndarray = None

    def __repr__(self):
        return (
            f"<MCResult task={self.task} samples={self.samples_count} "
            f"mean.shape={self.mean.shape}>"
        )


class _ChunkSampler(keras.Model):
    """Runs `chunk` stochastic passes of `body` on one batch (`kerasdrop.mc.stats.draw`)
    and returns the chunk's `kerasdrop.mc.stats.moments` (and samples, if asked)."""

    def __init__(
        self,
        body,
        chunk,
        task,
        head,
        keep_samples,
        consistent=None,
        noise_rows=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.body = body
        self.chunk = chunk
        self.task = task
        self.head = head
        self.keep_samples = keep_samples
        self.consistent = consistent
        # None, or (rows, shards) of a batch sharded over devices.
        self.noise_rows = noise_rows
        # Where this chunk's samples start among the T (consistent masks):
        # a variable, so one trace serves every chunk.
        self.offset = self.add_weight(
            name="offset", shape=(), dtype="int32", initializer="zeros", trainable=False
        )
        # Built: its one variable exists and the body is built. Unbuilt,
        # Keras' JAX `predict_on_batch` would first run it eagerly to build
        # it (op by op, each op compiled: ~10 s on a tiny transformer).
        self.built = True

    def call(self, inputs, shard=0):
        """`shard`: which slice of the global batch `inputs` are (its
        replica's index under `tf.distribute`)."""
        sharding = {}
        if self.noise_rows is not None:
            rows, shards = self.noise_rows
            sharding = {"rows": rows, "shards": shards, "shard": shard}
        groups = base_lib.sample_groups(
            self.chunk,
            self.consistent or self.chunk,
            self.offset.value,
            consistent=self.consistent is not None,
            **sharding,
        )
        [outputs] = stats_lib.draw(self.body, inputs, self.chunk, groups)
        # 1.0 where every sample of the row is finite (`guards.check_finite`).
        finite = ops.isfinite(
            ops.reshape(outputs, (self.chunk, ops.shape(outputs)[1], -1))
        )
        finite = ops.cast(ops.all(ops.all(finite, axis=2), axis=0), "float32")
        if self.task == "heteroscedastic":
            tasks_lib.check_heteroscedastic((None, *outputs.shape[2:]), self.body.name)
        kind = tasks_lib.output_kind(self.task, self.head, outputs.shape[-1])
        if self.task == "logits":  # probabilities per sample, then averaged
            outputs = stats_lib.probabilities(outputs, kind)
        stats = stats_lib.moments(outputs, kind)
        if self.task == "classification":
            stats["bounds"] = _bounds(outputs)
        if self.keep_samples:
            stats["samples"] = outputs
        stats["finite"] = finite
        return stats


def _bounds(outputs):
    """Min, max and largest `|row sum - 1|` (0 for one unit) of outputs
    read as probabilities, for `tasks_lib.check_probabilities`."""
    off = ops.max(ops.abs(ops.sum(outputs, axis=-1) - 1.0))
    if outputs.shape[-1] == 1:
        off = ops.zeros(())
    return ops.stack([ops.min(outputs), ops.max(outputs), off])


def _row_bytes(body):
    """Rough bytes per example that one pass through `body` keeps alive."""
    tensors = graph.node_outputs(body)
    if tensors is None:
        # Subclassed model: layers unknown; assume a 64 KiB activation path.
        return 64 * 2**10
    return 4 * 2 * sum(int(np.prod([d or 1 for d in t.shape[1:]])) for t in tensors)


# ----------------------------------------------------------------------
# Compiled samplers.
# ----------------------------------------------------------------------
_PLANS = weakref.WeakKeyDictionary()
_PLANS_LOCK = threading.Lock()
_LOG = logging.getLogger("kerasdrop")


class _Plan:
    """What `predict` compiles for one model: prefix and chunk samplers."""

    def __init__(self, model, reuse_prefix):
        if reuse_prefix:
            self.prefix, self.body = split_deterministic_prefix(model)
        else:
            self.prefix, self.body = None, model
        self.head = tasks_lib.head_activation(model)
        # Whether a batch has run through the split (`_run`'s fallback).
        self.proven = self.prefix is None
        self.row_bytes = _row_bytes(self.body)
        self.samplers = {}

    def sampler(self, chunk, task, keep_samples, consistent=None, engine=None):
        """`consistent`: None, or the total number of samples `T` (the chunk's
        offset among them is the sampler's `offset` variable). `engine`:
        None, or `(key, noise_rows)` of a `kerasdrop.mc.devices` engine."""
        key = (chunk, task, keep_samples, consistent, engine)
        if key not in self.samplers:
            self.samplers[key] = _ChunkSampler(
                self.body,
                chunk,
                task,
                self.head,
                keep_samples,
                consistent,
                None if engine is None else engine[1],
                name="mc_sampler",
            )
        return self.samplers[key]


def _plan(model, reuse_prefix):
    with _PLANS_LOCK:
        plans = _PLANS.setdefault(model, {})
        if plans.get("rewrites") != graph.rewrite_count():
            plans.clear()  # a layer was swapped in place: traced samplers are stale
            plans["rewrites"] = graph.rewrite_count()
        if reuse_prefix not in plans:
            plans[reuse_prefix] = _Plan(model, reuse_prefix)
        return plans[reuse_prefix]


class _SplitFailed(Exception):
    """The prefix/suffix split of a plan failed on its first real batch."""


def _guarded(plan, call, *args):
    """`call(*args)`, its failure a `_SplitFailed` while `plan`'s split is
    unproven (Keras cut the graph by its declared shapes, which a layer may
    get wrong: XLNet's declare `(None, None)` for `(B, L, L)` tensors)."""
    if plan.proven:
        return call(*args)
    try:
        return call(*args)
    except Exception as error:
        raise _SplitFailed() from error


def _drop_split(model, error):
    """The whole-model plan, from now on also `model`'s `reuse_prefix` plan
    (until a rewrite); says why at debug level."""
    whole = _plan(model, False)
    with _PLANS_LOCK:
        _PLANS[model][True] = whole
    _LOG.debug(
        "kerasdrop.mc.predict: the deterministic prefix of model '%s' cannot "
        "run on its real inputs (%s: %s); sampling the whole model instead.",
        model.name,
        type(error).__name__,
        " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(error)).split())[:400],
    )
    return whole


# ----------------------------------------------------------------------
# predict
# ----------------------------------------------------------------------
def predict(
    model,
    x,
    samples=100,
    batch_size=None,
    seed=None,
    return_samples=False,
    task="auto",
    memory_budget=DEFAULT_MEMORY_BUDGET,
    reuse_prefix=True,
    verbose="auto",
    consistent=False,
):
    """Monte-Carlo dropout prediction: a `MCResult` of `samples` stochastic
    passes per input (kerasdrop dropout drops; how, on one device or
    several, with threads: `kerasdrop.mc.prediction`).

    Args:
        model: a `keras.Model` with at least one kerasdrop dropout layer
            (stock Keras or keras-hub dropout: `kerasdrop.convert(model)`).
        x: NumPy array (or list/dict of arrays for several inputs), or a
            batched `tf.data.Dataset` yielding `x` or `(x, y, ...)`.
        samples: `T`, the stochastic passes, in `[1, MAX_SAMPLES]`.
        batch_size: rows per batch (default 128; a dataset's own batches
            are used, split when larger).
        seed: optional int. The same seed gives exactly the same result
            (from any thread); the layers' own streams are left as they were.
        return_samples: keep all `(T, N, ...)` outputs in the result.
        task: "auto" (classification for a softmax or sigmoid head, else
            regression; warns on a linear multi-unit head), "regression",
            "classification", "logits" (a linear head of class logits:
            softmax, or sigmoid for one unit, per sample before averaging;
            a classification result), or "heteroscedastic" (last axis:
            mean and log-variance). Sigmoid units are independent labels.
        memory_budget: bytes of activations one compiled chunk may use.
        reuse_prefix: run the deterministic prefix once per batch (or the
            whole model where the prefix fails: `kerasdrop.mc.prediction`).
        verbose: "auto" (a progress bar for `PROGRESS_SAMPLES`), 0 or 1.
        consistent: if True, sample `t` uses the same masks for every
            input, batch and chunk (baal's consistent dropout, as BatchBALD
            needs); otherwise every row draws its own masks.

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> model = keras.Sequential([
    ...     keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
    ...     kerasdrop.layers.Dropout(0.2), keras.layers.Dense(1)])
    >>> result = kerasdrop.mc.predict(model, np.ones((8, 4)), samples=50, seed=0)
    >>> result.mean.shape, result.std.shape
    ((8, 1), (8, 1))
    """
    _checks.check_model(model)
    options = _check_counts(samples, batch_size, seed, memory_budget)
    options |= _check_flags(task, return_samples, reuse_prefix, verbose, consistent)
    with guards.exclusive(_shared_state(model)):
        job = _prepare(model, x, options)
        outputs = _run(job)
    return _result(job, outputs)


def _shared_state(model):
    """What two `predict` calls must not use at once: the model and its
    kerasdrop layers (found without reading a variable: on JAX a call
    replaces the arrays of the variables it runs)."""
    layers = graph.all_layers(model)
    return [model, *(x for x in layers if isinstance(x, base_lib.DropoutBase))]


@dataclasses.dataclass
class _Job:
    """One `predict` call, checked: the model, its layers and plan, the
    inputs, the task and the options."""

    model: keras.Model
    layers: list
    plan: _Plan
    x: object
    task: str
    check: object  # None, or the probability check of each chunk
    samples: int
    batch_size: int
    memory_budget: int
    seed: object  # None or an int
    return_samples: bool
    verbose: object
    consistent: bool
    runner: object  # a `kerasdrop.mc.devices` engine
    progbar: object = None  # None, or a `keras.utils.Progbar` of sampled rows


def _check_counts(samples, batch_size, seed, memory_budget):
    """`predict`'s integer arguments, checked, as a dict of ints."""
    return {
        "samples": _checks.check_int("samples", samples, 1, MAX_SAMPLES),
        "batch_size": _checks.check_int("batch_size", batch_size, 1, allow_none=True),
        "seed": _checks.check_int("seed", seed, minimum=0, allow_none=True),
        "memory_budget": _checks.check_int("memory_budget", memory_budget, 1),
    }


def _check_flags(task, return_samples, reuse_prefix, verbose, consistent):
    """`predict`'s other plain arguments, checked, as a dict."""
    for name, value in (
        ("return_samples", return_samples),
        ("reuse_prefix", reuse_prefix),
        ("consistent", consistent),
    ):
        _checks.check_bool(name, value)
    _checks.check_type("task", task, str, f"one of {tasks_lib.TASKS}")
    _checks.check_choice("task", task, tasks_lib.TASKS)
    if not (isinstance(verbose, str) or _checks.is_int(verbose)):
        raise _checks.type_error("verbose", "'auto', 0 or 1", verbose)
    if verbose not in ("auto", 0, 1):
        raise _checks.value_error("verbose", "'auto', 0 or 1", verbose)
    return {
        "task": task,
        "return_samples": return_samples,
        "reuse_prefix": reuse_prefix,
        "verbose": verbose,
        "consistent": consistent,
    }


def _prepare(model, x, options):
    """Checks the model, the task against its head and the inputs; returns
    the `_Job` to run (`model` is a `keras.Model`)."""
    layers, model_outputs = _check_predict_model(model)
    task = options.pop("task")
    tasks_lib.check_task(task, model, model_outputs)
    x = inputs_lib.check_x(x)
    if task == "auto":
        task = tasks_lib.auto_task(model, model_outputs)
    _warn_if_all_zero(model, layers)
    check = None
    if task == "classification" and tasks_lib.head_activation(model) is None:

        def check(bounds):
            tasks_lib.check_probabilities(bounds, model.name)

    plan = _plan(model, options.pop("reuse_prefix"))
    runner = devices.runner(model)
    return _Job(model, layers, plan, x, task, check, runner=runner, **options)


def _check_predict_model(model):
    """The kerasdrop layers and symbolic outputs of a model `predict` takes."""
    layers = switch_lib.reachable_layers(model, "kerasdrop.mc.predict")
    if not model.built:
        raise _checks.invalid_value(
            "model",
            "Expected a built model.",
            f"model '{model.name}' that is not built",
        )
    model_outputs = keras.tree.flatten(getattr(model, "outputs", None) or [])
    if len(model_outputs) > 1:
        raise _checks.invalid_value(
            "model",
            "Expected a model with one output; wrap the output you want in a "
            "one-output Functional model.",
            f"model '{model.name}' with {len(model_outputs)} outputs",
        )
    return layers, model_outputs


def _warn_if_all_zero(model, layers):
    if all(layer.rate == 0.0 for layer in layers):
        warnings.warn(
            f"kerasdrop.mc.predict: every kerasdrop dropout rate of model "
            f"'{model.name}' is 0 (e.g. after an early-dropout schedule), so "
            "all samples are equal and the uncertainty is exactly zero.",
            stacklevel=4,
        )


def _run(job):
    """The batch loop: `(moments, samples or None)` per batch, with the
    layers' generators seeded (and put back) and a progress bar."""
    total_rows = None if inputs_lib.is_dataset(job.x) else inputs_lib.row_count(job.x)
    batch_size = job.batch_size
    if batch_size is None and total_rows:  # a dataset's first batch sets it
        batch_size = min(DEFAULT_BATCH_SIZE, total_rows)
    outputs, start = [], 0
    with job.runner.scope(), guards.seeded(job.layers, job.seed):
        rewind = guards.rewinder(job.layers) if job.consistent else None
        batches = inputs_lib.batches(job.x, batch_size or 2**31 - 1)
        for index, batch in enumerate(batches):
            batch_size = batch_size or inputs_lib.row_count(batch)
            guards.check_finite_inputs(job.model.name, batch, start)
            inputs_lib.check_batch(job.model, batch, index)
            rows = inputs_lib.row_count(batch)
            if index == 0:
                job.progbar = _progress_bar(job, batch_size, total_rows)
            batch = inputs_lib.pad(batch, batch_size)
            outputs.append(_batch(job, batch, (start, rows), rewind))
            start += rows
    if not outputs:
        raise _checks.invalid_value(
            "x", "Expected at least one row.", "x (a dataset) with no batches"
        )
    return outputs


def _chunk(job, batch_size):
    """Samples per compiled call: one chunk's activations fit the budget."""
    chunk = job.memory_budget // (job.plan.row_bytes * batch_size)
    return max(1, min(job.samples, chunk))


def _progress_bar(job, batch_size, total_rows):
    """A Keras progress bar of sampled rows when asked (`verbose=1`) or for
    long runs (`PROGRESS_SAMPLES` sampled rows, or 50 calls)."""
    batches = -(-total_rows // batch_size) if total_rows else 1
    calls = -(-job.samples // _chunk(job, batch_size)) * batches
    sampled = job.samples * (total_rows or 0)
    long_run = calls >= 50 or sampled >= PROGRESS_SAMPLES
    if job.verbose == 1 or (job.verbose == "auto" and long_run):
        return keras.utils.Progbar(sampled or None, unit_name="sample")
    return None


def _batch(job, batch, rows, rewind):
    """`_sample_batch`; on the first batch through a prefix/suffix split
    that fails, the generators put back and the whole model instead (its
    errors are the caller's), for this call and the later ones."""
    if job.plan.proven:
        return _sample_batch(job, batch, rows, rewind)
    put_back = guards.rewinder(job.layers)
    try:
        result = _sample_batch(job, batch, rows, rewind)
    except _SplitFailed as failed:
        put_back()
        job.plan = _drop_split(job.model, failed.__cause__)
        return _sample_batch(job, batch, rows, rewind)
    job.plan.proven = True
    return result


def _sample_batch(job, batch, rows, rewind=None):
    """All `T` samples of one batch (padded to the batch size; `rows`:
    `(index of its first row in x, its real rows)`), chunk by chunk,
    merged; on several devices, padded further and split over them
    (`job.runner`)."""
    (start, rows), plan, runner = rows, job.plan, job.runner
    batch_size = inputs_lib.row_count(batch)
    chunk = _chunk(job, batch_size)
    placed = runner.place(inputs_lib.pad(batch, runner.padded(batch_size)))
    body_inputs = placed
    if plan.prefix is not None:
        body_inputs = _guarded(plan, runner.prefix, plan.prefix, placed)
    engine = None
    if runner.key is not None:
        engine = (runner.key, runner.noise_rows(batch_size))
    total, count, kept = None, 0, []
    while count < job.samples:
        size = min(chunk, job.samples - count)
        consistent = None if rewind is None else job.samples
        sampler = plan.sampler(size, job.task, job.return_samples, consistent, engine)
        if rewind is not None:  # the same generator states, this chunk's masks
            rewind()
            sampler.offset.assign(count)
        chunk_stats = _guarded(plan, runner.sample, sampler, body_inputs)
        finite = chunk_stats.pop("finite")
        guards.check_finite(job.model.name, finite, start, rows)
        bounds = chunk_stats.pop("bounds", None)
        if job.check is not None:
            job.check(np.asarray(bounds))
        if job.return_samples:
            kept.append(np.asarray(chunk_stats.pop("samples"))[:, :rows])
        total = stats_lib.merge(total, count, chunk_stats, size)
        count += size
        if job.progbar is not None:
            job.progbar.add(size * rows)
    total = {key: value[:rows] for key, value in total.items()}
    return total, (np.concatenate(kept, axis=0) if job.return_samples else None)


def _result(job, outputs):
    """The `MCResult` of the merged moments of every batch."""
    moments = {
        key: ops.convert_to_tensor(
            np.concatenate([o[0][key] for o in outputs], axis=0).astype("float32")
        )
        for key in outputs[0][0]
    }
    task = "classification" if job.task == "logits" else job.task
    kind = tasks_lib.output_kind(job.task, job.plan.head, moments["mean"].shape[-1])
    fields = {
        key: np.asarray(ops.convert_to_numpy(value))
        for key, value in stats_lib.summary(moments, job.samples, kind).items()
    }
    if fields.get("predicted_class") is not None:
        fields["predicted_class"] = fields["predicted_class"].astype("int64")
    samples = None
    if job.return_samples:
        samples = np.concatenate([o[1] for o in outputs], axis=1)
    return MCResult(task, job.samples, samples=samples, **fields)
