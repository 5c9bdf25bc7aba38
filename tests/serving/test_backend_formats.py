"""What `kerasdrop.export` writes on each backend: SavedModels on TensorFlow
and JAX, verified ONNX files on PyTorch (Keras writes no SavedModel there),
and the refusals of what PyTorch cannot serve."""

import importlib.util
import warnings

import keras
import numpy as np
import pytest
from export_models import needs_saved_model, torch_only

import kerasdrop
from kerasdrop import layers as L
from kerasdrop.serving import ExportError, inference_outputs, onnx_litert

ONNX_NOTE = "serves through ONNX"


def mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((4,), name="x"),
            keras.layers.Dense(8, activation="relu"),
            L.Dropout(0.3, seed=1),
            keras.layers.Dense(2),
        ]
    )


def cnn():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((8, 8, 3), name="image"),
            keras.layers.Conv2D(4, 3),
            L.SpatialDropout2D(0.3, seed=1),
            keras.layers.BatchNormalization(),
            keras.layers.GlobalAveragePooling2D(),
            L.Dropout(0.2, seed=2, mc=True),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def inputs(model, rows=5):
    shape = (rows,) + tuple(model.inputs[0].shape[1:])
    return np.random.default_rng(0).standard_normal(shape).astype("float32")


def export_notes(*args, **kwargs):
    """`(path, messages of the ONNX notes)` of `kerasdrop.export`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = kerasdrop.export(*args, **kwargs)
    return path, [str(w.message) for w in caught if ONNX_NOTE in str(w.message)]


def assert_onnx_serves(path, model, x):
    """onnxruntime gives `model(x, training=False)` (MC layers held at
    inference: `inference_outputs`), twice the same."""
    run = onnx_litert.runner(path, "onnx")
    (first,), (second,) = run(x), run(x)
    np.testing.assert_array_equal(first, second)
    expected = inference_outputs(model, x)
    np.testing.assert_allclose(first, expected, rtol=1e-4, atol=1e-5)


@needs_saved_model
def test_default_format_stays_a_saved_model_on_tensorflow_and_jax(tmp_path):
    path, notes = export_notes(mlp(), tmp_path / "m")
    assert path == tmp_path / "m" and notes == []
    assert (path / "saved_model.pb").is_file()


@torch_only
@pytest.mark.parametrize("build", [mlp, cnn])
def test_default_format_on_torch_is_a_verified_onnx_file(build, tmp_path):
    model = build()
    x = inputs(model)
    path, notes = export_notes(model, tmp_path / "m", sample_inputs=x)
    assert path == tmp_path / "m.onnx" and [p.name for p in tmp_path.iterdir()] == [
        "m.onnx"
    ]
    assert len(notes) == 1 and "format='onnx'" in notes[0], notes
    assert_onnx_serves(path, model, x)
    # Explicit: no note, the name as given.
    path, notes = export_notes(model, tmp_path / "e.onnx", format="onnx")
    assert path == tmp_path / "e.onnx" and notes == []
    assert_onnx_serves(path, model, x)


@torch_only
@pytest.mark.parametrize(
    "kwargs, what",
    [
        ({"format": "tf_saved_model"}, "a SavedModel"),
        ({"mc_samples": 4}, "the `mc` signature"),
        ({"mc_samples": 4, "format": "tf_saved_model"}, "the `mc` signature"),
        ({"version": 1}, "a TF Serving version"),
    ],
)
def test_saved_model_features_on_torch_are_export_errors(kwargs, what, tmp_path):
    with pytest.raises(ExportError, match="Keras cannot write a SavedModel") as info:
        kerasdrop.export(mlp(), tmp_path / "new" / "m", **kwargs)
    message = str(info.value)
    assert what in message and "format='onnx'" in message
    assert "KERAS_BACKEND=tensorflow or jax" in message
    assert "kerasdrop.mc.predict" in message and "Nothing was written" in message
    assert list(tmp_path.iterdir()) == []


@torch_only
def test_onnx_on_torch_is_verified_and_a_mismatch_leaves_nothing(tmp_path, monkeypatch):
    runner = onnx_litert.runner

    def off_by_a_little(path, format):
        run = runner(path, format)
        return lambda x: [y + 1e-3 for y in run(x)]

    monkeypatch.setattr(onnx_litert, "runner", off_by_a_little)
    with pytest.raises(ExportError, match="the onnx artifact does not match"):
        kerasdrop.export(mlp(), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


@torch_only
def test_a_model_random_at_inference_is_refused_on_torch(tmp_path):
    """torch.onnx cannot trace a random op (a torch.Generator constant), so
    an ONNX graph that samples (an MC export) has no Keras route on torch."""

    class Noisy(keras.layers.Layer):
        def call(self, x):
            # A random op whose draw adds nothing: the outputs match.
            return x + 0.0 * keras.random.normal(keras.ops.shape(x))

    model = keras.Sequential([keras.Input((4,), name="x"), Noisy()])
    with pytest.raises(ExportError, match="failed: SymbolicValueError"):
        kerasdrop.export(model, tmp_path / "new" / "m.onnx")
    assert list(tmp_path.iterdir()) == []


@torch_only
def test_litert_on_torch_names_the_missing_package(tmp_path):
    if importlib.util.find_spec("litert_torch") is not None:
        pytest.skip("litert-torch is installed: this checks the error without it")
    with pytest.raises(ImportError, match="litert-torch.*format='onnx'"):
        kerasdrop.export(mlp(), tmp_path / "m.tflite", format="litert")
    assert list(tmp_path.iterdir()) == []


@torch_only
def test_converted_mobilenet_and_lstm_export_verified_on_torch(tmp_path):
    """The issue's zoo: convert -> export (strip inside) -> onnxruntime."""
    keras.utils.set_random_seed(0)
    net = keras.applications.MobileNetV3Small(
        weights=None, input_shape=(32, 32, 3), minimalistic=True, classes=5
    )
    seq = keras.Input((6, 3), name="seq")
    hidden = keras.layers.LSTM(4, dropout=0.2, recurrent_dropout=0.2)(seq)
    lstm = keras.Model(seq, keras.layers.Dense(2)(hidden))
    for name, model in [("mobilenet", net), ("lstm", lstm)]:
        converted = kerasdrop.convert(model, mc=True)
        assert kerasdrop.graph.dropout_layers(converted)
        x = inputs(converted, rows=3)
        path = kerasdrop.export(converted, tmp_path / f"{name}.onnx", format="onnx")
        assert_onnx_serves(path, converted, x)
