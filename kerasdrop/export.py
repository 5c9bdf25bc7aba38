"""Export for serving: strip dropout, write verified SavedModel / ONNX / LiteRT.

`strip_dropout(model)` returns a copy of a model whose dropout is the
identity, made of stock Keras layers only, so its `.keras` file loads where
kerasdrop is not installed.

`export(model, path, ...)` writes that stripped model as a TensorFlow
SavedModel whose `serving_default` signature is deterministic, optionally
with a second signature `mc` that returns Monte-Carlo dropout statistics,
and checks the written artifact before returning. ONNX and LiteRT go through
Keras' own `Model.export` on the stripped model, checked in onnxruntime and
the TFLite interpreter.

TensorFlow is imported inside the functions that write or check
SavedModels, never when `kerasdrop` is imported.
"""

import numbers
import re
import warnings

import keras
import numpy as np
from keras import ops

from kerasdrop import _checks, artifacts, graph, registry
from kerasdrop import mc as mc_lib
from kerasdrop import schedules as schedules_lib
from kerasdrop.graph import is_dropout_layer  # noqa: F401 (public name)
from kerasdrop.layers import base as base_lib
from kerasdrop.layers import dropout as dropout_lib
from kerasdrop.layers import recurrent as recurrent_lib

FORMATS = ("tf_saved_model", "onnx", "litert")

#: TensorFlow op types that draw random numbers (stateful, stateless and
#: their key/counter helpers).
RANDOM_OP_TYPES = frozenset(
    {
        "Multinomial",
        "NonDeterministicInts",
        "ParameterizedTruncatedNormal",
        "RandomCrop",
        "RandomGamma",
        "RandomGammaGrad",
        "RandomIndexShuffle",
        "RandomPoisson",
        "RandomPoissonV2",
        "RandomShuffle",
        "RandomStandardNormal",
        "RandomUniform",
        "RandomUniformInt",
        "RngBitGenerator",
        "RngReadAndSkip",
        "RngSkip",
        "StatefulRandomBinomial",
        "StatefulStandardNormal",
        "StatefulStandardNormalV2",
        "StatefulTruncatedNormal",
        "StatefulUniform",
        "StatefulUniformFullInt",
        "StatefulUniformInt",
        "StatelessMultinomial",
        "StatelessParameterizedTruncatedNormal",
        "StatelessShuffle",
        "StatelessTruncatedNormal",
        "StatelessTruncatedNormalV2",
        "TruncatedNormal",
        "XlaRngBitGenerator",
    }
)
_RANDOM_PREFIXES = ("StatelessRandom", "RandomUniform", "RandomStandard")


class ExportError(ValueError):
    """An export that failed or whose artifact did not pass verification.

    The target path is as it was when it is raised (nothing new is left).
    """


# ----------------------------------------------------------------------------
# Layer kinds.
# ----------------------------------------------------------------------------
def is_random_op(op_type):
    """True when a TensorFlow op type draws random numbers."""
    return op_type in RANDOM_OP_TYPES or op_type.startswith(_RANDOM_PREFIXES)


def _classic_scale(layer):
    """The float32 keep probability 1 - p a classic Dropout multiplies by."""
    rate = np.float32(ops.convert_to_numpy(layer.rate_variable.value))
    return float(np.float32(1.0) - rate)


def _stripped_replacement(site):
    """What a dropout-bearing site becomes in the stripped model, or None
    (kept: RNN dropout, dropout inside a layer's call, and stock dropout
    held inside a layer are all the identity at inference)."""
    layer = site.layer
    if not isinstance(layer, base_lib.DropoutBase):
        kind = registry.kind_of(layer)
        if site.status == "unreachable" and kind is None:
            return None  # RNN or in-call dropout: identity at inference
        if kind is not None and kind.carrier:
            return None  # Keras' RNN dropout: identity at inference
        if graph.owned(site):
            return None  # stock, inside a block: its config rebuilds it
        return keras.layers.Identity(name=layer.name, dtype=layer.dtype_policy.name)
    original = graph.original_config(site)
    if original is not None:  # what the owner had before convert
        return graph.rebuild(original, layer.name)
    if layer.wrapped is not None:  # Concrete, DropConnect: the wrapped layer
        return layer.wrapped
    if isinstance(layer, dropout_lib.Dropout) and layer.scaling == "classic":
        # Classic dropout scales by the keep probability at test time.
        return keras.layers.Rescaling(
            _classic_scale(layer), name=layer.name, dtype=layer.dtype_policy
        )
    if type(layer).inference is not base_lib.DropoutBase.inference and not (
        isinstance(layer, dropout_lib.Dropout)
    ):
        raise ValueError(
            "Invalid value received for argument `model`. Layer "
            f"'{site.path}' ({type(layer).__name__}) overrides "
            "`inference()`, so removing it could change the outputs; "
            "strip_dropout only knows the inference of kerasdrop's own "
            "layers. Replace it by stock layers computing its inference "
            f"before stripping. Received: model with layer {layer!r}"
        )
    return keras.layers.Identity(name=layer.name, dtype=layer.dtype_policy.name)


def _check_model(model):
    if not isinstance(model, keras.Model):
        raise TypeError(
            "Invalid value received for argument `model`. Expected a "
            f"`keras.Model`. Received: model={model!r} of type "
            f"{type(model).__name__}"
        )
    if not model.built:
        raise ValueError(
            "Invalid value received for argument `model`. Expected a "
            "built model (give it an `Input` or call it once). "
            f"Received: model '{model.name}' that is not built"
        )


def strip_dropout(model):
    """A copy of `model` with its dropout made the identity, for serving.

    Works on any model `kerasdrop.convert` reaches (Sequential, Functional,
    keras-hub, subclassed models that rebuild from their config), at any
    depth. kerasdrop's dropout layers (MC layers too) and stock dropout-like
    graph layers (Keras' `Dropout`, `SpatialDropout*`, `GaussianDropout`,
    `GaussianNoise`, `AlphaDropout`, drop-path layers) become a
    `keras.layers.Identity` of the same name. `ConcreteDropout` and
    `SpatialConcreteDropout` are replaced by the layer they wrap. A kerasdrop
    `Dropout(scaling="classic")`, whose inference multiplies by the keep
    probability `1 - p`, becomes `keras.layers.Rescaling(1 - p)` with its
    live rate, so the outputs stay equal. kerasdrop's `LSTM`, `GRU` and
    `SimpleRNN` become Keras' layer without dropout, same weights and
    outputs. A kerasdrop layer that `convert` put inside a block (keras-hub,
    `MultiHeadAttention`) gets the block's original layer back. Stock
    dropout inside a block and Keras' own RNN dropout stay: they are the
    identity at inference. Every other layer keeps its weights;
    the original model is left unchanged.

    The copy holds stock Keras layers only (plus your own custom layers):
    its `.keras` file loads where kerasdrop is not installed. It is not
    compiled.

    Args:
        model: a built `keras.Model`.

    Returns:
        The stripped `keras.Model` (same class as `model`).

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> model = keras.Sequential([
    ...     keras.Input((4,)), keras.layers.Dense(8),
    ...     kerasdrop.layers.Dropout(0.5, mc=True), keras.layers.Dense(1)])
    >>> served = kerasdrop.strip_dropout(model)
    >>> [type(layer).__name__ for layer in served.layers]
    ['Dense', 'Identity', 'Dense']
    >>> x = np.ones((2, 4), "float32")
    >>> bool(np.allclose(served(x), served(x)))
    True
    """
    _check_model(model)
    stripped = graph.copy_model(model, hint=_COPY_HINT)
    rnns = graph.layer_sites(stripped, recurrent_lib.is_variational)
    graph.rewrite(stripped, lambda site: recurrent_lib.to_stock(site.layer), rnns)
    graph.rewrite(stripped, _stripped_replacement)
    left = graph.dropout_layers(stripped)
    if left:
        names = ", ".join(f"'{x.name}' ({type(x).__name__})" for x in left)
        raise ValueError(
            "Invalid value received for argument `model`. strip_dropout "
            f"could not remove these layers: {names}. "
            f"Received: model '{model.name}'"
        )
    return stripped


_COPY_HINT = (
    "strip_dropout works on a copy. For serving, call "
    "`kerasdrop.mc.disable(model)` and export it with Keras' "
    "`model.export(path)` (kerasdrop dropout is the identity at inference)"
)


# ----------------------------------------------------------------------------
# Inputs, outputs and comparisons.
# ----------------------------------------------------------------------------
def input_signature(model, sample_inputs=None):
    """`keras.InputSpec`s of the model inputs, batch size free.

    The structure Keras' `ExportArchive` expects: a one-element list holding
    the model's input structure (a spec, a list or a dict of specs). A
    subclassed model has no symbolic inputs: the specs then come from
    `sample_inputs` (dict keys name them).
    """
    def spec(tensor, name=None):
        shape = (None,) + tuple(tensor.shape[1:])
        return keras.InputSpec(
            shape=shape,
            dtype=keras.backend.standardize_dtype(tensor.dtype),
            name=name or tensor.name,
        )

    if getattr(model, "_inputs_struct", None) is None and not isinstance(
        model, keras.Sequential
    ):
        if sample_inputs is None:
            raise ValueError(
                "Invalid value received for argument `sample_inputs`. Model "
                f"'{model.name}' ({type(model).__name__}) has no symbolic "
                "inputs to read the serving signature from; pass "
                "`sample_inputs=` (arrays shaped like its inputs). "
                "Received: sample_inputs=None"
            )
        if isinstance(sample_inputs, dict):
            return [{k: spec(np.asarray(v), k) for k, v in sample_inputs.items()}]
        flat = [np.asarray(x) for x in keras.tree.flatten(sample_inputs)]
        specs = [spec(x, f"input_{i}") for i, x in enumerate(flat)]
        return [specs[0] if len(specs) == 1 else specs]
    if isinstance(model, keras.Sequential):
        structure = model.inputs[0]
    else:
        structure = model.input
        if isinstance(structure, (list, tuple)) and len(structure) == 1:
            structure = structure[0]
    return [keras.tree.map_structure(spec, structure)]


def _fixed_unknown_dims(signature, sample_inputs):
    """The signature with unknown non-batch dimensions set from the samples.

    On JAX, Keras exports through jax2tf, whose symbolic shapes cannot trace
    some layers (keras-hub's position embeddings compare the sequence length
    with their maximum); the batch dimension stays free.
    """
    flat_specs = keras.tree.flatten(signature)
    flat_samples = [np.asarray(x) for x in keras.tree.flatten(sample_inputs)]
    fixed = []
    for spec, sample in zip(flat_specs, flat_samples):
        shape = (None,) + tuple(
            sample.shape[i] if d is None else d
            for i, d in enumerate(spec.shape)
            if i > 0
        )
        fixed.append(keras.InputSpec(shape=shape, dtype=spec.dtype, name=spec.name))
    return keras.tree.pack_sequence_as(signature, fixed)


def sample_inputs_for(model, batch_size=4, seed=0):
    """Random numpy inputs matching the model's input specs.

    Floats are standard normal, integers in {0, 1}, booleans random; unknown
    non-batch dimensions get size 8. Pass your own `sample_inputs` to
    `export` for inputs with a narrower domain.
    """
    rng = np.random.default_rng(seed)

    def make(spec):
        shape = tuple(
            batch_size if i == 0 else (8 if d is None else d)
            for i, d in enumerate(spec.shape)
        )
        dtype = keras.backend.standardize_dtype(spec.dtype)
        if "float" in dtype:
            return rng.standard_normal(shape).astype(dtype)
        if "int" in dtype:
            return rng.integers(0, 2, size=shape).astype(dtype)
        if dtype == "bool":
            return rng.random(shape) < 0.5
        raise ValueError(
            "Invalid value received for argument `sample_inputs`. Expected "
            f"sample inputs for input '{spec.name}' of dtype {dtype}, which "
            "kerasdrop cannot generate. Received: sample_inputs=None"
        )

    return keras.tree.map_structure(make, input_signature(model)[0])


def _to_numpy(structure):
    return keras.tree.map_structure(
        lambda t: np.asarray(ops.convert_to_numpy(t)), structure
    )


def inference_outputs(model, inputs):
    """`model(inputs, training=False)` with MC layers switched off for the call.

    The reference the served model must reproduce: what the model computes
    at inference when no kerasdrop layer samples.
    """

    layers = graph.dropout_layers(model)
    flags = [layer.mc for layer in layers]
    try:
        for layer in layers:
            layer.mc = False
        return _to_numpy(model(inputs, training=False))
    finally:
        for layer, flag in zip(layers, flags):
            layer.mc = flag


def _flat_outputs(outputs):
    """Model outputs as a list in signature order (`output_0`, ... or keys)."""
    if isinstance(outputs, dict):
        return [outputs[k] for k in sorted(outputs)]
    return list(keras.tree.flatten(outputs))


def _signature_outputs_in_order(result):
    """Signature results (a dict) in the order of `_flat_outputs`."""
    keys = list(result)
    if all(k.startswith("output_") and k[7:].isdigit() for k in keys):
        keys.sort(key=lambda k: int(k[7:]))
    else:
        keys.sort()
    return [np.asarray(result[k]) for k in keys]


def _mismatch(expected, actual, rtol, atol):
    """None when every pair matches, else a message with the worst difference."""
    if len(expected) != len(actual):
        return f"{len(actual)} outputs instead of {len(expected)}"
    for i, (e, a) in enumerate(zip(expected, actual)):
        e, a = np.asarray(e), np.asarray(a)
        if e.shape != a.shape:
            return f"output {i} has shape {a.shape} instead of {e.shape}"
        if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
            diff = float(np.max(np.abs(a.astype("float64") - e.astype("float64"))))
            return f"output {i} differs by up to {diff:.3g} (rtol={rtol}, atol={atol})"
    return None


# ----------------------------------------------------------------------------
# Monte-Carlo signature.
# ----------------------------------------------------------------------------
def _producer_activation(tensor):
    """'softmax', 'sigmoid' or None: the activation producing `tensor`."""
    return mc_lib.output_activation(tensor)


CLASSIFIER_KINDS = ("softmax", "sigmoid")


def _output_kinds(model, classifier):
    try:
        outputs = keras.tree.flatten(model.outputs)
    except (AttributeError, ValueError):  # subclassed: no symbolic outputs
        outputs = []
    if not outputs:  # subclassed: no symbolic outputs to read
        return None if classifier in (None, False) else [classifier]
    if classifier is False:
        return [None] * len(outputs)
    if classifier is None:
        return [_producer_activation(t) for t in outputs]
    return [classifier] * len(outputs)


def _entropy(p, kind):
    """Entropy in nats: over the last axis (softmax) or per unit (sigmoid)."""
    eps = 1e-7
    p = ops.clip(p, eps, 1.0 - eps)
    if kind == "softmax":
        return -ops.sum(p * ops.log(p), axis=-1)
    return -(p * ops.log(p) + (1.0 - p) * ops.log(1.0 - p))


def mc_statistics(model, inputs, samples, kinds=None):
    """Mean, std (and entropy, mutual information) of `samples` MC passes.

    The inputs are tiled `samples` times along the batch axis and go through
    `model` in one call with its kerasdrop dropout active (`mc.sampling`), so
    each copy draws its own masks; other layers stay in inference mode.

    Returns a list (one dict per model output) with keys `mean`, `std` and,
    for outputs whose kind is "softmax" or "sigmoid", `entropy` (predictive
    entropy of the mean) and `mutual_information` (entropy minus the mean
    per-sample entropy: the epistemic part).
    """

    flat_inputs = keras.tree.flatten(inputs)

    def tile(x):
        x = ops.convert_to_tensor(x)
        return ops.tile(x, [samples] + [1] * (len(x.shape) - 1))

    tiled = keras.tree.pack_sequence_as(inputs, [tile(x) for x in flat_inputs])
    with mc_lib.sampling_traced(model):
        outputs = model(tiled, training=False)
    flat = _flat_outputs(outputs) if isinstance(outputs, dict) else (
        keras.tree.flatten(outputs)
    )
    if kinds is None or len(kinds) != len(flat):
        kinds = (kinds or [None])[:1] * len(flat)
    results = []
    for y, kind in zip(flat, kinds):
        shape = ops.shape(y)
        y = ops.reshape(y, (samples, -1) + tuple(shape[1:]))
        y = ops.cast(y, "float32")
        stats = {"mean": ops.mean(y, axis=0), "std": ops.std(y, axis=0)}
        if kind in CLASSIFIER_KINDS:
            total = _entropy(stats["mean"], kind)
            expected = ops.mean(_entropy(y, kind), axis=0)
            stats["entropy"] = total
            stats["mutual_information"] = ops.maximum(total - expected, 0.0)
        results.append(stats)
    return results


def _mc_model(model, mc_samples):
    """`model` itself, or a converted copy when some dropout would stay off."""
    from kerasdrop.convert import convert

    sites = graph.find(model)
    if any(site.status == "convertible" for site in sites):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # named below, once
            model = convert(model)
        sites = graph.find(model)
    if not any(site.status == "kerasdrop" for site in sites):
        why = "; ".join(graph.describe(site) for site in sites) or "no dropout"
        raise ValueError(
            "Invalid value received for argument `mc_samples`. The `mc` "
            "signature needs dropout layers that can sample at inference, and "
            f"model '{model.name}' has none ({why}). "
            f"Received: mc_samples={mc_samples!r}"
        )
    graph.warn_unreached(
        model, "kerasdrop.export (mc signature)",
        graph.unreached(model, sites), stacklevel=4,
    )
    return model


# ----------------------------------------------------------------------------
# Graph checks.
# ----------------------------------------------------------------------------
def random_ops(concrete_function):
    """Sorted random op types on the inference path of a TF concrete function.

    Walks back from the function's outputs through data inputs, into every
    function a live node calls (`PartitionedCall`, `While`, `If` bodies).
    Random ops whose values reach no output are not counted: Keras' RNN
    layers draw their dropout masks even at inference and then do not use
    them, and TensorFlow prunes such ops when the graph runs.
    """
    return sorted({op for op, _ in _live_random_nodes(concrete_function)})


def _live_random_nodes(concrete_function):
    """`(op type, node name)` of the random ops the outputs depend on."""
    graph_def = concrete_function.graph.as_graph_def()
    library = {f.signature.name: f for f in graph_def.library.function}
    found, visited = set(), set()

    def walk(nodes, roots):
        stack, seen = list(roots), set()
        while stack:
            name = stack.pop()
            if name in seen or name not in nodes:
                continue
            seen.add(name)
            node = nodes[name]
            if is_random_op(node.op):
                found.add((node.op, node.name))
            called = [node.op] + [
                f.name
                for value in node.attr.values()
                for f in ([value.func] if value.HasField("func") else [])
                + list(value.list.func)
            ]
            for function_name in called:
                visit(function_name)
            stack.extend(i.split(":")[0] for i in node.input if not i.startswith("^"))

    def visit(function_name):
        if function_name in visited or function_name not in library:
            return
        visited.add(function_name)
        function = library[function_name]
        nodes = {n.name: n for n in function.node_def}
        walk(nodes, [v.split(":")[0] for v in function.ret.values()])

    outputs = [t.op.name for t in concrete_function.graph.outputs]
    walk({n.name: n for n in graph_def.node}, outputs)
    return sorted(found)


# ----------------------------------------------------------------------------
# Where to write (files themselves: kerasdrop.artifacts).
# ----------------------------------------------------------------------------
#: File name suffixes that name an export format.
SUFFIX_FORMATS = {".onnx": "onnx", ".tflite": "litert"}


def _check_version(version):
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, (numbers.Integral, str)):
        raise TypeError(
            "Invalid value received for argument `version`. Expected None or "
            f"a non-negative integer. Received: version={version!r} of type "
            f"{type(version).__name__}"
        )
    if isinstance(version, str) or version < 0:
        raise ValueError(
            "Invalid value received for argument `version`. Expected a "
            "non-negative integer (TF Serving loads numeric version "
            f"directories). Received: version={version!r}"
        )
    return int(version)


def _check_path(path, version, format, overwrite):
    """The target path; refuses bad values, and an existing target unless
    `overwrite` and it is an export artifact (`artifacts.check_target`)."""
    target = artifacts.as_path(path)
    implied = SUFFIX_FORMATS.get(target.suffix.lower())
    if implied is not None and implied != format:
        raise ValueError(
            "Invalid value received for argument `path`. A name ending in "
            f"'{target.suffix}' is for format={implied!r}, not {format!r}. "
            f"Received: path={str(path)!r} with format={format!r}"
        )
    if version is not None:
        if format != "tf_saved_model":
            raise ValueError(
                "Invalid value received for argument `version`. TF Serving's "
                "`path/<version>/` layout is for format='tf_saved_model' only. "
                f"Received: version={version!r} with format={format!r}"
            )
        target = target / str(_check_version(version))
    if format == "litert" and target.suffix != ".tflite":
        raise ValueError(
            "Invalid value received for argument `path`. Expected a file "
            "name ending in '.tflite' for format='litert'. "
            f"Received: path={str(path)!r}"
        )
    if not isinstance(overwrite, bool):
        raise TypeError(
            "Invalid value received for argument `overwrite`. Expected a "
            f"bool. Received: overwrite={overwrite!r}"
        )
    artifacts.check_target(target, overwrite, received=path)
    return target


# ----------------------------------------------------------------------------
# export
# ----------------------------------------------------------------------------
def _check_export_args(model, mc_samples, format, classifier, rtol, atol):
    if not isinstance(format, str):
        raise TypeError(
            "Invalid value received for argument `format`. Expected one of "
            f"{FORMATS}. Received: format={format!r} of type "
            f"{type(format).__name__}"
        )
    if format not in FORMATS:
        raise ValueError(
            "Invalid value received for argument `format`. Expected one of "
            f"{FORMATS}. Received: format={format!r}"
        )
    if mc_samples is not None:
        if isinstance(mc_samples, bool) or not isinstance(
            mc_samples, numbers.Integral
        ):
            raise TypeError(
                "Invalid value received for argument `mc_samples`. Expected "
                f"None or an integer >= 2. Received: mc_samples={mc_samples!r}"
            )
        if mc_samples < 2:
            raise ValueError(
                "Invalid value received for argument `mc_samples`. Expected "
                f"None or an integer >= 2. Received: mc_samples={mc_samples!r}"
            )
        if format != "tf_saved_model":
            raise ValueError(
                "Invalid value received for argument `mc_samples`. The `mc` "
                "signature is written in SavedModels only; ONNX and LiteRT "
                "exports are deterministic. "
                f"Received: mc_samples={mc_samples!r} with format={format!r}"
            )
    if classifier is not None and not isinstance(classifier, (bool, str)):
        raise TypeError(
            "Invalid value received for argument `classifier`. Expected None, "
            f"False, 'softmax' or 'sigmoid'. Received: classifier={classifier!r} "
            f"of type {type(classifier).__name__}"
        )
    if classifier is not None and classifier is not False and (
        classifier not in CLASSIFIER_KINDS
    ):
        raise ValueError(
            "Invalid value received for argument `classifier`. Expected None "
            "(detect from the output activation), False, 'softmax' or "
            f"'sigmoid'. Received: classifier={classifier!r}"
        )
    for name, value in (("rtol", rtol), ("atol", atol)):
        _checks.check_number(name, value, minimum=0)


def _verify_saved_model(path, sample, expected, mc_samples, rtol, atol, names):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    signatures = dict(loaded.signatures)
    if "serving_default" not in signatures:
        raise ExportError(
            f"Verification failed: the SavedModel at '{path}' has no "
            "`serving_default` signature."
        )
    serving = signatures["serving_default"]
    feed = {
        name: tf.constant(np.asarray(x))
        for name, x in zip(names, keras.tree.flatten(sample))
    }
    first = _signature_outputs_in_order(serving(**feed))
    second = _signature_outputs_in_order(serving(**feed))
    problem = _mismatch(expected, first, rtol, atol)
    if problem:
        raise ExportError(
            "Verification failed: `serving_default` of the reloaded SavedModel "
            f"does not match model(x, training=False): {problem}."
        )
    if any(not np.array_equal(a, b) for a, b in zip(first, second)):
        raise ExportError(
            "Verification failed: `serving_default` returned different "
            "outputs for the same inputs in two calls."
        )
    found = _live_random_nodes(serving)
    if found:
        where = ", ".join(f"{op} at '{name}'" for op, name in found[:5])
        raise ExportError(
            "Verification failed: the outputs of `serving_default` depend on "
            f"random ops ({where}); the layer named in those op names still "
            "draws random numbers at inference (a custom noise layer "
            "strip_dropout does not know? register it with "
            "`kerasdrop.register_dropout`)."
        )
    if mc_samples is not None:
        if "mc" not in signatures:
            raise ExportError("Verification failed: no `mc` signature was written.")
        result = signatures["mc"](**feed)
        for key, value in result.items():
            if not np.all(np.isfinite(np.asarray(value))):
                raise ExportError(
                    f"Verification failed: the `mc` signature's '{key}' is "
                    "not finite on the sample inputs."
                )
    return {
        "signatures": sorted(signatures),
        "inputs": list(names),
    }


def export(
    model,
    path,
    mc_samples=None,
    version=None,
    overwrite=False,
    format="tf_saved_model",
    sample_inputs=None,
    classifier=None,
    rtol=1e-5,
    atol=1e-6,
):
    """Writes `model` for serving, with dropout stripped, and verifies it.

    With `format="tf_saved_model"` (default) `path` becomes a SavedModel
    whose `serving_default` signature (also `serve`) runs
    `strip_dropout(model)`: deterministic, stock ops only, loadable with
    `tf.saved_model.load` or TF Serving without kerasdrop. With
    `mc_samples=T` a second signature `mc` runs T stochastic passes of the
    original model with its dropout active (stock dropout layers converted,
    other layers in inference mode) and returns, per output, `mean` and
    `std` and, for classifiers (softmax or sigmoid output), `entropy` and
    `mutual_information` (in nats). With several outputs the keys are
    prefixed by the output name (`"<name>_mean"`). The T passes run as one
    batch of T x batch rows. The SavedModel then also holds the original
    model's variables.

    `format="onnx"` or `"litert"` writes one file through Keras'
    `Model.export` on the stripped model (ONNX needs `tf2onnx`, `onnx` and
    `onnxruntime`: `pip install kerasdrop[export]`).

    The artifact is written into a temporary directory next to `path` and
    renamed into place once verified, so a failure leaves nothing at `path`
    (and an existing artifact stays as it was). An existing `path` is
    replaced only with `overwrite=True`, and only if it is an export
    artifact, recognised by its content: a SavedModel directory holding
    nothing but `saved_model.pb`, `fingerprint.pb`, `variables/` and
    `assets/`, an ONNX or LiteRT file, or an empty directory. Anything else
    (a directory with other files, another kind of file, a symbolic link,
    the working directory) raises `ValueError` and is left untouched. A
    second export to the same path while one runs raises `ValueError`; an
    export killed midway leaves hidden `.<name>.kerasdrop-*` entries beside
    `path` that the next export to `path` removes, restoring the previous
    artifact if the kill came between its two renames (see
    `kerasdrop.artifacts`). Verification reloads it (`tf.saved_model.load`, onnxruntime or
    the TFLite interpreter), checks its outputs against
    `model(x, training=False)` on `sample_inputs`, checks that two calls
    return identical outputs and, for SavedModels, that the
    `serving_default` graph (nested functions included) holds no random op.
    Any failure raises `ExportError`.

    Backends: SavedModel export runs on TensorFlow and on JAX (through
    Keras' jax2tf `ExportArchive`; the random-op check cannot see inside the
    compiled JAX module there, outputs are still compared; unknown non-batch
    dimensions, such as a text model's sequence length, are fixed to those of
    the sample inputs, since jax2tf cannot trace keras-hub's position
    embeddings with a symbolic length). ONNX and LiteRT follow Keras' support.

    Args:
        model: a built `keras.Model` (any model `strip_dropout` copies).
        path: target directory (SavedModel) or file (ONNX, LiteRT).
        mc_samples: None, or an integer >= 2: add the `mc` signature.
        version: None, or a non-negative integer: write TF Serving's layout
            `path/<version>/` (SavedModel only).
        overwrite: replace an existing export artifact at the target
            (never other files or directories).
        format: "tf_saved_model", "onnx" or "litert". A path ending in
            '.onnx' or '.tflite' must have the matching format.
        sample_inputs: inputs for verification, structured like the model's
            inputs; by default random ones from the input specs
            (`sample_inputs_for(model)`).
        classifier: None (detect softmax/sigmoid outputs), False (no
            entropy), "softmax" or "sigmoid".
        rtol, atol: tolerances of the output comparison.

    Returns:
        The `pathlib.Path` written (`path/<version>` with `version`).

    Example:

    >>> import tempfile, keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,), name="x"),
    ...     keras.layers.Dense(8), kerasdrop.layers.Dropout(0.3),
    ...     keras.layers.Dense(1)])
    >>> out = kerasdrop.export(model, tempfile.mkdtemp() + "/m", version=1)
    >>> out.name
    '1'
    """
    _check_export_args(model, mc_samples, format, classifier, rtol, atol)
    target = _check_path(path, version, format, overwrite)
    _check_model(model)
    stripped = strip_dropout(model)
    mc_model = kinds = None
    if mc_samples is not None:
        mc_model = _mc_model(model, mc_samples)
        kinds = _output_kinds(model, classifier)
    if sample_inputs is None:
        sample_inputs = sample_inputs_for(model)
        expected = _flat_outputs(inference_outputs(model, sample_inputs))
    else:
        expected = _flat_outputs(_checked_reference(model, sample_inputs))
    got = _flat_outputs(_to_numpy(stripped(sample_inputs, training=False)))
    problem = _mismatch(expected, got, rtol, atol)
    if problem:
        raise ExportError(
            "Verification failed before writing: strip_dropout(model) does "
            f"not match model(x, training=False): {problem}."
        )
    signature = input_signature(stripped, sample_inputs)
    if keras.backend.backend() == "jax":
        signature = _fixed_unknown_dims(signature, sample_inputs)
    reference = (sample_inputs, expected, rtol, atol)
    if format == "tf_saved_model":
        write, check = _saved_model_io(
            stripped, mc_model, mc_samples, kinds, signature, reference
        )
    else:
        write, check = _file_io(stripped, format, signature, reference)
    try:
        artifacts.write_atomic(target, write, check, overwrite, received=path)
    except (ExportError, ValueError, TypeError):
        raise
    except ImportError as err:
        raise ImportError(
            f"Exporting to format={format!r} needs a package that is not "
            f"installed ({err}); `pip install kerasdrop[export]` installs "
            "them."
        ) from err
    except Exception as err:
        raise ExportError(
            f"Export to '{target}' (format={format!r}) failed: "
            f"{type(err).__name__}: {err}. The target was left as it was."
        ) from err
    return target


def _checked_reference(model, sample_inputs):
    """`inference_outputs` on the user's `sample_inputs`, refusing inputs
    that verification cannot use (no rows, a wrong count or dtype, a shape
    the model refuses) with an error naming `sample_inputs`."""
    flat = [np.asarray(x) for x in keras.tree.flatten(sample_inputs)]
    shown = ", ".join(f"{x.dtype.name} array of shape {x.shape}" for x in flat)

    def refuse(why):
        return ValueError(
            f"Invalid value received for argument `sample_inputs`. {why} "
            f"Received: sample_inputs with {shown or 'no arrays'}"
        )

    if not flat or any(x.ndim == 0 or x.shape[0] == 0 for x in flat):
        raise refuse(
            "Expected arrays with a batch axis of at least one row "
            "(verification compares outputs on them)."
        )
    try:
        specs = keras.tree.flatten(input_signature(model))
    except ValueError:  # subclassed: the signature comes from the samples
        specs = None
    if specs is not None and len(specs) != len(flat):
        names = ", ".join(repr(spec.name) for spec in specs)
        raise refuse(f"Expected {len(specs)} array(s), one per model input ({names}).")
    for spec, x in zip(specs or [], flat):
        if keras.backend.standardize_dtype(x.dtype) != spec.dtype:
            raise refuse(
                f"Expected {spec.dtype} for input '{spec.name}' (the exported "
                "signature accepts that dtype only)."
            )
    try:
        return inference_outputs(model, sample_inputs)
    except (ValueError, TypeError) as err:
        message = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(err)).split())
        raise refuse(f"The model cannot run on them: {message}") from err


def _saved_model_io(stripped, mc_model, mc_samples, kinds, signature, reference):
    """`write(path)` and `check(path)` of a SavedModel export."""
    sample_inputs, expected, rtol, atol = reference
    names = [spec.name for spec in keras.tree.flatten(signature)]
    backend_kwargs = {}
    if keras.backend.backend() == "jax":
        backend_kwargs = {"is_static": False}

    def write(tmp):
        archive = keras.export.ExportArchive()
        # Track everything before the first endpoint: on JAX an endpoint
        # binds the variables tracked so far.
        archive.track(stripped)
        if mc_samples is not None:
            archive.track(mc_model)
        archive.add_endpoint(
            "serve",
            lambda inputs: stripped(inputs, training=False),
            input_signature=signature,
            **backend_kwargs,
        )
        if mc_samples is not None:
            archive.add_endpoint(
                "mc", _mc_endpoint(mc_model, mc_samples, kinds),
                input_signature=signature, **backend_kwargs,
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            archive.write_out(str(tmp), verbose=False)

    def check(tmp):
        return _verify_saved_model(
            tmp, sample_inputs, expected, mc_samples, rtol, atol, names
        )

    return write, check


def _mc_endpoint(mc_model, mc_samples, kinds):
    """The function of the `mc` signature: a dict of statistics."""
    output_names = list(getattr(mc_model, "output_names", []) or [])

    def mc_fn(inputs):
        stats = mc_statistics(mc_model, inputs, mc_samples, kinds)
        if len(stats) == 1:
            return stats[0]
        if len(output_names) != len(stats):
            prefixes = [f"output_{i}" for i in range(len(stats))]
        else:
            prefixes = output_names
        return {
            f"{prefix}_{key}": value
            for prefix, s in zip(prefixes, stats)
            for key, value in s.items()
        }

    return mc_fn


def _file_io(stripped, format, signature, reference):
    """`write(path)` and `check(path)` of an ONNX or LiteRT export."""
    sample_inputs, expected, rtol, atol = reference
    file_rtol, file_atol = max(rtol, 1e-4), max(atol, 1e-5)

    def write(tmp):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stripped.export(
                str(tmp), format=format, verbose=False,
                input_signature=signature,
            )

    def check(tmp):
        runner = _onnx_runner if format == "onnx" else _litert_runner
        run = runner(tmp)
        first, second = run(sample_inputs), run(sample_inputs)
        problem = _mismatch(expected, first, file_rtol, file_atol)
        if problem:
            raise ExportError(
                f"Verification failed: the {format} artifact does not "
                f"match model(x, training=False): {problem}."
            )
        if any(not np.array_equal(a, b) for a, b in zip(first, second)):
            raise ExportError(
                f"Verification failed: the {format} artifact returned "
                "different outputs for the same inputs in two calls."
            )

    return write, check


def _onnx_runner(path):
    import onnxruntime

    session = onnxruntime.InferenceSession(
        str(path), providers=["CPUExecutionProvider"]
    )
    input_names = [i.name for i in session.get_inputs()]

    def run(sample):
        flat = [np.asarray(x) for x in keras.tree.flatten(sample)]
        return [np.asarray(y) for y in session.run(None, dict(zip(input_names, flat)))]

    return run


def _litert_runner(path):
    import tensorflow as tf

    with warnings.catch_warnings():  # deprecated in favour of ai_edge_litert
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=str(path))
    inputs = interpreter.get_input_details()
    outputs = interpreter.get_output_details()

    def run(sample):
        flat = [np.asarray(x) for x in keras.tree.flatten(sample)]
        for detail, x in zip(inputs, flat):
            interpreter.resize_tensor_input(detail["index"], x.shape)
        interpreter.allocate_tensors()
        for detail, x in zip(inputs, flat):
            interpreter.set_tensor(detail["index"], x)
        interpreter.invoke()
        return [np.array(interpreter.get_tensor(d["index"])) for d in outputs]

    return run
