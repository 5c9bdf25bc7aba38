"""What an export must reproduce, and the comparison with it.

The serving signature of a model (`input_signature`), inputs to check an
artifact on (`sample_inputs_for`, or the user's, `checked_reference`), the
reference outputs (`inference_outputs`: the model at inference with no
kerasdrop layer sampling) and their comparison with what an artifact
returns (`check_outputs`, raising `ExportError`). Backend-agnostic.
"""

import re

import keras
import numpy as np
from keras import ops

from kerasdrop import _checks, _keras, graph
from kerasdrop.layers import mc_state


class ExportError(ValueError):
    """An export that failed or whose artifact did not pass verification.

    The target path is as it was when it is raised (nothing new is left).
    """


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

    if _keras.inputs_struct(model) is None and not isinstance(model, keras.Sequential):
        if sample_inputs is None:
            raise _checks.invalid_value(
                "sample_inputs",
                f"Model '{model.name}' ({type(model).__name__}) has no symbolic "
                "inputs to read the serving signature from; pass "
                "`sample_inputs=` (arrays shaped like its inputs).",
                "sample_inputs=None",
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


def fixed_unknown_dims(signature, sample_inputs):
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
        raise _checks.value_error(
            "sample_inputs",
            f"sample inputs for input '{spec.name}' of dtype {dtype}, which "
            "kerasdrop cannot generate",
            None,
        )

    return keras.tree.map_structure(make, input_signature(model)[0])


def to_numpy(structure):
    return keras.tree.map_structure(
        lambda t: np.asarray(ops.convert_to_numpy(t)), structure
    )


def inference_outputs(model, inputs):
    """`model(inputs, training=False)` with MC layers switched off for the call.

    The reference the served model must reproduce: what the model computes
    at inference when no kerasdrop layer samples.
    """
    with mc_state.mc_inference_only(graph.dropout_layers(model)):
        return to_numpy(model(inputs, training=False))


def signature_outputs_in_order(result):
    """Signature results (a dict) in the order of `kerasdrop.mc.stats.flat_outputs`."""
    keys = list(result)
    if all(k.startswith("output_") and k[7:].isdigit() for k in keys):
        keys.sort(key=lambda k: int(k[7:]))
    else:
        keys.sort()
    return [np.asarray(result[k]) for k in keys]


def mismatch(expected, actual, rtol, atol):
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


def checked_reference(model, sample_inputs):
    """`inference_outputs` on the user's `sample_inputs`, refusing inputs
    that verification cannot use (no rows, a wrong count or dtype, a shape
    the model refuses) with an error naming `sample_inputs`."""
    flat = [np.asarray(x) for x in keras.tree.flatten(sample_inputs)]
    shown = ", ".join(f"{x.dtype.name} array of shape {x.shape}" for x in flat)

    def refuse(why):
        return _checks.invalid_value(
            "sample_inputs", why, f"sample_inputs with {shown or 'no arrays'}"
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


def check_outputs(expected, first, second, tolerance, what):
    """Raises `ExportError` unless `first` matches `expected` within
    `tolerance` (`(rtol, atol)`) and `second` (a second call on the same
    inputs) equals `first`. `what` names the artifact in the message."""
    problem = mismatch(expected, first, *tolerance)
    if problem:
        raise ExportError(
            f"Verification failed: {what} does not match "
            f"model(x, training=False): {problem}."
        )
    if any(not np.array_equal(a, b) for a, b in zip(first, second)):
        raise ExportError(
            f"Verification failed: {what} returned different outputs for the "
            "same inputs in two calls."
        )
