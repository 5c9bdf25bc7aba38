"""SavedModel export: the serving signature and the MC signature."""

import keras
import numpy as np
import pytest
from export_models import (
    CONCRETE_BIAS,
    KINDS,
    NO_MC,
    call,
    flat,
    kind_model,
    load_signatures,
    needs_saved_model,
)

import kerasdrop
from kerasdrop import layers as L
from kerasdrop.serving import inference_outputs, random_ops, sample_inputs_for
from helpers import to_numpy


def check_mc_endpoint(model, signatures, x, samples, bias=0.0):
    """MC outputs vary and their mean is the deterministic output within 5 SE."""
    first, second = call(signatures["mc"], x), call(signatures["mc"], x)
    assert not np.array_equal(
        to_numpy(first["output_0_mean"]), to_numpy(second["output_0_mean"])
    )
    assert np.all(first["output_0_std"] > 0)
    det = flat(inference_outputs(model, x))[0]
    tolerance = (
        5 * first["output_0_std"] / np.sqrt(to_numpy(samples))
        + bias * np.abs(to_numpy(det))
        + 1e-5
    )
    assert np.all(np.abs(first["output_0_mean"] - det) <= tolerance), (
        np.abs(first["output_0_mean"] - det) / tolerance
    ).max()


@pytest.mark.tf_only
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_export_each_kind(kind, tmp_path):
    model = kind_model(kind)
    x = sample_inputs_for(model)
    samples = None if kind in NO_MC else 400
    path = kerasdrop.export(model, tmp_path / "m", mc_samples=samples)
    signatures = load_signatures(path)
    serving = signatures["serving_default"]
    assert random_ops(serving) == []
    once, twice = call(serving, x), call(serving, x)
    np.testing.assert_array_equal(
        to_numpy(once["output_0"]), to_numpy(twice["output_0"])
    )
    np.testing.assert_allclose(
        to_numpy(once["output_0"]),
        to_numpy(flat(inference_outputs(model, x))[0]),
        rtol=1e-5,
        atol=1e-6,
    )
    if samples:
        assert random_ops(signatures["mc"])  # the MC endpoint does sample
        bias = CONCRETE_BIAS if "Concrete" in kind else 0.0
        check_mc_endpoint(model, signatures, x, samples, bias)
        assert set(call(signatures["mc"], x)) == {"output_0_mean", "output_0_std"}


@pytest.mark.tf_only
def test_mixed_export_layout_and_signature(mixed_export):
    from tensorflow.core.protobuf import saved_model_pb2

    _, base, path, _ = mixed_export
    assert path == base / "7"
    assert sorted(p.name for p in base.iterdir()) == ["7"]  # no temporary left
    assert (path / "saved_model.pb").is_file() and (path / "variables").is_dir()
    # What `saved_model_cli show --dir PATH --all` prints, read from the proto.
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    meta = proto.meta_graphs[0]
    assert "serve" in meta.meta_info_def.tags
    sig = meta.signature_def["serving_default"]

    def described(tensors):
        return {
            name: (t.dtype, [d.size for d in t.tensor_shape.dim])
            for name, t in tensors.items()
        }

    DT_FLOAT = 1
    assert described(sig.inputs) == {
        "a": (DT_FLOAT, [-1, 6]),
        "b": (DT_FLOAT, [-1, 3, 3, 2]),
    }
    assert described(sig.outputs) == {
        "probs": (DT_FLOAT, [-1, 3]),
        "value": (DT_FLOAT, [-1, 1]),
    }
    assert set(meta.signature_def) >= {"serving_default", "serve", "mc"}
    assert set(meta.signature_def["mc"].outputs) == {
        "probs_mean",
        "probs_std",
        "probs_entropy",
        "probs_mutual_information",
        "value_mean",
        "value_std",
    }


@pytest.mark.tf_only
def test_mixed_export_serving_is_deterministic_and_equal(mixed_export):
    model, _, path, x = mixed_export
    signatures = load_signatures(path)
    serving = signatures["serving_default"]
    assert random_ops(serving) == []
    once, twice = call(serving, x), call(serving, x)
    expected = inference_outputs(model, x)
    for key in ("probs", "value"):
        np.testing.assert_array_equal(to_numpy(once[key]), to_numpy(twice[key]))
        np.testing.assert_allclose(
            to_numpy(once[key]), to_numpy(expected[key]), rtol=1e-5, atol=1e-6
        )


@pytest.mark.tf_only
def test_mixed_export_mc_signature(mixed_export):
    model, _, path, x = mixed_export
    mc = load_signatures(path)["mc"]
    first, second = call(mc, x), call(mc, x)
    assert not np.array_equal(
        to_numpy(first["probs_mean"]), to_numpy(second["probs_mean"])
    )
    np.testing.assert_allclose(to_numpy(first["probs_mean"].sum(-1)), 1.0, rtol=1e-5)
    assert np.all(first["probs_std"] > 0) and np.all(first["value_std"] > 0)
    # Mutual information is the part of the entropy that varies with masks.
    assert np.all(first["probs_mutual_information"] > 0)
    assert np.all(first["probs_mutual_information"] <= first["probs_entropy"] + 1e-6)
    assert first["probs_entropy"].shape == (4,)


@needs_saved_model
def test_export_serving_on_every_backend(tmp_path):
    """SavedModel export also runs on JAX (jax2tf); outputs are verified.
    PyTorch serves ONNX instead (tests/serving/test_torch.py)."""
    model = kind_model("Dropout_mc")
    x = sample_inputs_for(model)
    path = kerasdrop.export(model, tmp_path / "m", mc_samples=16)
    signatures = load_signatures(path)
    np.testing.assert_allclose(
        to_numpy(call(signatures["serving_default"], x)["output_0"]),
        to_numpy(flat(inference_outputs(model, x))[0]),
        rtol=1e-5,
        atol=1e-6,
    )
    first, second = call(signatures["mc"], x), call(signatures["mc"], x)
    assert not np.array_equal(
        to_numpy(first["output_0_mean"]), to_numpy(second["output_0_mean"])
    )


@needs_saved_model
def test_mc_signature_of_a_sequential_classifier_has_entropy(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((4,), name="x"),
            keras.layers.Dense(8),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    path = kerasdrop.export(model, tmp_path / "m", mc_samples=8)
    result = call(load_signatures(path)["mc"], sample_inputs_for(model))
    assert set(result) == {
        f"output_0_{key}" for key in ("mean", "std", "entropy", "mutual_information")
    }


@pytest.mark.tf_only
def test_mc_signature_equals_mc_predict_on_a_multi_unit_sigmoid_head(tmp_path):
    """One statistics function (`kerasdrop.mc.stats`) behind both paths.

    The SavedModel holds the dropout layer's generator state, so its `mc`
    signature draws the masks `mc.predict` draws next from the layer's own
    stream (seed=None), consistent masks on both: the numbers must be
    equal, bit for bit. The four
    sigmoid units are independent Bernoullis on both paths (entropies summed
    over units, one per input), as `metrics` with `multi_label=True`.
    """
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((5,), name="x"),
            keras.layers.Dense(16, activation="relu"),
            L.Dropout(0.4, seed=3),
            keras.layers.Dense(4, activation="sigmoid"),
        ]
    )
    x = np.random.default_rng(1).normal(size=(6, 5)).astype("float32")
    path = kerasdrop.export(model, tmp_path / "m", mc_samples=32)
    result = kerasdrop.mc.predict(
        model,
        x,
        samples=32,
        return_samples=True,
        reuse_prefix=False,
        verbose=0,
        consistent=True,
    )
    exported = call(load_signatures(path)["mc"], x)
    exported = {k.removeprefix("output_0_"): v for k, v in exported.items()}
    assert sorted(exported) == ["entropy", "mean", "mutual_information", "std"]
    assert exported["entropy"].shape == result.predictive_entropy.shape == (6,)
    fields = {
        "mean": "mean",
        "std": "std",
        "entropy": "predictive_entropy",
        "mutual_information": "mutual_information",
    }
    for key, field in fields.items():
        np.testing.assert_array_equal(
            to_numpy(exported[key]), to_numpy(getattr(result, field)), key
        )
    assert np.all(result.mutual_information > 0)
    # metrics: the same entropy (float64, from the samples themselves).
    s = result.samples.astype("float64")
    p = s.mean(axis=0)
    by_hand = -(p * np.log(to_numpy(p)) + (1 - p) * np.log(1 - p)).sum(axis=-1)
    for got in (
        result.predictive_entropy,
        kerasdrop.metrics.predictive_entropy(s, multi_label=True),
    ):
        np.testing.assert_allclose(to_numpy(got), to_numpy(by_hand), rtol=1e-5)
    np.testing.assert_allclose(
        to_numpy(result.mutual_information),
        to_numpy(kerasdrop.metrics.mutual_information(s, multi_label=True)),
        atol=1e-5,
    )
    # Per-unit decisions of independent labels.
    assert result.predicted_class.shape == result.max_probability.shape == (6, 4)
    np.testing.assert_array_equal(
        to_numpy(result.predicted_class), to_numpy((p > 0.5).astype("int64"))
    )
