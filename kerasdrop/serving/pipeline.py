"""Export for serving: strip dropout, write verified SavedModel / ONNX / LiteRT.

The steps are the modules of `kerasdrop.serving` (its docstring lists them).

SavedModel: `serving_default` (also `serve`) runs `strip_dropout(model)`:
deterministic, stock ops only, loadable with `tf.saved_model.load` or TF
Serving without kerasdrop. With `mc_samples=T` a second signature `mc` runs
T stochastic passes of the original model with its dropout active (stock
dropout layers converted, other layers in inference mode) as one batch of
T x batch rows, and returns per output `mean` and `std` and, for classifiers,
`entropy` and `mutual_information` (in nats, one value per input: a softmax
row is one categorical distribution, the units of a sigmoid head independent
Bernoullis, summed over units; the numbers of `kerasdrop.mc.predict` with
`consistent=True`), keyed `<output key>_<statistic>` after the output keys
of `serving_default` (`"output_0_mean"`; a dict output's keys:
`"probs_mean"`). Any shape the model takes works (unknown sequence lengths);
a failure to build, trace or run it raises `ExportError` naming the cause.
The SavedModel then also holds the original model's variables.
`format="onnx"` or `"litert"` writes one file through Keras' `Model.export`
on the stripped model (ONNX needs `tf2onnx`, `onnx` and `onnxruntime`:
`pip install kerasdrop[export]`).

Files: the artifact is written into a temporary directory next to `path`
and renamed into place once verified, so a failure leaves nothing at `path`
(and an existing artifact stays as it was). An existing `path` is replaced
only with `overwrite=True`, and only if it is an export artifact, recognised
by its content: a SavedModel directory holding nothing but `saved_model.pb`,
`fingerprint.pb`, `variables/` and `assets/`, an ONNX or LiteRT file, or an
empty directory. Anything else (a directory with other files, another kind
of file, a symbolic link, the working directory) raises `ValueError` and is
left untouched. A second export to the same path while one runs raises
`ValueError`; an export killed midway leaves hidden `.<name>.kerasdrop-*`
entries beside `path` that the next export to `path` removes, restoring the
previous artifact if the kill came between its two renames (see
`kerasdrop.serving.artifacts`).

Verification reloads the artifact (`tf.saved_model.load`, onnxruntime or the
TFLite interpreter), checks its outputs against `model(x, training=False)`
on `sample_inputs`, checks that two calls return identical outputs and, for
SavedModels, that the `serving_default` graph (nested functions included)
holds no random op. Any failure raises `ExportError`.

Backends: SavedModel export runs on TensorFlow and on JAX (through Keras'
jax2tf `ExportArchive`; the random-op check cannot see inside the compiled
JAX module there, outputs are still compared; unknown non-batch dimensions,
such as a text model's sequence length, are fixed to those of the sample
inputs, since jax2tf cannot trace keras-hub's position embeddings with a
symbolic length). On PyTorch, Keras cannot write SavedModels: the serving
format there is ONNX (Keras' own torch export path, `torch.onnx`), which
the default `format=None` picks, with a warning saying so;
`format="tf_saved_model"`, `mc_samples` and `version` raise `ExportError`
naming the alternatives, before anything is written (an `mc` signature is a
SavedModel's; the ONNX file is deterministic, and MC predictions on PyTorch
come from `kerasdrop.mc.predict`). Keras 3.15 traces PyTorch models for ONNX
with `torch.onnx`, which cannot export `LayerNormalization` with a dynamic
batch (so no transformer block): that export raises `ExportError` naming the
cause. LiteRT on PyTorch needs Keras'
`litert-torch` package, which kerasdrop neither installs nor tests.
ONNX and LiteRT otherwise follow Keras' support. TensorFlow is
imported inside the functions that write or check SavedModels, never when
`kerasdrop` is imported.

No copy: a model Keras cannot copy (custom layers without `get_config`,
subclassed models without `from_config`) is served as it is
(`kerasdrop.serving.as_is`): traced with its kerasdrop dropout held at
inference (MC layers too), then verified like a stripped one, in every
format; the model is left exactly as it was. A subclassed model needs
`sample_inputs`.
"""

import functools
import warnings

import keras

from kerasdrop import _checks
from kerasdrop.mc.stats import CLASSIFIER_KINDS, flat_outputs
from kerasdrop.serving import artifacts, as_is, onnx_litert, saved_model, verification
from kerasdrop.serving.verification import ExportError

FORMATS = ("tf_saved_model", "onnx", "litert")
#: The format `format=None` writes on each backend: what it can serve.
BACKEND_FORMATS = {
    "tensorflow": "tf_saved_model",
    "jax": "tf_saved_model",
    "torch": "onnx",
}
#: Keras' writers of a (backend, format) through a package outside
#: kerasdrop's extras (not installed, not tested here).
FOREIGN_WRITERS = {("jax", "onnx"): "jax2onnx", ("torch", "litert"): "litert-torch"}
#: File name suffixes that name an export format.
SUFFIX_FORMATS = {".onnx": "onnx", ".tflite": "litert"}


def export(
    model,
    path,
    mc_samples=None,
    version=None,
    overwrite=False,
    format=None,
    sample_inputs=None,
    classifier=None,
    rtol=1e-5,
    atol=1e-6,
):
    """Writes `model` for serving, with dropout stripped, and verifies it
    (what is written, verified and protected: the module docstring).

    Args:
        model: a built `keras.Model` (one Keras cannot copy: served as is).
        path: target directory (SavedModel) or file (ONNX, LiteRT).
        mc_samples: None, or an integer >= 2: add the `mc` signature.
        version: None, or a non-negative integer: write TF Serving's layout
            `path/<version>/` (SavedModel only).
        overwrite: replace an existing export artifact (nothing else).
        format: "tf_saved_model", "onnx", "litert", or None (the default):
            the backend's serving format, "onnx" on PyTorch (a `path` not
            ending in '.onnx' gets that suffix, with a warning), else
            "tf_saved_model" (also wherever `mc_samples` or `version` is
            given; on PyTorch an `ExportError`). A path ending in '.onnx'
            or '.tflite' must have the matching format.
        sample_inputs: inputs to verify on (default `sample_inputs_for(model)`).
        classifier: None (detect), False (no entropy), "softmax" or "sigmoid".
        rtol: relative tolerance of the output comparison.
        atol: absolute tolerance of the output comparison.

    Returns:
        The `pathlib.Path` written (`path/<version>` with `version`); raises
        `ExportError` when the export fails or does not pass verification.

    Example:

    >>> import tempfile, keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,), name="x"),
    ...     kerasdrop.layers.Dropout(0.3), keras.layers.Dense(1)])
    >>> out = kerasdrop.export(model, tempfile.mkdtemp() + "/m")
    >>> out.name  # a SavedModel directory; 'm.onnx' on torch, served through ONNX
    'm...'
    """
    format, path, note = _backend_format(format, path, mc_samples, version)
    _check_export_args(mc_samples, format, classifier, rtol, atol)
    target = _check_path(path, version, format, overwrite)
    if note:
        warnings.warn(note, UserWarning, stacklevel=2)
    _checks.check_model(model, built=True)
    stripped = as_is.served_model(model)  # the model itself if Keras cannot copy it
    mc = _mc_signature(model, mc_samples, classifier)
    sample_inputs, expected = _reference(model, stripped, sample_inputs, (rtol, atol))
    write, verify = _writer_and_verifier(
        format, stripped, mc, sample_inputs, expected, (rtol, atol)
    )
    _write_verified(target, write, verify, overwrite, path, format)
    return target


# ----------------------------------------------------------------------------
# Check.
# ----------------------------------------------------------------------------
def _backend_format(format, path, mc_samples, version):
    """`(format, path, note)` with `format=None` resolved to the backend's
    serving format (`note`: the warning to give when that is ONNX); an
    `ExportError` for what the backend cannot serve (SavedModels, their
    `mc` signature and TF Serving versions on PyTorch), raised before
    anything is written."""
    if format is not None:
        _checks.check_type("format", format, str, f"one of {FORMATS}")
        _checks.check_choice("format", format, FORMATS)
    _checks.check_int("mc_samples", mc_samples, minimum=2, allow_none=True)
    backend = keras.backend.backend()
    chosen = format
    if format is None:
        # `mc_samples` and `version` are SavedModel features: asking for
        # them asks for a SavedModel.
        saved = mc_samples is not None or version is not None
        chosen = "tf_saved_model" if saved else BACKEND_FORMATS.get(backend)
        chosen = chosen or "tf_saved_model"
    if backend == "torch" and chosen == "tf_saved_model":
        raise _no_saved_model_error(format, mc_samples, version)
    if format is not None or chosen != "onnx":
        return chosen, path, None
    target = artifacts.as_path(path)
    if target.suffix.lower() == ".onnx":  # the name asks for ONNX already
        return chosen, path, None
    path = target.with_name(target.name + ".onnx")
    note = (
        f"kerasdrop.export: the {backend} backend serves through ONNX "
        f"(Keras cannot write SavedModels there); writing '{path}'. Pass "
        "format='onnx' to choose it explicitly."
    )
    return chosen, path, note


def _no_saved_model_error(format, mc_samples, version):
    """The `ExportError` of a SavedModel feature asked for on PyTorch."""
    asked = {"format": format, "mc_samples": mc_samples, "version": version}
    received = ", ".join(f"{k}={v!r}" for k, v in asked.items() if v is not None)
    what = (
        "the `mc` signature"
        if mc_samples is not None
        else "a TF Serving version directory"
        if version is not None
        else "a SavedModel"
    )
    return ExportError(
        f"Keras cannot write a SavedModel on the torch backend, so {what} "
        f"cannot be exported here ({received}). Alternatives: format='onnx' "
        "(deterministic serving, verified in onnxruntime), or run the export "
        "with KERAS_BACKEND=tensorflow or jax (the .keras file loads there), "
        "where SavedModels, versions and the `mc` signature are written; for "
        "MC predictions on torch, call `kerasdrop.mc.predict`. Nothing was "
        "written."
    )


def _check_export_args(mc_samples, format, classifier, rtol, atol):
    """Checks the plain arguments (not the path, not the model)."""
    _checks.check_type("format", format, str, f"one of {FORMATS}")
    _checks.check_choice("format", format, FORMATS)
    if mc_samples is not None:
        _checks.check_int("mc_samples", mc_samples, minimum=2, allow_none=True)
        if format != "tf_saved_model":
            raise _checks.invalid_value(
                "mc_samples",
                "The `mc` signature is written in SavedModels only; ONNX and "
                "LiteRT exports are deterministic.",
                f"mc_samples={mc_samples!r} with format={format!r}",
            )
    expected = "None, False, 'softmax' or 'sigmoid'"
    if classifier is not None and not isinstance(classifier, (bool, str)):
        raise _checks.type_error("classifier", expected, classifier)
    if classifier not in (None, False, *CLASSIFIER_KINDS):
        raise _checks.value_error(
            "classifier",
            "None (detect from the output activation), False, 'softmax' or 'sigmoid'",
            classifier,
        )
    for name, value in (("rtol", rtol), ("atol", atol)):
        _checks.check_number(name, value, minimum=0)


def _check_version(version):
    """A TF Serving version: a non-negative integer (or its digits)."""
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if isinstance(version, str):
        raise _checks.value_error(
            "version",
            "a non-negative integer (TF Serving loads numeric version directories)",
            version,
        )
    return _checks.check_int(
        "version", version, minimum=0, expected="a non-negative integer"
    )


def _check_path(path, version, format, overwrite):
    """The target path; refuses bad values, and an existing target unless
    `overwrite` and it is an export artifact (`artifacts.check_target`)."""
    target = artifacts.as_path(path)
    implied = SUFFIX_FORMATS.get(target.suffix.lower())
    if implied is not None and implied != format:
        raise _checks.invalid_value(
            "path",
            f"A name ending in '{target.suffix}' is for format={implied!r}, not "
            f"{format!r}.",
            f"path={str(path)!r} with format={format!r}",
        )
    if version is not None:
        if format != "tf_saved_model":
            raise _checks.invalid_value(
                "version",
                "TF Serving's `path/<version>/` layout is for "
                "format='tf_saved_model' only.",
                f"version={version!r} with format={format!r}",
            )
        target = target / str(_check_version(version))
    if format == "litert" and target.suffix != ".tflite":
        raise _checks.value_error(
            "path", "a file name ending in '.tflite' for format='litert'", str(path)
        )
    _checks.check_bool("overwrite", overwrite)
    artifacts.check_target(target, overwrite, received=path)
    return target


# ----------------------------------------------------------------------------
# Reference outputs, write, verify.
# ----------------------------------------------------------------------------
def _mc_signature(model, mc_samples, classifier):
    """The `saved_model.MCSignature` to write, or None without `mc_samples`."""
    if mc_samples is None:
        return None
    return saved_model.mc_signature(model, mc_samples, classifier)


def _reference(model, stripped, sample_inputs, tolerance):
    """The sample inputs and the outputs the artifact must reproduce; the
    stripped model must already reproduce them."""
    if sample_inputs is None:
        sample_inputs = verification.sample_inputs_for(model)
        expected = verification.inference_outputs(model, sample_inputs)
    else:
        expected = verification.checked_reference(model, sample_inputs)
    expected = flat_outputs(expected)
    got = stripped(sample_inputs, training=False)
    problem = verification.mismatch(
        expected, flat_outputs(verification.to_numpy(got)), *tolerance
    )
    if problem:
        raise ExportError(
            "Verification failed before writing: the model to serve "
            "(strip_dropout(model), or the model as it is when Keras cannot "
            f"copy it) does not match model(x, training=False): {problem}."
        )
    return sample_inputs, expected


def _writer_and_verifier(format, stripped, mc, sample_inputs, expected, tolerance):
    """`write(path)` and `verify(path)` of the artifact in `format`."""
    signature = verification.input_signature(as_is.source(stripped), sample_inputs)
    if keras.backend.backend() == "jax":
        signature = verification.fixed_unknown_dims(signature, sample_inputs)
    if format == "tf_saved_model":
        write = functools.partial(
            saved_model.write, stripped=stripped, signature=signature, mc=mc
        )
        verify = functools.partial(
            saved_model.verify,
            signature=signature,
            sample_inputs=sample_inputs,
            expected=expected,
            tolerance=tolerance,
            mc=mc is not None,
        )
        return write, verify
    write = functools.partial(
        onnx_litert.write, stripped=stripped, format=format, signature=signature
    )
    verify = functools.partial(
        onnx_litert.verify,
        format=format,
        sample_inputs=sample_inputs,
        expected=expected,
        tolerance=tolerance,
    )
    return write, verify


def _write_verified(target, write, verify, overwrite, path, format):
    """`artifacts.write_atomic`, with any unexpected failure as an
    `ExportError` (a missing runtime as an `ImportError` saying so)."""
    try:
        artifacts.write_atomic(target, write, verify, overwrite, received=path)
    except (ExportError, ValueError, TypeError):
        raise
    except ImportError as err:
        raise _missing_package(format, err) from err
    except Exception as err:
        raise ExportError(
            f"Export to '{target}' (format={format!r}) failed: "
            f"{type(err).__name__}: {err}. The target was left as it was."
        ) from err


def _missing_package(format, err):
    """The `ImportError` of a writer or runtime that is not installed."""
    backend = keras.backend.backend()
    package = FOREIGN_WRITERS.get((backend, format))
    if package is None:
        return ImportError(
            f"Exporting to format={format!r} needs a package that is not "
            f"installed ({err}); `pip install kerasdrop[export]` installs "
            "them."
        )
    return ImportError(
        f"Keras exports format={format!r} on the {backend} backend through "
        f"`{package}`, which is not installed ({err}); kerasdrop neither "
        f"installs nor tests it. The {backend} backend's serving format is "
        f"format={BACKEND_FORMATS[backend]!r}."
    )
