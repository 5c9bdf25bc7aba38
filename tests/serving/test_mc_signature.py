"""The `mc` signature of `kerasdrop.export` on any model shape, TF and JAX
(a SavedModel's: on PyTorch it is an `ExportError`, tests/serving/test_torch.py).

Reloaded with `tf.saved_model.load`, its statistics are those of
`kerasdrop.mc.predict(..., seed=s, consistent=True)` when the export holds
the generator states that seed sets: the signature draws consistent masks
from the layers' own streams, as `mc.predict` does. Its keys are
`<output key>_<statistic>`, after the output keys of `serving_default`.
"""

import keras
import numpy as np
import pytest
from export_models import call, load_signatures, needs_saved_model

import kerasdrop
from kerasdrop import layers as L
from kerasdrop.mc import guards, stats, switch
from kerasdrop.serving import ExportError
from helpers import to_numpy

SEED = 7
SAMPLES = 8


def seeded_export(model, path, x):
    """`export` with the dropout generators where `mc.predict(seed=SEED)`
    puts them (and put back afterwards)."""
    layers = switch.reachable_layers(model, "test")
    with guards.seeded(layers, SEED):
        return kerasdrop.export(model, path, sample_inputs=x, mc_samples=SAMPLES)


def predicted(model, x, task="auto"):
    return kerasdrop.mc.predict(
        model, x, samples=SAMPLES, seed=SEED, consistent=True, verbose=0, task=task
    )


@needs_saved_model
def test_variable_length_model(tmp_path):
    """A text-like model (unknown sequence length): the issue's example."""
    keras.utils.set_random_seed(0)
    x_in = keras.Input((None, 8), name="x")
    h = keras.layers.Dropout(0.2, seed=1)(keras.layers.Dense(8)(x_in))
    model = kerasdrop.convert(keras.Model(x_in, keras.layers.Dense(4)(h)))
    x = np.random.default_rng(0).normal(size=(3, 5, 8)).astype("float32")
    signatures = load_signatures(seeded_export(model, tmp_path / "m", x))
    assert set(call(signatures["serving_default"], x)) == {"output_0"}
    mc = call(signatures["mc"], x)
    assert set(mc) == {"output_0_mean", "output_0_std"}
    result = predicted(model, x, "regression")
    np.testing.assert_allclose(
        to_numpy(mc["output_0_mean"]), to_numpy(result.mean), atol=1e-5
    )
    np.testing.assert_allclose(
        to_numpy(mc["output_0_std"]), to_numpy(result.std), atol=1e-5
    )
    if keras.backend.backend() == "tensorflow":  # JAX fixes the length
        longer = call(signatures["mc"], np.ones((2, 11, 8), "float32"))
        assert longer["output_0_mean"].shape == (2, 11, 4)


@needs_saved_model
def test_dict_output_model(tmp_path):
    """Keys after the dict's keys, not the layers' names."""
    keras.utils.set_random_seed(0)
    x_in = keras.Input((5,), name="x")
    h = L.Dropout(0.3, seed=2)(keras.layers.Dense(8, activation="relu")(x_in))
    outputs = {
        "probs": keras.layers.Dense(3, activation="softmax", name="head_a")(h),
        "score": keras.layers.Dense(1, name="head_b")(h),
    }
    model = keras.Model(x_in, outputs)
    x = np.random.default_rng(1).normal(size=(4, 5)).astype("float32")
    signatures = load_signatures(seeded_export(model, tmp_path / "m", x))
    assert set(call(signatures["serving_default"], x)) == {"probs", "score"}
    mc = call(signatures["mc"], x)
    assert set(mc) == {
        "probs_mean",
        "probs_std",
        "probs_entropy",
        "probs_mutual_information",
        "score_mean",
        "score_std",
    }
    results = {  # mc.predict takes one output
        key: predicted(keras.Model(x_in, tensor), x) for key, tensor in outputs.items()
    }
    for key, result in results.items():
        np.testing.assert_allclose(
            to_numpy(mc[f"{key}_mean"]), to_numpy(result.mean), atol=1e-5
        )
        np.testing.assert_allclose(
            to_numpy(mc[f"{key}_std"]), to_numpy(result.std), atol=1e-5
        )
    np.testing.assert_allclose(
        to_numpy(mc["probs_entropy"]),
        to_numpy(results["probs"].predictive_entropy),
        atol=1e-5,
    )


@needs_saved_model
def test_two_input_model(tmp_path):
    keras.utils.set_random_seed(0)
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    ha = L.Dropout(0.3, seed=3)(keras.layers.Dense(6, activation="tanh")(a))
    hb = L.GaussianDropout(0.3, seed=4)(keras.layers.Dense(6)(b))
    h = keras.layers.Concatenate()([ha, hb])
    model = keras.Model([a, b], keras.layers.Dense(2)(h))
    rng = np.random.default_rng(2)
    x = {"a": rng.normal(size=(5, 4)), "b": rng.normal(size=(5, 3))}
    x = {k: v.astype("float32") for k, v in x.items()}
    signatures = load_signatures(seeded_export(model, tmp_path / "m", [x["a"], x["b"]]))
    mc = call(signatures["mc"], x)
    assert set(mc) == {"output_0_mean", "output_0_std"}
    result = predicted(model, [x["a"], x["b"]], "regression")
    np.testing.assert_allclose(
        to_numpy(mc["output_0_mean"]), to_numpy(result.mean), atol=1e-5
    )


def test_list_outputs_are_keyed_as_serving_default_keys_them():
    assert stats.output_keys([1, 2]) == ["output_0", "output_1"]
    assert stats.output_keys(3) == ["output_0"]
    assert stats.output_keys({"b": 1, "a": 2}) == ["a", "b"]


@needs_saved_model
def test_failures_are_export_errors_naming_the_cause(tmp_path, monkeypatch):
    model = keras.Sequential(
        [keras.Input((4,), name="x"), L.Dropout(0.3), keras.layers.Dense(2)]
    )
    stock = keras.Sequential(
        [keras.Input((4,), name="x"), keras.layers.AlphaDropout(0.3)]
    )
    with pytest.raises(ExportError, match="can sample at inference"):
        kerasdrop.export(stock, tmp_path / "stock", mc_samples=4)

    def broken(*args, **kwargs):
        raise ValueError("None values not supported.")

    monkeypatch.setattr(stats, "statistics", broken)
    with pytest.raises(ExportError, match="tracing it on the inputs") as caught:
        kerasdrop.export(model, tmp_path / "m", mc_samples=4)
    assert "None values not supported" in str(caught.value)
    assert isinstance(caught.value.__cause__, ValueError)
    assert not (tmp_path / "m").exists()
