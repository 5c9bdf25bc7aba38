"""An LSTM after convert/strip: which Keras kernel runs it, and ONNX on torch.

Keras' LSTM runs its generic step loop while `recurrent_dropout > 0` (the
state mask enters every step), and otherwise asks the backend for a fused
kernel (`keras.backend.lstm`): cuDNN on a GPU for every backend, and on
torch also a CPU kernel (`_fallback_lstm`: all time steps' input products
in one matmul, the four gates in one), which sums in another order. A
converted or stripped LSTM without state dropout at inference takes the
fused kernel as Keras would, so on torch it differs from the step-loop
original by float rounding (~3e-8 here), and on TensorFlow and JAX (no
fused CPU kernel) it is bit-identical. Both kernels are deterministic.

A converted LSTM keeps its state dropout, and like the stock layer with
`recurrent_dropout` it runs the step loop at inference too: bit-identical
to the original on every backend. A stripped one has no state dropout and
takes the fused kernel, as Keras would for it.
"""

import importlib.util

import keras
import numpy as np
import pytest

import kerasdrop
from helpers import to_numpy

import zoo


BACKEND = keras.backend.backend()
#: Rounding between Keras' two LSTM kernels on torch (measured: 3.0e-8 on
#: outputs of magnitude ~0.5): a bound, not an equality, because the
#: kernels sum in different orders.
KERNEL_ROUNDING = 1e-6


def _stock_lstm_like(model, **kwargs):
    """`model` with its LSTM rebuilt as a stock Keras LSTM without any
    dropout (same weights and cell implementation), plus `kwargs`."""
    inputs = keras.Input((5, 4))
    implementation = model.get_layer("lstm").cell.implementation
    lstm = keras.layers.LSTM(8, implementation=implementation, name="lstm", **kwargs)
    out = keras.layers.Dense(2)(lstm(inputs))
    twin = keras.Model(inputs, out)
    twin.set_weights(model.get_weights())
    return twin


def test_lstm_after_convert_and_strip_differs_only_by_keras_kernel_choice():
    original = zoo.lstm_model()  # recurrent_dropout=0.2: Keras' step loop
    x = zoo.rnn_inputs()
    ref = to_numpy(original(x, training=False))
    np.testing.assert_array_equal(to_numpy(original(x, training=False)), ref)
    converted = kerasdrop.convert(original)
    stripped = kerasdrop.strip_dropout(converted)
    fused = to_numpy(_stock_lstm_like(original)(x))  # Keras' own choice
    looped = to_numpy(_stock_lstm_like(original, use_cudnn=False)(x))
    np.testing.assert_array_equal(looped, ref)  # the step loop: exact
    out = to_numpy(converted(x, training=False))
    np.testing.assert_array_equal(out, ref)  # the step loop, as the original
    out = to_numpy(stripped(x, training=False))
    np.testing.assert_array_equal(to_numpy(stripped(x, training=False)), out)
    np.testing.assert_array_equal(out, fused)  # nothing of kerasdrop's own
    if BACKEND == "torch":  # the fused CPU kernel rounds otherwise
        np.testing.assert_allclose(out, ref, rtol=0, atol=KERNEL_ROUNDING)
    else:
        np.testing.assert_array_equal(out, ref)


@pytest.mark.skipif(
    BACKEND != "torch",
    reason="checks torch's registry (model.parameters()) that ONNX export reads",
)
@pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None
    or importlib.util.find_spec("onnx") is None,
    reason="onnx and onnxruntime are not installed",
)
def test_converted_stripped_lstm_exports_to_onnx_on_torch(tmp_path):
    import onnxruntime

    original = zoo.lstm_model()
    x = zoo.rnn_inputs()
    stripped = kerasdrop.strip_dropout(kerasdrop.convert(original))
    expected = to_numpy(stripped(x, training=False))
    variables = stripped.trainable_variables + stripped.non_trainable_variables
    assert len(list(stripped.parameters())) == len(variables)
    path = str(tmp_path / "lstm.onnx")
    stripped.export(path, format="onnx", sample_input=x, verbose=False)
    session = onnxruntime.InferenceSession(path)
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(
        out, to_numpy(original(x, training=False)), rtol=0, atol=1e-5
    )
