"""Monte-Carlo dropout: switch dropout on at inference, and sample fast.

Two ways to make kerasdrop dropout layers drop at inference while every
other layer (BatchNormalization included) stays in inference mode:

- `with kerasdrop.mc.sampling(model): ...` for a block of code (that
  model's dropout, in the calling thread);
- `mc=True` on a layer (or `kerasdrop.mc.enable(model)`): always on.

`kerasdrop.mc.predict(model, x, samples=T)` draws T samples in one compiled
pass per batch and returns a `MCResult`.

Models built with stock Keras dropout layers go through
`kerasdrop.convert(model)` first.
"""

import contextlib
import functools
import numbers
import reprlib
import threading
import warnings
import weakref

import keras
import numpy as np
from keras import ops

from kerasdrop import graph
from kerasdrop import metrics as metrics_lib
from kerasdrop.layers import base as base_lib


def _check_model(model, argument="model"):
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"Invalid value received for argument `{argument}`. Expected a "
            f"`keras.Model`. Received: {argument}={model!r} of type "
            f"{type(model).__name__}"
        )


def _sampled_layers(model):
    """The kerasdrop layers `sampling(model)` switches on (checks `model`)."""
    items = list(model) if isinstance(model, (list, tuple)) else [model]
    expected = (
        "Expected a `keras.Model` or layer holding kerasdrop dropout layers, "
        "or a list of them (only their dropout samples)"
    )
    for item in items:
        if not isinstance(item, keras.layers.Layer):
            raise TypeError(
                f"Invalid value received for argument `model`. {expected}. "
                f"Received: model={model!r} of type {type(model).__name__}"
            )
    if not items:
        raise ValueError(
            f"Invalid value received for argument `model`. {expected}. "
            f"Received: model={model!r}"
        )
    layers = []
    for item in items:
        if isinstance(item, base_lib.DropoutBase):
            layers.append(item)
        else:
            layers.extend(_reachable_layers(item, "kerasdrop.mc.sampling"))
    return items, layers


@contextlib.contextmanager
def sampling(model=None):
    """Makes the kerasdrop dropout layers of `model` drop at inference inside
    the block, in the calling thread only.

    All other layers keep their inference behaviour (BatchNormalization uses
    its moving statistics and does not update them), unlike
    `model(x, training=True)`. The switch is per thread and per layer: other
    models, and other threads calling `model`, stay deterministic.
    `model(x)`, `model.predict` and `model.evaluate` sample inside the block
    and not outside it: the compiled predict/evaluate functions of `model`
    (and of the models nested in it) are kept per mode, so none traced
    inside the block runs outside it or in another thread. A function you
    trace yourself inside the block (`tf.function`, `jax.jit`, or the
    `predict` of another model that calls `model`) keeps sampling: pass
    the model you call.

    Args:
        model: a `keras.Model` (or a layer) holding kerasdrop dropout
            layers, or a list of them. Required (a `TypeError` without): a
            switch for every model would reach models that did not ask.
            Stock Keras dropout: `kerasdrop.convert(model)` first.

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)),
    ...                           kerasdrop.layers.Dropout(0.5)])
    >>> x = np.ones((1, 4), "float32")
    >>> with kerasdrop.mc.sampling(model):
    ...     y = model.predict(x, verbose=0)  # some units dropped, others x2
    >>> bool(np.all(model.predict(x, verbose=0) == x))  # outside: identity
    True
    """
    items, layers = _sampled_layers(model)
    for item in items:
        for layer in [item, *graph.all_layers(item)]:
            if isinstance(layer, keras.Model):
                _ModeFunctions.install(layer)
    with base_lib.mc_sampling_layers(layers):
        yield


def sampling_traced(model):
    """Samples every kerasdrop layer of `model` in a function being traced.

    For code that traces its own function around the block (`mc.predict`'s
    samplers, export's MC signature): unlike `sampling`, it checks nothing,
    reads no layer state (safe while tracing) and leaves compiled functions
    alone; only the calling thread samples.

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)),
    ...                           kerasdrop.layers.Dropout(0.5, seed=1)])
    >>> with kerasdrop.mc.sampling_traced(model):
    ...     y = model(np.ones((1, 4), "float32"))
    >>> set(np.asarray(y).ravel().tolist()) <= {0.0, 2.0}
    True
    """
    layers = [
        layer
        for layer in graph.all_layers(model)
        if isinstance(layer, base_lib.DropoutBase)
    ]
    return base_lib.mc_sampling_layers(layers)


class _StandIn:
    """Stands in for a model while Keras builds one of its compiled
    functions: Keras stores the function here, not on the model (another
    thread may be reading the model's own)."""

    def __init__(self, model):
        object.__setattr__(self, "_model", model)

    def __getattr__(self, name):
        value = getattr(self._model, name)
        if name.endswith("_step") and callable(value):
            # A fresh callable per build: `jax.jit` caches traces by
            # function, and two bound methods of one model compare equal.
            return functools.partial(value)
        return value

    def __setattr__(self, name, value):
        self.__dict__[name] = value


class _ModeFunctions:
    """A model's `predict_function` or `test_function` once the model has
    been passed to `sampling()`: one compiled function per set of its
    kerasdrop layers the calling thread samples, picked at every call."""

    def __init__(self, model, kind):
        self.model = model
        self.kind = kind
        self.ids = frozenset(id(layer) for layer in graph.dropout_layers(model))
        self.functions = {}
        self.lock = threading.Lock()

    @classmethod
    def install(cls, model):
        """Puts per-mode functions on `model`, now and whenever Keras builds
        them again (after `graph.reset_compiled`, a rewrite, `mc.enable`)."""
        for kind in ("predict", "test"):
            make = f"make_{kind}_function"
            if make not in model.__dict__:
                object.__setattr__(model, make, functools.partial(cls.make, model, kind))
            cls.make(model, kind)

    @classmethod
    def make(cls, model, kind, force=False):
        """`model.make_{kind}_function(force)` of a model with per-mode functions."""
        name = f"{kind}_function"
        if force or not isinstance(getattr(model, name, None), cls):
            setattr(model, name, cls(model, kind))
        return getattr(model, name)

    def __call__(self, *args):
        mode = self.ids & base_lib.mc_sampled_ids()
        function = self.functions.get(mode)
        if function is None:
            with self.lock:
                if mode not in self.functions:
                    stand_in = _StandIn(self.model)
                    build = getattr(type(self.model), f"make_{self.kind}_function")
                    build(stand_in, force=True)
                    self.functions[mode] = stand_in.__dict__[f"{self.kind}_function"]
                function = self.functions[mode]
        return function(*args)


def enable(model, enabled=True):
    """Sets `mc=enabled` on every kerasdrop dropout layer of `model`.

    MC layers drop at inference too, in every later call, `predict` and
    export of the model (until `disable(model)`). Returns the layers changed.

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
    ...                           kerasdrop.layers.Dropout(0.2)])
    >>> [layer.mc for layer in kerasdrop.mc.enable(model)]
    [True]
    """
    _check_model(model)
    base_lib.check_mc(enabled)
    layers = _reachable_layers(model, "kerasdrop.mc.enable")
    for layer in layers:
        layer.mc = enabled
    graph.reset_compiled(model)
    return layers


def disable(model):
    """Sets `mc=False` on every kerasdrop dropout layer of `model`."""
    return enable(model, False)


def _reachable_layers(model, who):
    """The kerasdrop layers of `model`; warns once about the dropout it cannot
    sample, and raises when there is none (pointing to `convert` only when
    `convert` would find something to convert)."""
    sites = graph.find(model)
    layers = [site.layer for site in sites if site.status == "kerasdrop"]
    others = graph.unreached(model, sites)
    if layers:
        graph.warn_unreached(model, who, others, stacklevel=4)
        return layers
    convertible = [site for site in sites if site.status == "convertible"]
    if convertible:
        hint = (
            f" It has {len(convertible)} dropout layer(s) kerasdrop can convert "
            f"({', '.join(site.path for site in convertible)}), which cannot "
            "sample at inference as they are: convert them with "
            "`model = kerasdrop.convert(model)`."
        )
    elif others:
        hint = " Its dropout is out of kerasdrop's reach: " + "; ".join(
            graph.describe(site) for site in others
        ) + "."
    else:
        hint = " MC sampling would return the same output every time."
    raise ValueError(
        "Invalid value received for argument `model`. Expected a model with "
        f"at least one kerasdrop dropout layer.{hint} "
        f"Received: model '{model.name}' with no kerasdrop dropout layer"
    )


# ----------------------------------------------------------------------
# mc.predict
# ----------------------------------------------------------------------
TASKS = ("auto", "regression", "classification", "logits", "heteroscedastic")
DEFAULT_BATCH_SIZE = 128
DEFAULT_MEMORY_BUDGET = 128 * 2**20


class MCResult:
    """What `kerasdrop.mc.predict` returns.

    Attributes (NumPy arrays; `N` inputs, `T` samples):
        task: "regression", "classification" or "heteroscedastic".
        samples_count: `T`.
        mean: predictive mean, shape of one model output for `N` inputs
            (for classifiers: the mean probabilities).
        variance, std: variance / standard deviation over the `T` samples
            (for heteroscedastic heads: of the predicted means, the
            epistemic part).
        samples: `(T, N, ...)` stacked outputs when `return_samples=True`,
            else None.
    Classification only (softmax rows, or a single sigmoid unit read as
    `[1 - p, p]`): `predictive_entropy`, `expected_entropy`,
    `mutual_information` (BALD), `variation_ratio`, `max_probability`,
    `predicted_class`.
    Heteroscedastic only (`[..., 0]` mean, `[..., 1]` log-variance):
    `aleatoric` (mean predicted variance), `epistemic` (variance of the
    means), `total`.
    """

    def __init__(self, task, samples_count, stats, samples=None):
        self.task = task
        self.samples_count = samples_count
        self.samples = samples
        self.mean = stats["mean"].astype("float32")
        self.variance = stats["variance"].astype("float32")
        if task == "classification":
            probs = np.clip(_two_column(stats["mean"]), 0.0, 1.0)
            pred_entropy = metrics_lib._entropy(probs)
            expected = stats["entropy_sum"] / samples_count
            self.predictive_entropy = pred_entropy.astype("float32")
            self.expected_entropy = expected.astype("float32")
            self.mutual_information = np.maximum(pred_entropy - expected, 0.0).astype(
                "float32"
            )
            votes = stats["votes"]
            self.variation_ratio = (1.0 - votes.max(axis=-1) / samples_count).astype(
                "float32"
            )
            self.max_probability = probs.max(axis=-1).astype("float32")
            self.predicted_class = probs.argmax(axis=-1)
        elif task == "heteroscedastic":
            self.aleatoric = (stats["aleatoric_sum"] / samples_count).astype("float32")
            self.epistemic = self.variance
            self.total = (self.aleatoric + self.epistemic).astype("float32")

    @property
    def std(self):
        return np.sqrt(self.variance)

    def __repr__(self):
        return (
            f"<MCResult task={self.task} samples={self.samples_count} "
            f"mean.shape={self.mean.shape}>"
        )


def _two_column(probs):
    probs = np.asarray(probs, dtype="float64")
    if probs.shape[-1] == 1:
        return np.concatenate([1.0 - probs, probs], axis=-1)
    return probs


class _ChunkSampler(keras.Model):
    """Runs `chunk` stochastic passes of `body` on one batch, stacked along
    the batch axis, and returns the chunk's statistics (not the samples,
    unless asked)."""

    def __init__(self, body, chunk, task, keep_samples, consistent=None, **kwargs):
        super().__init__(**kwargs)
        self.body = body
        self.chunk = chunk
        self.task = task
        self.keep_samples = keep_samples
        self.consistent = consistent
        # Where this chunk's samples start among the T (consistent masks):
        # a variable, so one trace serves every chunk.
        self.offset = self.add_weight(
            name="offset", shape=(), dtype="int32", initializer="zeros", trainable=False
        )

    def call(self, inputs):
        flat = keras.tree.flatten(inputs)
        batch = ops.shape(flat[0])[0]
        tiled = keras.tree.map_structure(
            lambda t: ops.tile(t, [self.chunk] + [1] * (len(t.shape) - 1)),
            inputs,
        )
        groups = base_lib.sample_groups(
            self.chunk, self.consistent or self.chunk, self.offset.value,
            consistent=self.consistent is not None,
        )
        with sampling_traced(self.body), groups:
            outputs = self.body(tiled, training=False)
        outputs = ops.cast(outputs, "float32")
        if self.task == "heteroscedastic":
            _check_heteroscedastic(outputs.shape, self.body.name)
        if self.task == "logits":  # probabilities per sample, then averaged
            if outputs.shape[-1] == 1:
                outputs = ops.sigmoid(outputs)
            else:
                outputs = ops.softmax(outputs, axis=-1)
        outputs = ops.reshape(outputs, (self.chunk, batch) + tuple(outputs.shape[1:]))
        stats = {}
        if self.task == "heteroscedastic":
            means = outputs[..., 0]
            stats["aleatoric_sum"] = ops.sum(ops.exp(outputs[..., 1]), axis=0)
            reduced = means
        else:
            reduced = outputs
        chunk_mean = ops.mean(reduced, axis=0)
        stats["mean"] = chunk_mean
        stats["m2"] = ops.sum(ops.square(reduced - chunk_mean), axis=0)
        if self.task in ("classification", "logits"):
            probs = ops.clip(outputs, 0.0, 1.0)
            if probs.shape[-1] == 1:
                probs = ops.concatenate([1.0 - probs, probs], axis=-1)
            logs = ops.log(ops.where(probs > 0, probs, ops.ones_like(probs)))
            stats["entropy_sum"] = ops.sum(-ops.sum(probs * logs, axis=-1), 0)
            votes = ops.one_hot(ops.argmax(probs, axis=-1), probs.shape[-1])
            stats["votes"] = ops.sum(votes, axis=0)
        if self.task == "classification":
            off = ops.abs(ops.sum(outputs, axis=-1) - 1.0)
            stats["bounds"] = ops.stack(
                [
                    ops.min(outputs),
                    ops.max(outputs),
                    ops.max(off) if outputs.shape[-1] != 1 else ops.zeros(()),
                ]
            )
        if self.keep_samples:
            stats["samples"] = outputs
        return stats


# ----------------------------------------------------------------------
# The deterministic prefix (`kerasdrop.graph` cuts the graph).
# ----------------------------------------------------------------------
split_deterministic_prefix = graph.split_deterministic_prefix


def _row_bytes(body):
    """Rough bytes per example that one pass through `body` keeps alive."""
    tensors = graph.node_outputs(body)
    if tensors is None:
        # Subclassed model: layers unknown; assume a 64 KiB activation path.
        return 64 * 2**10
    return 4 * 2 * sum(_size(tensor.shape) for tensor in tensors)


def _size(shape):
    size = 1
    for dim in shape[1:]:
        size *= dim if dim else 1
    return size


# ----------------------------------------------------------------------
# Inputs.
# ----------------------------------------------------------------------
def _is_dataset(x):
    return hasattr(x, "as_numpy_iterator") and hasattr(x, "element_spec")


def _x_of(element):
    # Keras' convention: a tuple is (x,), (x, y) or (x, y, sample_weight).
    if isinstance(element, tuple) and 1 <= len(element) <= 3:
        return element[0]
    return element


def _rows(x):
    return int(np.shape(keras.tree.flatten(x)[0])[0])


def _take(x, start, stop):
    return keras.tree.map_structure(lambda a: a[start:stop], x)


def _pad(x, rows):
    """Pads every array of `x` to `rows` rows by repeating its last row."""

    def pad(a):
        missing = rows - a.shape[0]
        if missing <= 0:
            return a
        return np.concatenate([a, np.repeat(a[-1:], missing, axis=0)], axis=0)

    return keras.tree.map_structure(pad, x)


def _to_numpy(x):
    return keras.tree.map_structure(
        lambda a: (
            np.asarray(a, dtype="float32")
            if np.asarray(a).dtype.kind in "fiub"
            else np.asarray(a)
        ),
        x,
    )


def _batches(x, batch_size):
    """Yields NumPy batches of at most `batch_size` rows."""
    if _is_dataset(x):
        for element in x.as_numpy_iterator():
            data = _to_numpy(_x_of(element))
            rows = _rows(data)
            for start in range(0, rows, batch_size):
                yield _take(data, start, min(rows, start + batch_size))
        return
    rows = _rows(x)
    for start in range(0, rows, batch_size):
        yield _take(x, start, min(rows, start + batch_size))


def _check_batch(model, batch, index):
    flat = keras.tree.flatten(batch)
    for array in flat:
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise ValueError(
                "Invalid value received for argument `x`. Expected finite "
                f"values. Received: x with NaN or inf in batch {index}"
            )
    model_inputs = getattr(model, "inputs", None)
    if not model_inputs:
        return
    expected = keras.tree.flatten(model_inputs)
    if isinstance(batch, dict):
        names = [spec.name for spec in expected]
        if sorted(batch) != sorted(names):
            raise ValueError(
                "Invalid value received for argument `x`. Expected a dict "
                f"with the keys {sorted(names)} (the inputs of model "
                f"'{model.name}'). Received: x with keys {sorted(batch)}"
            )
        flat = [batch[name] for name in names]
    if len(expected) != len(flat):
        raise ValueError(
            "Invalid value received for argument `x`. Expected "
            f"{len(expected)} input array(s) for model '{model.name}'. "
            f"Received: x with {len(flat)} array(s)"
        )
    for spec, array in zip(expected, flat):
        _check_array(spec, array, model.name)


def _check_array(spec, array, name):
    """One input array against the model's input `spec`: dtype and rows."""
    if array.dtype.kind not in "fiub" and spec.dtype != "string":
        raise TypeError(
            "Invalid value received for argument `x`. Expected numeric "
            f"arrays for input '{spec.name}' ({spec.dtype}) of model "
            f"'{name}'. Received: x with an array of dtype {array.dtype}"
        )
    want = tuple(spec.shape[1:])
    got = tuple(array.shape[1:])
    if len(want) != len(got) or any(
        w is not None and w != g for w, g in zip(want, got)
    ):
        raise ValueError(
            "Invalid value received for argument `x`. Expected rows of "
            f"shape {want} for input '{spec.name}' of model "
            f"'{name}'. Received: x with rows of shape {got}"
        )


# ----------------------------------------------------------------------
# Task, seeds, cache.
# ----------------------------------------------------------------------
def _layer_activation(layer):
    # A Concrete Dropout wrapper's output is its wrapped layer's.
    if isinstance(layer, base_lib.DropoutBase) and hasattr(layer, "layer"):
        layer = layer.layer
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    name = getattr(getattr(layer, "activation", None), "__name__", None)
    return name if name in ("softmax", "sigmoid") else None


def output_activation(tensor, depth=0):
    """"softmax", "sigmoid" or None: the activation producing a symbolic
    `tensor`, looking through nested models, dropout layers (they pass it
    on) and Concrete Dropout wrappers."""
    found = graph.producer(tensor)
    if found is None or depth > 16:
        return None
    layer, index, inputs = found
    if isinstance(layer, keras.Model):
        outputs = keras.tree.flatten(layer.outputs)
        if index < len(outputs):
            return output_activation(outputs[index], depth + 1)
        return None
    activation = _layer_activation(layer)
    if activation is None and inputs and (
        (isinstance(layer, base_lib.DropoutBase) and not hasattr(layer, "layer"))
        or graph.is_dropout_layer(layer)
        or isinstance(layer, keras.layers.Identity)
    ):
        return output_activation(inputs[0], depth + 1)
    return activation


def _head_activation(model):
    """"softmax", "sigmoid" or None: the activation of `model`'s output (for
    a subclassed model, of its last layer: the best guess)."""
    outputs = getattr(model, "outputs", None)
    if outputs:
        return output_activation(keras.tree.flatten(outputs)[0])
    return _layer_activation(model.layers[-1]) if model.layers else None


def infer_task(model):
    """"classification" if the model's output comes from a softmax or
    sigmoid (through dropout and Concrete wrappers), else "regression"."""
    _check_model(model)
    return "classification" if _head_activation(model) else "regression"


def _auto_task(model, outputs):
    """`infer_task`, warning when a linear multi-unit head may be logits."""
    task = infer_task(model)
    units = outputs[0].shape[-1] if outputs else None
    if task == "regression" and units is not None and units > 1:
        warnings.warn(
            f"kerasdrop.mc.predict: model '{model.name}' ends in a linear "
            f"output with {units} units, treated as regression (mean and "
            "variance per unit). If these are class logits (keras-hub "
            "classifiers output logits), pass `task='logits'` to average "
            "softmax probabilities instead.",
            stacklevel=3,
        )
    return task


def _check_task(task, model, outputs):
    """The head-dependent part of `task`: "logits" on a head that already
    ends in softmax/sigmoid, "heteroscedastic" without 2 output values."""
    activation = _head_activation(model)
    if task == "logits" and activation:
        raise ValueError(
            "Invalid value received for argument `task`. Expected "
            "task='logits' for a linear head of class logits; the output of "
            f"model '{model.name}' already is probabilities ({activation}): "
            f"pass task='classification'. Received: task={task!r}"
        )
    if task == "heteroscedastic" and outputs:
        _check_heteroscedastic(outputs[0].shape, model.name)


def _check_heteroscedastic(shape, name):
    if shape[-1] != 2:
        raise ValueError(
            "Invalid value received for argument `task`. Expected "
            "task='heteroscedastic' for a model whose output's last axis "
            f"holds 2 values (mean, log-variance); model '{name}' outputs "
            f"shape {tuple(shape)}. Received: task='heteroscedastic'"
        )


def _check_probabilities(bounds, name):
    """Refuses task="classification" on outputs that are not probabilities:
    `bounds` holds the chunk's min, max and largest `|row sum - 1|` (0 for
    one unit), checked when the head's activation is unknown."""
    low, high, off = (float(v) for v in bounds)
    tolerance = 1e-2  # float16/bfloat16 softmax rows
    if low >= -tolerance and high <= 1 + tolerance and off <= tolerance:
        return
    raise ValueError(
        "Invalid value received for argument `task`. Expected "
        "task='classification' for a model whose output is class "
        "probabilities (a final softmax or sigmoid, or values in [0, 1] with "
        "rows summing to 1); for class logits pass task='logits'. "
        f"Received: task='classification' for model '{name}', whose output "
        f"ranges over [{low:.4g}, {high:.4g}] with rows off 1 by up to "
        f"{off:.4g}"
    )


def _warn_if_all_zero(model, layers):
    if all(layer.rate == 0.0 for layer in layers):
        warnings.warn(
            f"kerasdrop.mc.predict: every kerasdrop dropout rate of model "
            f"'{model.name}' is 0 (e.g. after an early-dropout schedule), so "
            "all samples are equal and the uncertainty is exactly zero.",
            stacklevel=3,
        )


def _derived_seeds(seed, count):
    rng = np.random.default_rng(seed)
    return [int(s) for s in rng.integers(1, 2**31 - 1, size=count)]


@contextlib.contextmanager
def _seeded(layers, seed):
    """Runs the block with every dropout layer's generator reseeded from
    `seed` (when given); puts the generators' states back afterwards, and
    whenever the block raises (a refused call moves no random stream)."""
    generators = [layer.seed_generator for layer in layers]
    put_back = _rewinder(layers)
    if seed is not None:
        for generator, value in zip(generators, _derived_seeds(seed, len(generators))):
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


def _rewinder(layers):
    """A function that puts every layer's generator back to its state now:
    with it, each chunk of each batch draws the same noise (consistent
    masks)."""
    generators = [layer.seed_generator for layer in layers]
    saved = [ops.convert_to_numpy(g.state.value) for g in generators]

    def rewind():
        for generator, value in zip(generators, saved):
            generator.state.assign(value)

    return rewind


_PLANS = weakref.WeakKeyDictionary()


class _Plan:
    """What `predict` compiles for one model: prefix and chunk samplers."""

    def __init__(self, model, reuse_prefix):
        if reuse_prefix:
            self.prefix, self.body = split_deterministic_prefix(model)
        else:
            self.prefix, self.body = None, model
        self.row_bytes = _row_bytes(self.body)
        self.samplers = {}

    def sampler(self, chunk, task, keep_samples, consistent=None):
        """`consistent`: None, or the total number of samples `T` (the chunk's
        offset among them is the sampler's `offset` variable)."""
        key = (chunk, task, keep_samples, consistent)
        if key not in self.samplers:
            self.samplers[key] = _ChunkSampler(
                self.body, chunk, task, keep_samples, consistent, name="mc_sampler"
            )
        return self.samplers[key]


def _plan(model, reuse_prefix):
    plans = _PLANS.setdefault(model, {})
    if plans.get("rewrites") != graph.rewrite_count():
        plans.clear()  # a layer was swapped in place: traced samplers are stale
        plans["rewrites"] = graph.rewrite_count()
    if reuse_prefix not in plans:
        plans[reuse_prefix] = _Plan(model, reuse_prefix)
    return plans[reuse_prefix]


def _merge(total, count, chunk_stats, chunk):
    """Chan et al.'s pairwise update of mean/M2 plus plain sums."""
    stats = {k: np.asarray(v, dtype="float64") for k, v in chunk_stats.items()}
    if total is None:
        return stats
    n = count + chunk
    delta = stats["mean"] - total["mean"]
    total["m2"] = total["m2"] + stats["m2"] + delta**2 * count * chunk / n
    total["mean"] = total["mean"] + delta * chunk / n
    for key in ("entropy_sum", "votes", "aleatoric_sum"):
        if key in stats:
            total[key] = total[key] + stats[key]
    return total


def _check_int(name, value, minimum, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"Invalid value received for argument `{name}`. Expected an "
            f"integer >= {minimum}. Received: {name}={value!r} of type "
            f"{type(value).__name__}"
        )
    if value < minimum:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected an "
            f"integer >= {minimum}. Received: {name}={value!r}"
        )
    return int(value)


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
    """Monte-Carlo dropout prediction: `samples` stochastic passes per input.

    Every kerasdrop dropout layer drops (as inside `sampling()`), at any
    depth; all other layers run in inference mode. Dropout it cannot sample
    (stock layers not converted, RNN dropout) is named in one warning; a
    model where every rate is 0 warns too (the uncertainty would be zero). Per batch, the `T = samples` passes are
    stacked along the batch axis, in chunks sized so that one chunk's
    activations fit in `memory_budget` bytes, and reduced on the fly
    (running mean and variance, entropy sums, class votes): memory does not
    grow with `T` unless `return_samples=True`. For Functional and
    Sequential models the deterministic layers before the first dropout
    layer run once per batch and only the rest is sampled. The compiled
    functions are kept per model, so repeated calls do not retrace.

    Args:
        model: a `keras.Model` with at least one kerasdrop dropout layer
            (models with stock Keras or keras-hub dropout:
            `kerasdrop.convert(model)`).
        x: NumPy array (or list/dict of arrays for several inputs), or a
            batched `tf.data.Dataset` yielding `x` or `(x, y, ...)`.
        samples: int >= 1, the number `T` of stochastic passes.
        batch_size: rows per batch (default 128; a dataset's own batches
            are used, split when larger).
        seed: optional int. The same seed gives exactly the same result;
            the layers' own random streams are left where they were.
        return_samples: keep all `(T, N, ...)` outputs in the result.
        task: "auto" (classification when the model ends in softmax or
            sigmoid, else regression; warns on a linear multi-unit head),
            "regression", "classification", "logits" (a linear head of class
            logits, as keras-hub classifiers have: softmax, or sigmoid for
            one unit, per sample before averaging; the result is a
            classification result over probabilities), or "heteroscedastic"
            (last axis holds mean and log-variance).
        memory_budget: bytes of activations one compiled chunk may use.
        reuse_prefix: run the deterministic prefix once per batch.
        verbose: "auto" (a progress bar for long runs), 0 or 1.
        consistent: bool, default False. If True, the `T` masks are drawn
            once per call and sample `t` uses the same masks for every input,
            batch and chunk (baal's consistent dropout): per-sample
            predictions of different inputs are comparable, as BatchBALD
            needs, and do not depend on batching or row order. Otherwise
            every row draws its own masks.

    Returns:
        A `MCResult`.

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> model = keras.Sequential([
    ...     keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
    ...     kerasdrop.layers.Dropout(0.2), keras.layers.Dense(1)])
    >>> result = kerasdrop.mc.predict(model, np.ones((8, 4)), samples=50,
    ...                               seed=0)
    >>> result.mean.shape, result.std.shape
    ((8, 1), (8, 1))
    """
    _check_model(model)
    samples, batch_size, memory_budget, seed = _check_options(
        samples, batch_size, seed, return_samples, task, memory_budget,
        reuse_prefix, verbose, consistent,
    )
    layers, model_outputs = _check_predict_model(model)
    _check_task(task, model, model_outputs)
    x = _check_x(x)
    if task == "auto":
        task = _auto_task(model, model_outputs)
    _warn_if_all_zero(model, layers)
    check = None
    if task == "classification" and _head_activation(model) is None:
        check = functools.partial(_check_probabilities, name=model.name)
    plan = _plan(model, reuse_prefix)
    total_rows = None if _is_dataset(x) else _rows(x)
    if batch_size is None and total_rows:  # a dataset's first batch sets it
        batch_size = min(DEFAULT_BATCH_SIZE, total_rows)
    progbar = None
    outputs = []
    with _seeded(layers, seed):
        rewind = _rewinder(layers) if consistent else None
        for index, batch in enumerate(_batches(x, batch_size or 2**31 - 1)):
            if batch_size is None:
                batch_size = _rows(batch)
            _check_batch(model, batch, index)
            rows = _rows(batch)
            batch = _pad(batch, batch_size)
            chunk = max(1, min(samples, memory_budget // (plan.row_bytes * batch_size)))
            if progbar is None:
                calls = -(-samples // chunk) * (
                    -(-total_rows // batch_size) if total_rows else 1
                )
                if verbose == 1 or (verbose == "auto" and calls >= 50):
                    progbar = keras.utils.Progbar(total_rows, unit_name="input")
            outputs.append(
                _sample_batch(
                    plan, batch, rows, samples, chunk, task, return_samples, check,
                    rewind,
                )
            )
            if progbar is not None:
                progbar.add(rows)
    if not outputs:
        raise ValueError(
            "Invalid value received for argument `x`. Expected at least one "
            "row. Received: x (a dataset) with no batches"
        )
    stats = {
        key: np.concatenate([o[0][key] for o in outputs], axis=0)
        for key in outputs[0][0]
    }
    count = samples
    stats["variance"] = stats.pop("m2") / count
    kept = None
    if return_samples:
        kept = np.concatenate([o[1] for o in outputs], axis=1)
    result_task = "classification" if task == "logits" else task
    return MCResult(result_task, count, stats, kept)


def _check_predict_model(model):
    """The kerasdrop layers and symbolic outputs of a model `predict` takes."""
    layers = _reachable_layers(model, "kerasdrop.mc.predict")
    if not model.built:
        raise ValueError(
            "Invalid value received for argument `model`. Expected a built "
            f"model. Received: model '{model.name}' that is not built"
        )
    model_outputs = keras.tree.flatten(getattr(model, "outputs", None) or [])
    if len(model_outputs) > 1:
        raise ValueError(
            "Invalid value received for argument `model`. Expected a model "
            "with one output; wrap the output you want in a one-output "
            f"Functional model. Received: model '{model.name}' with "
            f"{len(model_outputs)} outputs"
        )
    return layers, model_outputs


def _check_options(
    samples, batch_size, seed, return_samples, task, memory_budget,
    reuse_prefix, verbose, consistent=False,
):
    """Checks `predict`'s plain arguments; returns the integers as ints."""
    samples = _check_int("samples", samples, 1)
    batch_size = _check_int("batch_size", batch_size, 1, allow_none=True)
    memory_budget = _check_int("memory_budget", memory_budget, 1)
    seed = _check_int("seed", seed, 0, allow_none=True)
    for name, value in (
        ("return_samples", return_samples),
        ("reuse_prefix", reuse_prefix),
        ("consistent", consistent),
    ):
        if not isinstance(value, bool):
            raise TypeError(
                f"Invalid value received for argument `{name}`. Expected a "
                f"bool. Received: {name}={value!r} of type {type(value).__name__}"
            )
    if not isinstance(task, str):
        raise TypeError(
            "Invalid value received for argument `task`. Expected one of "
            f"{TASKS}. Received: task={task!r} of type {type(task).__name__}"
        )
    if task not in TASKS:
        raise ValueError(
            "Invalid value received for argument `task`. Expected one of "
            f"{TASKS}. Received: task={task!r}"
        )
    if isinstance(verbose, bool) or not isinstance(verbose, (str, numbers.Integral)):
        raise TypeError(
            "Invalid value received for argument `verbose`. Expected "
            f"'auto', 0 or 1. Received: verbose={verbose!r} of type "
            f"{type(verbose).__name__}"
        )
    if verbose not in ("auto", 0, 1):
        raise ValueError(
            "Invalid value received for argument `verbose`. Expected "
            f"'auto', 0 or 1. Received: verbose={verbose!r}"
        )
    return samples, batch_size, memory_budget, seed


def _check_x(x):
    """`x` as `predict` reads it: a dataset, or the NumPy form of a
    structure of arrays with the same number (> 0) of rows."""
    if _is_dataset(x):
        return x
    leaves = keras.tree.flatten(x)
    if not leaves or not all(
        hasattr(a, "shape") and hasattr(a, "__array__") for a in leaves
    ):
        raise TypeError(
            "Invalid value received for argument `x`. Expected a NumPy array "
            "or tensor, a list/tuple/dict of them (one per model input), or a "
            "batched `tf.data.Dataset` yielding `x` or `(x, y, ...)`; collect "
            "a generator's or `keras.utils.PyDataset`'s batches with "
            "`np.concatenate`, or wrap it in `tf.data.Dataset.from_generator`. "
            f"Received: x={reprlib.repr(x)} of type {type(x).__name__}"
        )
    if isinstance(x, (list, tuple)) and len(x) == 1:
        x = x[0]
    x = _to_numpy(x)
    rows = {np.shape(a)[0] if np.ndim(a) else None for a in keras.tree.flatten(x)}
    if None in rows or len(rows) > 1:
        found = "a 0-d array" if None in rows else f"{sorted(rows)} rows"
        raise ValueError(
            "Invalid value received for argument `x`. Expected arrays with a "
            "leading batch axis, the same number of rows in each. Received: "
            f"x with {found}"
        )
    if rows == {0}:
        raise ValueError(
            "Invalid value received for argument `x`. Expected at least "
            "one row. Received: x with 0 rows"
        )
    return x


def _sample_batch(
    plan, batch, rows, samples, chunk, task, return_samples, check, rewind=None
):
    if plan.prefix is not None:
        body_inputs = plan.prefix.predict_on_batch(batch)
    else:
        body_inputs = batch
    total, count, kept = None, 0, []
    while count < samples:
        size = min(chunk, samples - count)
        if rewind is None:
            sampler = plan.sampler(size, task, return_samples)
        else:  # the same generator states, this chunk's slice of T masks
            rewind()
            sampler = plan.sampler(size, task, return_samples, samples)
            sampler.offset.assign(count)
        chunk_stats = sampler.predict_on_batch(body_inputs)
        bounds = chunk_stats.pop("bounds", None)
        if check is not None:
            check(np.asarray(bounds))
        if return_samples:
            kept.append(np.asarray(chunk_stats.pop("samples"))[:, :rows])
        total = _merge(total, count, chunk_stats, size)
        count += size
    total = {key: value[:rows] for key, value in total.items()}
    return total, (np.concatenate(kept, axis=0) if return_samples else None)
