"""ONNX and LiteRT export: the files give the Keras model's inference outputs."""

import warnings

import numpy as np
import pytest
from export_models import flat, kind_model, mixed_model

import kerasdrop
from kerasdrop.serving import inference_outputs, sample_inputs_for
from helpers import to_numpy


@pytest.mark.tf_only
def test_export_onnx_matches_keras(tmp_path):
    pytest.importorskip(
        "tf2onnx", reason="ONNX export needs tf2onnx (kerasdrop[export])"
    )
    ort = pytest.importorskip(
        "onnxruntime", reason="needs onnxruntime (kerasdrop[export])"
    )
    model = mixed_model()
    x = sample_inputs_for(model)
    path = kerasdrop.export(model, tmp_path / "m.onnx", format="onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert sorted(i.name for i in session.get_inputs()) == ["a", "b"]
    outputs = session.run(None, {"a": x["a"], "b": x["b"]})
    expected = inference_outputs(model, x)
    by_name = dict(zip([o.name for o in session.get_outputs()], outputs))
    for key in ("probs", "value"):
        match = [v for k, v in by_name.items() if key in k]
        assert match, by_name.keys()
        np.testing.assert_allclose(
            to_numpy(match[0]), to_numpy(expected[key]), rtol=1e-4, atol=1e-5
        )


@pytest.mark.tf_only
def test_export_litert_matches_keras(tmp_path):
    import tensorflow as tf

    model = kind_model("Dropout_classic")
    x = sample_inputs_for(model)
    path = kerasdrop.export(model, tmp_path / "m.tflite", format="litert")
    with warnings.catch_warnings():  # tf.lite.Interpreter is deprecated
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=str(path))
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], x)
    interpreter.invoke()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(
        to_numpy(got),
        to_numpy(flat(inference_outputs(model, x))[0]),
        rtol=1e-4,
        atol=1e-5,
    )
