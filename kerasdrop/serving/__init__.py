"""Serving: models without dropout, written and verified.

`kerasdrop.export(model, path)` reads as check -> strip -> reference outputs
-> write -> verify, one module per step:

- `pipeline`: `export` itself, the steps in order;
- `strip`: `strip_dropout(model)`, a copy whose dropout is the identity,
  made of stock Keras layers only (backend-agnostic);
- `as_is`: a model Keras cannot copy, served as it is with its dropout
  held at inference (no copy, the model unchanged);
- `verification`: the serving signature, sample inputs, the outputs the
  artifact must reproduce and their comparison (`ExportError`);
- `saved_model`: the TensorFlow SavedModel writer and verifier (with the
  optional `mc` signature of `kerasdrop.mc.stats` statistics);
- `onnx_litert`: ONNX and LiteRT files and their runners;
- `artifacts`: where and how files are written (atomically);
- `sides`: the lock, staging and backup names beside a target, and recovery.

>>> import keras, kerasdrop
>>> model = keras.Sequential([keras.Input((4,)),
...     kerasdrop.layers.Dropout(0.5, mc=True), keras.layers.Dense(1)])
>>> [type(layer).__name__ for layer in kerasdrop.serving.strip_dropout(model).layers]
['Identity', 'Dense']
"""

from kerasdrop.serving.pipeline import FORMATS, SUFFIX_FORMATS, export
from kerasdrop.serving.saved_model import RANDOM_OP_TYPES, is_random_op, random_ops
from kerasdrop.serving.strip import strip_dropout
from kerasdrop.serving.verification import (
    ExportError,
    inference_outputs,
    input_signature,
    sample_inputs_for,
)

__all__ = [
    "ExportError",
    "FORMATS",
    "RANDOM_OP_TYPES",
    "SUFFIX_FORMATS",
    "export",
    "inference_outputs",
    "input_signature",
    "is_random_op",
    "random_ops",
    "sample_inputs_for",
    "strip_dropout",
]
