"""strip_dropout (every backend): a model with no dropout layer left."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from export_models import KINDS, Subclassed, flat, kind_model, mixed_model

import kerasdrop
from kerasdrop import layers as L
from kerasdrop.graph import is_dropout_layer
from kerasdrop.serving import inference_outputs, sample_inputs_for
from helpers import to_numpy


def assert_no_dropout(model):
    assert not [x for x in model._flatten_layers(recursive=True) if is_dropout_layer(x)]
    assert not [
        x
        for x in model._flatten_layers(recursive=True)
        if type(x).__module__.startswith("kerasdrop")
    ]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_strip_each_kind_matches_inference(kind):
    model = kind_model(kind)
    x = sample_inputs_for(model)
    stripped = kerasdrop.strip_dropout(model)
    assert_no_dropout(stripped)
    assert isinstance(stripped, keras.Sequential)
    expected = flat(inference_outputs(model, x))
    got = flat(stripped(x, training=False))
    np.testing.assert_allclose(
        to_numpy(got[0]), to_numpy(expected[0]), rtol=1e-6, atol=1e-7
    )
    # The original model is untouched.
    assert any(is_dropout_layer(x) for x in model._flatten_layers(recursive=True))


def test_strip_classic_dropout_becomes_rescaling_with_live_rate():
    model = kind_model("Dropout_classic")
    model.layers[1].rate = 0.45  # live value, not the constructor's
    stripped = kerasdrop.strip_dropout(model)
    scaling = [x for x in stripped.layers if isinstance(x, keras.layers.Rescaling)]
    assert len(scaling) == 1
    assert scaling[0].scale == pytest.approx(0.55)
    x = sample_inputs_for(model)
    np.testing.assert_array_equal(
        np.asarray(to_numpy(stripped(x))),
        np.asarray(to_numpy(model(x, training=False))),
    )


def test_strip_mixed_model_multi_io_nested():
    model = mixed_model()
    x = sample_inputs_for(model)
    stripped = kerasdrop.strip_dropout(model)
    assert_no_dropout(stripped)
    assert sorted(stripped.output_names) == sorted(model.output_names)
    assert isinstance(stripped.get_layer("nested"), keras.Sequential)
    for e, g in zip(flat(inference_outputs(model, x)), flat(stripped(x))):
        np.testing.assert_allclose(to_numpy(g), to_numpy(e), rtol=1e-6, atol=1e-6)
    # Deterministic although the model has an MC layer.
    np.testing.assert_array_equal(
        to_numpy(flat(stripped(x))[0]), to_numpy(flat(stripped(x))[0])
    )


def test_strip_keeps_output_names_and_shared_weights_are_copies():
    model = kind_model("Dropout")
    stripped = kerasdrop.strip_dropout(model)
    dense = stripped.get_layer("y")
    assert dense is not model.get_layer("y")
    np.testing.assert_array_equal(
        to_numpy(dense.get_weights()[0]),
        to_numpy(model.get_layer("y").get_weights()[0]),
    )
    inp = keras.Input((4,), name="x")
    out = L.Dropout(0.5, name="last")(keras.layers.Dense(3)(inp))
    functional = keras.Model(inp, out)
    stripped = kerasdrop.strip_dropout(functional)
    assert stripped.output_names == ["last"]
    assert type(stripped.get_layer("last")) is keras.layers.Identity


def test_strip_subclassed_model_says_what_to_do():
    model = Subclassed()
    model(np.ones((1, 3), "float32"))
    served = r"cannot copy.*`kerasdrop.export\(model, path\)` serves it as it is"
    with pytest.raises(TypeError, match=served) as info:
        kerasdrop.strip_dropout(model)
    assert "Received: model of type Subclassed" in str(info.value)
    with pytest.raises(TypeError, match="Expected a `keras.Model`"):
        kerasdrop.strip_dropout("model.keras")


class SubclassedWithConfig(Subclassed):
    def __init__(self, **kwargs):
        super().__init__()


def test_strip_subclassed_model_that_rebuilds_from_config():
    model = SubclassedWithConfig()
    x = np.ones((2, 3), "float32")
    model(x)
    stripped = kerasdrop.strip_dropout(model)
    assert type(stripped) is SubclassedWithConfig
    assert isinstance(stripped.drop, keras.layers.Identity)
    np.testing.assert_array_equal(to_numpy(stripped(x)), to_numpy(model(x)))
    inp = keras.Input((3,))
    outer = keras.Model(inp, model(inp))  # nested in a graph
    assert not kerasdrop.graph.dropout_layers(kerasdrop.strip_dropout(outer))


def test_stripped_keras_file_loads_without_kerasdrop(tmp_path):
    model = mixed_model()
    x = sample_inputs_for(model)
    stripped = kerasdrop.strip_dropout(model)
    stripped.save(tmp_path / "stripped.keras")
    model.save(tmp_path / "original.keras")
    np.savez(
        tmp_path / "io.npz",
        a=x["a"],
        b=x["b"],
        **{
            f"out_{k}": v for k, v in zip(sorted(model.output_names), flat(stripped(x)))
        },
    )
    code = f"""
import sys
sys.modules["kerasdrop"] = None  # any import of kerasdrop fails
import numpy as np, keras
d = np.load({str(tmp_path / "io.npz")!r})
m = keras.saving.load_model({str(tmp_path / "stripped.keras")!r})
out = m({{"a": d["a"], "b": d["b"]}})
for k in sorted(out):
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(out[k]), d["out_" + k], rtol=1e-6, atol=1e-6
    )
try:
    keras.saving.load_model({str(tmp_path / "original.keras")!r})
except Exception as err:
    print("original fails:", type(err).__name__)
else:
    raise SystemExit("the unstripped model loaded without kerasdrop")
loaded = [k for k, v in sys.modules.items() if k.startswith("kerasdrop") and v]
assert not loaded, loaded
print("ok")
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "original fails" in out.stdout and out.stdout.strip().endswith("ok")
