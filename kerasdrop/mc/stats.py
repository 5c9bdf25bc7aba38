"""Monte-Carlo dropout statistics: tile -> sample -> reduce, in `keras.ops`.

The one computation behind `kerasdrop.mc.predict` (chunk by chunk, merged
across chunks and batches) and the `mc` signature of `kerasdrop.export`
(one traced call of `statistics`), on every backend:

1. `tile`: the inputs repeated `T` times along the batch axis;
2. `draw`: one call of the model on them with its kerasdrop dropout
   sampling (`sampling_traced`), outputs reshaped to `(T, N, ...)`;
3. `moments`: statistics that merge across chunks (`merge`): mean, sum of
   squared deviations, entropy sum, class votes, aleatoric sum;
4. `summary`: the final statistics of `T` samples from the moments.

What an output means is its kind:

- None: regression; mean and variance per unit.
- "softmax": each row is one categorical distribution.
- "sigmoid": each unit is an independent Bernoulli (a multi-label head; a
  single unit is a binary classifier). Entropies (`predictive_entropy`,
  `expected_entropy`, `mutual_information`) are summed over the units, one
  score per input; `variation_ratio`, `max_probability` and
  `predicted_class` are per unit, `(N, K)` (`(N,)` for one unit).
- "heteroscedastic": the last axis holds a mean and a log-variance.

The entropy is `kerasdrop.metrics.entropy` (natural log, `0 log 0 = 0`).

Example:

>>> import numpy as np, keras, kerasdrop
>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
...     kerasdrop.layers.Dropout(0.5, seed=1),
...     keras.layers.Dense(3, activation="sigmoid")])
>>> by_output = statistics(model, np.ones((2, 4), "float32"), 10, ["sigmoid"])
>>> list(by_output)  # keyed as `serving_default` names the outputs
['output_0']
>>> stats = by_output["output_0"]
>>> tuple(stats["mean"].shape), tuple(stats["predictive_entropy"].shape)
((2, 3), (2,))
>>> tuple(stats["max_probability"].shape)  # per unit: independent labels
(2, 3)
"""

import contextlib

import keras
import numpy as np
from keras import ops

from kerasdrop import graph
from kerasdrop import metrics as metrics_lib
from kerasdrop.layers import base as base_lib

#: Output kinds read as class probabilities.
CLASSIFIER_KINDS = ("softmax", "sigmoid")
#: Moments that add up across chunks (`merge`).
SUMS = ("entropy_sum", "votes", "aleatoric_sum")


# ----------------------------------------------------------------------
# What an output is.
# ----------------------------------------------------------------------
def layer_activation(layer):
    """ "softmax", "sigmoid" or None: the activation a layer ends in (a
    Concrete Dropout wrapper's is its wrapped layer's)."""
    if isinstance(layer, base_lib.DropoutBase) and hasattr(layer, "layer"):
        layer = layer.layer
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    name = getattr(getattr(layer, "activation", None), "__name__", None)
    return name if name in CLASSIFIER_KINDS else None


def output_activation(tensor, depth=0):
    """ "softmax", "sigmoid" or None: the activation producing a symbolic
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
    activation = layer_activation(layer)
    if (
        activation is None
        and inputs
        and (
            (isinstance(layer, base_lib.DropoutBase) and not hasattr(layer, "layer"))
            or graph.is_dropout_layer(layer)
            or isinstance(layer, keras.layers.Identity)
        )
    ):
        return output_activation(inputs[0], depth + 1)
    return activation


def flat_outputs(outputs):
    """Model outputs as a list in signature order (`output_keys`)."""
    if isinstance(outputs, dict):
        return [outputs[k] for k in sorted(outputs)]
    return list(keras.tree.flatten(outputs))


def output_keys(outputs):
    """The names a TensorFlow signature gives a model's `outputs`, in
    `flat_outputs` order: a dict's keys, else `output_0`, `output_1`, ...
    (the keys of `serving_default`, and the prefixes of the `mc` signature's
    statistics, in `kerasdrop.export`).

    >>> output_keys({"score": 0, "probs": 1}), output_keys([0, 1])
    (['probs', 'score'], ['output_0', 'output_1'])
    """
    if isinstance(outputs, dict):
        return [str(key) for key in sorted(outputs)]
    return [f"output_{i}" for i in range(len(keras.tree.flatten(outputs)))]


# ----------------------------------------------------------------------
# Tile and sample.
# ----------------------------------------------------------------------
def sampling_traced(model):
    """Samples every kerasdrop layer of `model` in a function being traced.

    For code that traces its own function around the block (`mc.predict`'s
    samplers, export's MC signature): unlike `mc.sampling`, it checks
    nothing, reads no layer state (safe while tracing) and leaves compiled
    functions alone; only the calling thread samples.

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


def tile(inputs, samples):
    """Every input repeated `samples` times along the batch axis."""
    return keras.tree.map_structure(
        lambda t: ops.tile(t, [samples] + [1] * (len(t.shape) - 1)), inputs
    )


def draw(model, inputs, samples, groups=None):
    """`samples` stochastic passes of `model` on `inputs` in one call.

    Returns one float32 tensor `(samples, N, ...)` per output
    (`flat_outputs` order); unknown dimensions (a sequence length) stay
    unknown. `groups`: a `base_lib.sample_groups` context (consistent
    masks) or None.
    """
    return list(draw_outputs(model, inputs, samples, groups).values())


def draw_outputs(model, inputs, samples, groups=None):
    """`draw`'s tensors in a dict keyed by `output_keys`."""
    batch = ops.shape(keras.tree.flatten(inputs)[0])[0]
    tiled = tile(inputs, samples)
    with sampling_traced(model), groups or contextlib.nullcontext():
        outputs = model(tiled, training=False)
    return {
        key: _by_sample(y, samples, batch)
        for key, y in zip(output_keys(outputs), flat_outputs(outputs))
    }


def _by_sample(y, samples, batch):
    """`y` `(samples * batch, ...)` as float32 `(samples, batch, ...)`; the
    dynamic shape (`ops.shape`), so unknown dimensions work when traced."""
    y = ops.cast(y, "float32")
    return ops.reshape(y, (samples, batch) + tuple(ops.shape(y)[1:]))


def probabilities(logits, kind):
    """Class probabilities of logits: sigmoid or softmax over the last axis."""
    if kind == "sigmoid":
        return ops.sigmoid(logits)
    return ops.softmax(logits, axis=-1)


# ----------------------------------------------------------------------
# Reduce.
# ----------------------------------------------------------------------
def _distributions(probs, kind, xp=ops):
    return metrics_lib.class_distributions(probs, kind == "sigmoid", xp)


def moments(samples, kind=None):
    """Statistics of samples `(T, N, ...)` that `merge` across chunks.

    `mean` and `m2` (sum of squared deviations from it) over the samples,
    and for classifiers `entropy_sum` (of the per-sample entropies) and
    `votes` (`(N, U, C)` counts of each sample's predicted class), for
    heteroscedastic heads `aleatoric_sum` (of the predicted variances; mean
    and `m2` are then those of the predicted means).
    """
    stats = {}
    values = samples
    if kind == "heteroscedastic":
        values = samples[..., 0]
        stats["aleatoric_sum"] = ops.sum(ops.exp(samples[..., 1]), axis=0)
    mean = ops.mean(values, axis=0)
    stats["mean"] = mean
    stats["m2"] = ops.sum(ops.square(values - mean), axis=0)
    if kind in CLASSIFIER_KINDS:
        dists = _distributions(samples, kind)
        stats["entropy_sum"] = ops.sum(metrics_lib.entropy(dists, ops), axis=0)
        classes = ops.one_hot(ops.argmax(dists, axis=-1), dists.shape[-1])
        stats["votes"] = ops.sum(classes, axis=0)
    return stats


def merge(total, count, stats, size):
    """`total` (moments of `count` samples, or None) merged with `stats`
    (moments of `size` more), in float64 NumPy: Chan et al.'s pairwise
    update of mean and `m2`, plain sums for the rest."""
    stats = {k: np.asarray(v, dtype="float64") for k, v in stats.items()}
    if total is None:
        return stats
    n = count + size
    delta = stats["mean"] - total["mean"]
    total["m2"] = total["m2"] + stats["m2"] + delta**2 * count * size / n
    total["mean"] = total["mean"] + delta * size / n
    for key in SUMS:
        if key in stats:
            total[key] = total[key] + stats[key]
    return total


def summary(stats, count, kind=None):
    """The statistics of `count` samples from their `moments` (tensors).

    Always `mean`, `variance` and `std` (population, over the samples);
    classifiers add `predictive_entropy` (of the mean), `expected_entropy`,
    `mutual_information` (their difference, >= 0) and, with votes,
    `variation_ratio`, `max_probability`, `predicted_class`;
    heteroscedastic heads add `aleatoric`, `epistemic` (the variance of the
    means) and `total`.
    """
    mean, variance = stats["mean"], stats["m2"] / count
    result = {"mean": mean, "variance": variance, "std": ops.sqrt(variance)}
    if kind in CLASSIFIER_KINDS:
        dists = _distributions(mean, kind)
        total = metrics_lib.entropy(dists, ops)
        expected = stats["entropy_sum"] / count
        result["predictive_entropy"] = total
        result["expected_entropy"] = expected
        result["mutual_information"] = ops.maximum(total - expected, 0.0)
    if kind in CLASSIFIER_KINDS and "votes" in stats:
        # Counts are exact: one rounding, (T - modal count) / T.
        others = count - ops.max(stats["votes"], axis=-1)
        result["variation_ratio"] = metrics_lib.per_input(others / count)
        result["max_probability"] = metrics_lib.per_input(ops.max(dists, axis=-1))
        result["predicted_class"] = metrics_lib.per_input(ops.argmax(dists, axis=-1))
    if kind == "heteroscedastic":
        aleatoric = stats["aleatoric_sum"] / count
        result.update(aleatoric=aleatoric, epistemic=variance)
        result["total"] = aleatoric + variance
    return result


def statistics(model, inputs, samples, kinds=None, consistent=False):
    """`summary` of `samples` MC passes of `model` on `inputs`, per output.

    The inputs are tiled `samples` times and go through `model` in one call
    with its kerasdrop dropout sampling; other layers stay in inference
    mode. `kinds`: one kind per output (None: regression for all; a single
    kind: for all). `consistent`: sample `t` uses one mask for every input
    (drawn as `kerasdrop.mc.predict(..., consistent=True)` draws it: the
    same generator states give the same masks). Returns a dict of
    `summary` dicts keyed by `output_keys`.
    """
    groups = None
    if consistent:
        groups = base_lib.sample_groups(samples, samples, 0, consistent=True)
    outputs = draw_outputs(model, inputs, samples, groups)
    if kinds is None or len(kinds) != len(outputs):
        kinds = list(kinds or [None])[:1] * len(outputs)
    return {
        key: summary(moments(y, kind), samples, kind)
        for (key, y), kind in zip(outputs.items(), kinds)
    }
