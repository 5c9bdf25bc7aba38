"""The TensorFlow SavedModel of `kerasdrop.export`: writer and verifier.

`write` puts a stripped model's deterministic `serve` endpoint (the
`serving_default` signature) and, optionally, the `mc` signature
(`MCSignature`: Monte-Carlo statistics of `kerasdrop.mc.stats`) into a
SavedModel through Keras' `ExportArchive`; `verify` loads it back with
`tf.saved_model.load` and checks it (`random_ops` scans its graph).
TensorFlow is imported inside the functions that need it.
"""

import contextlib
import dataclasses
import re
import warnings

import keras
import numpy as np

from kerasdrop import _checks, graph
from kerasdrop.mc import stats as mc_stats
from kerasdrop.serving import verification

#: Statistics of the `mc` signature: its key -> the `mc_stats.summary` key.
MC_KEYS = {
    "mean": "mean",
    "std": "std",
    "entropy": "predictive_entropy",
    "mutual_information": "mutual_information",
}

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


def is_random_op(op_type):
    """True when a TensorFlow op type draws random numbers."""
    return op_type in RANDOM_OP_TYPES or op_type.startswith(_RANDOM_PREFIXES)


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
# The `mc` signature.
# ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class MCSignature:
    """The `mc` signature: `samples` MC passes of `model`, whose outputs are
    read as `kinds` (one per output, None where unknown).

    Its keys are `<output key>_<statistic>`: the output keys of
    `serving_default` (`mc_stats.output_keys`: a dict output's keys, else
    `output_0`, `output_1`, ...) and the statistics of `MC_KEYS`. Masks are
    consistent (sample `t` drops the same units for every row of a request),
    drawn from the dropout layers' random streams as `kerasdrop.mc.predict`
    with `consistent=True` draws them: from the same generator states, the
    same numbers.
    """

    model: keras.Model
    samples: int
    kinds: list = None

    def outputs(self, inputs):
        """The signature's function: a dict of statistics, keyed
        `<output key>_<statistic>` (`MC_KEYS`)."""
        stats = mc_stats.statistics(
            self.model, inputs, self.samples, self.kinds, consistent=True
        )
        return {
            f"{key}_{name}": by_output[field]
            for key, by_output in stats.items()
            for name, field in MC_KEYS.items()
            if field in by_output
        }


def mc_signature(model, mc_samples, classifier=None):
    """The `MCSignature` of `model` (converted when some dropout would stay
    off); `classifier` as `kerasdrop.export` takes it. Raises `ExportError`
    when there is nothing to sample, or when building it fails."""
    with mc_failures("building it", model):
        kinds = _kinds(model, classifier)
        return MCSignature(_mc_model(model, mc_samples), mc_samples, kinds)


@contextlib.contextmanager
def mc_failures(step, model=None):
    """Runs the block; any failure but an `ExportError` comes out as one
    naming the `mc` signature (of `model`), `step` and the cause (chained)."""
    of = "" if model is None else f" of model '{model.name}'"
    try:
        yield
    except verification.ExportError:
        raise
    except Exception as err:
        cause = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(err)).split())
        raise verification.ExportError(
            f"The `mc` signature{of} failed while {step}: {type(err).__name__}: {cause}"
        ) from err


def _kinds(model, classifier):
    """The `mc_stats` kind of each output: read from its activation
    (`classifier=None`), none (False), or the one given."""
    try:
        outputs = keras.tree.flatten(model.outputs)
    except (AttributeError, ValueError):  # subclassed: no symbolic outputs
        outputs = []
    if not outputs:  # subclassed: no symbolic outputs to read
        return None if classifier in (None, False) else [classifier]
    if classifier is False:
        return [None] * len(outputs)
    if classifier is None:
        return [mc_stats.output_activation(t) for t in outputs]
    return [classifier] * len(outputs)


def _mc_model(model, mc_samples):
    """`model` itself, or a converted copy when some dropout would stay off."""

    sites = graph.find(model)
    if any(site.status == "convertible" for site in sites):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # named below, once
            model = graph.convert(model)
        sites = graph.find(model)
    if not any(site.status == "kerasdrop" for site in sites):
        why = "; ".join(graph.describe(site) for site in sites) or "no dropout"
        raise verification.ExportError(
            _checks.invalid(
                "mc_samples",
                "The `mc` signature needs dropout layers that can sample at "
                f"inference, and model '{model.name}' has none ({why}).",
                f"mc_samples={mc_samples!r}",
            )
        )
    graph.warn_unreached(
        model,
        "kerasdrop.export (mc signature)",
        graph.unreached(model, sites),
        stacklevel=4,
    )
    return model


# ----------------------------------------------------------------------------
# Write and verify.
# ----------------------------------------------------------------------------
def _endpoint_options():
    # On JAX, Keras exports through jax2tf; shapes stay polymorphic.
    return {"is_static": False} if keras.backend.backend() == "jax" else {}


def write(path, stripped, signature, mc=None):
    """Writes the SavedModel: `serve` runs `stripped` at inference on
    `signature` (`verification.input_signature`); `mc` (an `MCSignature` or
    None) adds the `mc` signature."""
    archive = keras.export.ExportArchive()
    # Track everything before the first endpoint: on JAX an endpoint binds
    # the variables tracked so far.
    archive.track(stripped)
    if mc is not None:
        archive.track(mc.model)
    archive.add_endpoint(
        "serve",
        lambda inputs: stripped(inputs, training=False),
        input_signature=signature,
        **_endpoint_options(),
    )
    if mc is not None:
        shapes = ", ".join(
            f"{spec.name} {spec.dtype} {spec.shape}"
            for spec in keras.tree.flatten(signature)
        )
        with mc_failures(f"tracing it on the inputs ({shapes})", mc.model):
            endpoint = archive.add_endpoint(
                "mc", mc.outputs, input_signature=signature, **_endpoint_options()
            )
            endpoint.get_concrete_function()  # traced here, not in write_out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        archive.write_out(str(path), verbose=False)


def verify(path, signature, sample_inputs, expected, tolerance, mc=False):
    """Loads the SavedModel at `path` and checks it: `serving_default`
    reproduces `expected` on `sample_inputs` within `tolerance`, twice the
    same, with no random op on its path; with `mc`, the `mc` signature
    exists and is finite. Raises `verification.ExportError`."""
    import tensorflow as tf

    signatures = dict(tf.saved_model.load(str(path)).signatures)
    if "serving_default" not in signatures:
        raise verification.ExportError(
            f"Verification failed: the SavedModel at '{path}' has no "
            "`serving_default` signature."
        )
    serving = signatures["serving_default"]
    names = [spec.name for spec in keras.tree.flatten(signature)]
    feed = {
        name: tf.constant(np.asarray(x))
        for name, x in zip(names, keras.tree.flatten(sample_inputs))
    }
    served = serving(**feed)
    first, second = (
        verification.signature_outputs_in_order(result)
        for result in (served, serving(**feed))
    )
    verification.check_outputs(
        expected,
        first,
        second,
        tolerance,
        "`serving_default` of the reloaded SavedModel",
    )
    _check_no_random_op(serving)
    if mc:
        _check_mc(signatures, feed, served)
    return {"signatures": sorted(signatures), "inputs": names}


def _check_no_random_op(serving):
    found = _live_random_nodes(serving)
    if found:
        where = ", ".join(f"{op} at '{name}'" for op, name in found[:5])
        raise verification.ExportError(
            "Verification failed: the outputs of `serving_default` depend on "
            f"random ops ({where}); the layer named in those op names still "
            "draws random numbers at inference (a custom noise layer "
            "strip_dropout does not know? register it with "
            "`kerasdrop.register_dropout`)."
        )


def _check_mc(signatures, feed, served):
    """The `mc` signature exists, runs on the sample inputs, is finite and
    holds `<key>_mean`, shaped like the output, for every output key of
    `serving_default` (`served`: its outputs)."""
    if "mc" not in signatures:
        raise verification.ExportError(
            "Verification failed: no `mc` signature was written."
        )
    with mc_failures("running it, reloaded, on the sample inputs"):
        result = {k: np.asarray(v) for k, v in signatures["mc"](**feed).items()}
    for key, value in result.items():
        if not np.all(np.isfinite(value)):
            raise verification.ExportError(
                f"Verification failed: the `mc` signature's '{key}' is "
                "not finite on the sample inputs."
            )
    for key, value in served.items():
        mean = result.get(f"{key}_mean")
        if mean is None or mean.shape != tuple(value.shape):
            raise verification.ExportError(
                f"Verification failed: the `mc` signature has no '{key}_mean' "
                f"shaped {tuple(value.shape)} for output '{key}' of "
                f"`serving_default` (its keys: {sorted(result)})."
            )
