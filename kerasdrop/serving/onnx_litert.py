"""ONNX and LiteRT files of `kerasdrop.export`: writer, runners, verifier.

Both go through Keras' own `Model.export` on the stripped model; `verify`
runs the file in onnxruntime or the TFLite interpreter (`runner`) and
compares its outputs with the verification. The runtimes are imported inside
the functions that need them.
"""

import warnings

import keras
import numpy as np

from kerasdrop import _keras
from kerasdrop.serving import verification

#: The tolerance of a file format's comparison is at least this (its
#: runtime's kernels differ from Keras' more than a SavedModel's).
MIN_TOLERANCE = (1e-4, 1e-5)


def write(path, stripped, format, signature):
    """Writes `stripped` as one `format` file ("onnx" or "litert")."""
    _keras.register_torch_parameters(stripped)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stripped.export(
            str(path), format=format, verbose=False, input_signature=signature
        )


def verify(path, format, sample_inputs, expected, tolerance):
    """Runs the file twice on `sample_inputs` and checks its outputs
    against `expected` (`verification.check_outputs`)."""
    run = runner(path, format)
    tolerance = tuple(max(t, m) for t, m in zip(tolerance, MIN_TOLERANCE))
    first, second = run(sample_inputs), run(sample_inputs)
    verification.check_outputs(
        expected, first, second, tolerance, f"the {format} artifact"
    )


def runner(path, format):
    """A function running the `format` file at `path` on inputs structured
    like the model's, returning its outputs as a list of arrays."""
    return _onnx_runner(path) if format == "onnx" else _litert_runner(path)


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
