"""strip_dropout, export (SavedModel / ONNX / LiteRT) and the export/inspect CLI."""

import io
import os
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

import kerasdrop
from kerasdrop.apps import cli
from kerasdrop import layers as L
from kerasdrop.serving import (
    ExportError,
    inference_outputs,
    random_ops,
    sample_inputs_for,
)
from kerasdrop.graph import is_dropout_layer
from kerasdrop.inspection import dropout_summary, variance_shift_warnings

ROOT = Path(__file__).resolve().parents[2]
BACKEND = keras.backend.backend()

# Kind -> (input shape, layer factory). Each model is
# Input -> Dense(tanh) -> KIND -> Flatten -> Dense (linear), so the mean of
# the MC passes equals the deterministic output (dropout is unbiased and
# what follows is linear).
KINDS = {
    "Dropout": ((6,), lambda: L.Dropout(0.3, seed=1)),
    "Dropout_classic": ((6,), lambda: L.Dropout(0.3, seed=1, scaling="classic")),
    "Dropout_mc": ((6,), lambda: L.Dropout(0.3, seed=1, mc=True)),
    "Dropout_scheduled": (
        (6,),
        lambda: L.Dropout(kerasdrop.schedules.Linear(0.1, 0.5, 4), seed=1),
    ),
    "SpatialDropout1D": ((5, 3), lambda: L.SpatialDropout1D(0.3, seed=1)),
    "SpatialDropout2D": ((3, 3, 2), lambda: L.SpatialDropout2D(0.3, seed=1)),
    "SpatialDropout3D": ((2, 2, 2, 2), lambda: L.SpatialDropout3D(0.3, seed=1)),
    "GaussianDropout": ((6,), lambda: L.GaussianDropout(0.3, seed=1)),
    "DropPath": ((6,), lambda: L.DropPath(0.3, seed=1)),
    # temperature 0.1: the relaxed mask's mean is 1 - p within 0.2%.
    "ConcreteDropout": (
        (6,),
        lambda: L.ConcreteDropout(keras.layers.Dense(5), init_rate=0.3, seed=1),
    ),
    "SpatialConcreteDropout": (
        (3, 3, 2),
        lambda: L.SpatialConcreteDropout(
            keras.layers.Conv2D(2, 1), init_rate=0.3, temperature=0.1, seed=1
        ),
    ),
    "keras.Dropout": ((6,), lambda: keras.layers.Dropout(0.3, seed=1)),
    "keras.SpatialDropout1D": ((5, 3), lambda: keras.layers.SpatialDropout1D(0.3)),
    "keras.SpatialDropout2D": ((3, 3, 2), lambda: keras.layers.SpatialDropout2D(0.3)),
    "keras.SpatialDropout3D": (
        (2, 2, 2, 2),
        lambda: keras.layers.SpatialDropout3D(0.3),
    ),
    "keras.GaussianDropout": ((6,), lambda: keras.layers.GaussianDropout(0.3)),
    "keras.GaussianNoise": ((6,), lambda: keras.layers.GaussianNoise(0.3)),
    "keras.AlphaDropout": ((6,), lambda: keras.layers.AlphaDropout(0.3)),
}
# Stock layers kerasdrop.convert cannot turn into sampling layers.
NO_MC = {"keras.GaussianNoise", "keras.AlphaDropout"}
CONCRETE_BIAS = 0.003  # |E[relaxed keep] / (1 - p) - 1| at temperature 0.1


def kind_model(kind):
    keras.utils.set_random_seed(0)
    shape, make = KINDS[kind]
    layer = make()
    model = keras.Sequential(
        [
            keras.Input(shape, name="x"),
            keras.layers.Dense(4, activation="tanh"),
            layer,
            keras.layers.Flatten(),
            keras.layers.Dense(2, name="y"),
        ],
        name=f"m_{kind.replace('.', '_')}",
    )
    if kind == "Dropout_scheduled":
        layer.step = 2  # rate 0.3 on the schedule
    return model


def mixed_model():
    """Two inputs, two outputs, a nested Sequential, every kind of layer."""
    keras.utils.set_random_seed(0)
    a = keras.Input((6,), name="a")
    b = keras.Input((3, 3, 2), name="b")
    h = keras.layers.Dense(8, activation="relu")(a)
    h = L.Dropout(0.2, scaling="classic", seed=1)(h)
    h = L.ConcreteDropout(keras.layers.Dense(8, activation="relu"), seed=2)(h)
    h = keras.layers.Dropout(0.3, seed=3)(h)
    h = keras.layers.GaussianNoise(0.1, seed=4)(h)
    g = L.SpatialConcreteDropout(keras.layers.Conv2D(4, 1), seed=5)(b)
    g = L.SpatialDropout2D(0.2, seed=6, mc=True)(g)
    g = keras.layers.SpatialDropout2D(0.1)(g)
    g = keras.layers.Flatten()(g)
    nested = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(8, activation="tanh"),
            L.GaussianDropout(0.2, seed=7),
            keras.layers.AlphaDropout(0.1, seed=8),
            keras.layers.GaussianDropout(0.1, seed=9),
        ],
        name="nested",
    )
    h = nested(h)
    r = L.DropPath(0.2, seed=10)(keras.layers.Dense(8)(h))
    h = keras.layers.Add()([h, r])
    h = keras.layers.Concatenate()([h, g])
    probs = keras.layers.Dense(3, activation="softmax", name="probs")(h)
    value = keras.layers.Dense(1, name="value")(L.Dropout(0.1, seed=11)(h))
    return keras.Model({"a": a, "b": b}, {"probs": probs, "value": value})


def assert_no_dropout(model):
    assert not [x for x in model._flatten_layers(recursive=True) if is_dropout_layer(x)]
    assert not [
        x
        for x in model._flatten_layers(recursive=True)
        if type(x).__module__.startswith("kerasdrop")
    ]


def flat(outputs):
    if isinstance(outputs, dict):
        return [np.asarray(outputs[k]) for k in sorted(outputs)]
    return [np.asarray(o) for o in keras.tree.flatten(outputs)]


# ----------------------------------------------------------------------------
# strip_dropout (every backend)
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_strip_each_kind_matches_inference(kind):
    model = kind_model(kind)
    x = sample_inputs_for(model)
    stripped = kerasdrop.strip_dropout(model)
    assert_no_dropout(stripped)
    assert isinstance(stripped, keras.Sequential)
    expected = flat(inference_outputs(model, x))
    got = flat(stripped(x, training=False))
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6, atol=1e-7)
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
        np.asarray(stripped(x)), np.asarray(model(x, training=False))
    )


def test_strip_mixed_model_multi_io_nested():
    model = mixed_model()
    x = sample_inputs_for(model)
    stripped = kerasdrop.strip_dropout(model)
    assert_no_dropout(stripped)
    assert sorted(stripped.output_names) == sorted(model.output_names)
    assert isinstance(stripped.get_layer("nested"), keras.Sequential)
    for e, g in zip(flat(inference_outputs(model, x)), flat(stripped(x))):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6)
    # Deterministic although the model has an MC layer.
    np.testing.assert_array_equal(flat(stripped(x))[0], flat(stripped(x))[0])


def test_strip_keeps_output_names_and_shared_weights_are_copies():
    model = kind_model("Dropout")
    stripped = kerasdrop.strip_dropout(model)
    dense = stripped.get_layer("y")
    assert dense is not model.get_layer("y")
    np.testing.assert_array_equal(
        dense.get_weights()[0], model.get_layer("y").get_weights()[0]
    )
    inp = keras.Input((4,), name="x")
    out = L.Dropout(0.5, name="last")(keras.layers.Dense(3)(inp))
    functional = keras.Model(inp, out)
    stripped = kerasdrop.strip_dropout(functional)
    assert stripped.output_names == ["last"]
    assert type(stripped.get_layer("last")) is keras.layers.Identity


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(2)
        self.drop = L.Dropout(0.5)

    def call(self, x, training=False):
        return self.drop(self.dense(x), training=training)


def test_strip_subclassed_model_says_what_to_do():
    model = Subclassed()
    model(np.ones((1, 3), "float32"))
    with pytest.raises(TypeError, match="cannot copy.*model.export") as info:
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
    np.testing.assert_array_equal(stripped(x), model(x))
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
    np.testing.assert_allclose(np.asarray(out[k]), d["out_" + k], rtol=1e-6, atol=1e-6)
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


# ----------------------------------------------------------------------------
# SavedModel export
# ----------------------------------------------------------------------------
def load_signatures(path):
    import tensorflow as tf

    return tf.saved_model.load(str(path)).signatures


def call(signature, x):
    import tensorflow as tf

    if not isinstance(x, dict):
        x = {"x": x}
    return {
        k: np.asarray(v)
        for k, v in signature(**{k: tf.constant(v) for k, v in x.items()}).items()
    }


def check_mc_endpoint(model, signatures, x, samples, bias=0.0):
    """MC outputs vary and their mean is the deterministic output within 5 SE."""
    first, second = call(signatures["mc"], x), call(signatures["mc"], x)
    assert not np.array_equal(first["mean"], second["mean"])
    assert np.all(first["std"] > 0)
    det = flat(inference_outputs(model, x))[0]
    tolerance = 5 * first["std"] / np.sqrt(samples) + bias * np.abs(det) + 1e-5
    assert np.all(np.abs(first["mean"] - det) <= tolerance), (
        np.abs(first["mean"] - det) / tolerance
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
    np.testing.assert_array_equal(once["output_0"], twice["output_0"])
    np.testing.assert_allclose(
        once["output_0"], flat(inference_outputs(model, x))[0], rtol=1e-5, atol=1e-6
    )
    if samples:
        assert random_ops(signatures["mc"])  # the MC endpoint does sample
        bias = CONCRETE_BIAS if "Concrete" in kind else 0.0
        check_mc_endpoint(model, signatures, x, samples, bias)
        assert set(call(signatures["mc"], x)) == {"mean", "std"}  # not a classifier


@pytest.fixture(scope="module")
def mixed_export(tmp_path_factory):
    """The mixed model exported once (TF Serving layout, MC signature)."""
    keras.backend.clear_session()
    model = mixed_model()
    base = tmp_path_factory.mktemp("mixed") / "served"
    x = sample_inputs_for(model)
    path = kerasdrop.export(model, base, mc_samples=64, version=7, sample_inputs=x)
    return model, base, path, x


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
        np.testing.assert_array_equal(once[key], twice[key])
        np.testing.assert_allclose(once[key], expected[key], rtol=1e-5, atol=1e-6)


@pytest.mark.tf_only
def test_mixed_export_mc_signature(mixed_export):
    model, _, path, x = mixed_export
    mc = load_signatures(path)["mc"]
    first, second = call(mc, x), call(mc, x)
    assert not np.array_equal(first["probs_mean"], second["probs_mean"])
    np.testing.assert_allclose(first["probs_mean"].sum(-1), 1.0, rtol=1e-5)
    assert np.all(first["probs_std"] > 0) and np.all(first["value_std"] > 0)
    # Mutual information is the part of the entropy that varies with masks.
    assert np.all(first["probs_mutual_information"] > 0)
    assert np.all(first["probs_mutual_information"] <= first["probs_entropy"] + 1e-6)
    assert first["probs_entropy"].shape == (4,)


@pytest.mark.tf_only
def test_export_overwrite_replaces_only_an_export_artifact(mixed_export, tmp_path):
    model = kind_model("Dropout_mc")
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "notes.txt").write_text("mine")
    (project / "src" / "train.py").write_text("code")
    for overwrite, match in [
        (False, "already exists and was left untouched"),
        (True, "replaces only an export artifact"),
    ]:
        with pytest.raises(ValueError, match=match):
            kerasdrop.export(model, project, overwrite=overwrite)
    assert sorted(p.name for p in project.rglob("*")) == [
        "notes.txt",
        "src",
        "train.py",
    ]
    # A previous export is replaced; one the user added a file to is not.
    target = tmp_path / "m"
    kerasdrop.export(model, target)
    path = kerasdrop.export(model, target, overwrite=True)
    assert (path / "saved_model.pb").is_file()
    (target / "README.txt").write_text("deployment notes")
    with pytest.raises(
        ValueError, match="'README.txt', which is not part of a SavedModel"
    ):
        kerasdrop.export(model, target, overwrite=True)
    assert (target / "README.txt").read_text() == "deployment notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "project"]
    # An existing version directory is protected the same way.
    _, base, versioned, _ = mixed_export
    before = sorted(p.name for p in versioned.rglob("*"))
    with pytest.raises(ValueError, match="overwrite=True"):
        kerasdrop.export(model, base, version=7)
    assert sorted(p.name for p in versioned.rglob("*")) == before


def run_export_child(target, point, overwrite):
    """`export_child.py` exporting Input(4) -> Dense(2) with kerasdrop.export."""
    child = ROOT / "tests" / "serving" / "export_child.py"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    # The kerasdrop under test, not another installed copy.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [
            sys.executable,
            str(child),
            "export",
            str(target),
            point,
            "1" if overwrite else "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )


@pytest.mark.tf_only
@pytest.mark.slow
def test_export_beside_a_running_one_is_refused_and_a_killed_one_recovered(tmp_path):
    """A real process exporting over `m` pauses between the two renames: an
    export to `m` from here is refused while it runs (not written beside it);
    then it is SIGKILLed, and the next export puts the old artifact back."""
    import signal

    model = keras.Sequential([keras.Input((4,), name="x"), keras.layers.Dense(2)])
    target = tmp_path / "m"
    kerasdrop.export(model, target)
    old = (target / "saved_model.pb").read_bytes()
    child = run_export_child(target, "swap", overwrite=True)
    try:
        assert child.stdout.readline().strip() == "paused"
        assert not target.exists()  # the old artifact is moved aside
        for overwrite in (False, True):
            with pytest.raises(ValueError, match=f"running \\(process {child.pid}"):
                kerasdrop.export(model, target, overwrite=overwrite)
        assert not target.exists()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    with pytest.raises(ValueError, match="already exists"):
        kerasdrop.export(model, target)  # restores the old artifact first
    assert (target / "saved_model.pb").read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # nothing left


@pytest.mark.tf_only
def test_export_unwritable_path(tmp_path):
    model = kind_model("Dropout")
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    with pytest.raises(ValueError, match="writable"):
        kerasdrop.export(model, blocker / "sub" / "m")
    assert blocker.read_text() == "not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


class StaysRandom(keras.layers.Layer):
    """A custom noise layer strip_dropout does not know: random at inference."""

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.seed_generator = keras.random.SeedGenerator(0)

    def call(self, x):
        noise = keras.random.normal(keras.ops.shape(x), seed=self.seed_generator)
        return x + self.scale * noise

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@pytest.mark.tf_only
@pytest.mark.parametrize(
    "scale, message", [(0.0, "random ops"), (1.0, "does not match")]
)
def test_export_verification_failure_leaves_nothing(tmp_path, scale, message):
    model = keras.Sequential(
        [keras.Input((4,), name="x"), keras.layers.Dense(3), StaysRandom(scale)]
    )
    target = tmp_path / "new" / "deeper" / "m"
    with pytest.raises(ExportError, match=message):
        kerasdrop.export(model, target)
    assert list(tmp_path.iterdir()) == []  # not even the parents it created


@pytest.mark.tf_only
def test_export_bad_arguments():
    model = kind_model("Dropout")
    for kwargs, error, match in [
        ({"format": "pb"}, ValueError, "Expected one of"),
        ({"mc_samples": 1}, ValueError, "integer >= 2"),
        ({"mc_samples": 2.5}, TypeError, "mc_samples"),
        ({"version": -1}, ValueError, "non-negative integer"),
        ({"version": 1, "format": "onnx"}, ValueError, "tf_saved_model"),
        ({"format": "litert"}, ValueError, ".tflite"),
        ({"overwrite": "yes"}, TypeError, "overwrite"),
        ({"classifier": "relu"}, ValueError, "classifier"),
        ({"format": 1}, TypeError, "format"),
        ({"version": 1.0}, TypeError, "version"),
        ({"version": True}, TypeError, "version"),
        ({"classifier": 0}, TypeError, "classifier"),
        ({"classifier": ["softmax"]}, TypeError, "classifier"),
        ({"rtol": "1e-5"}, TypeError, "rtol"),
        ({"atol": float("nan")}, ValueError, "atol"),
    ]:
        with pytest.raises(error, match=match):
            kerasdrop.export(model, "/nonexistent/should/not/be/created", **kwargs)
    for path, kwargs, error, match in [
        ("", {}, ValueError, "non-empty path"),
        ("/nonexistent/a\0b", {}, ValueError, "NUL"),
        ("/", {"overwrite": True}, ValueError, "naming a file or directory"),
        ("/nonexistent/" + "a" * 250, {}, ValueError, "too long"),
        ("/nonexistent/m.onnx", {}, ValueError, "format='onnx', not 'tf_saved_model'"),
        ("/nonexistent/m.tflite", {"format": "onnx"}, ValueError, "format='litert'"),
    ]:
        with pytest.raises(error, match=match):
            kerasdrop.export(model, path, **kwargs)
    assert not os.path.exists("/nonexistent")
    with pytest.raises(ValueError, match="can sample at inference"):
        kerasdrop.export(
            kind_model("keras.AlphaDropout"), "/nonexistent/x", mc_samples=4
        )
    with pytest.raises(TypeError, match="cannot copy"):
        sub = Subclassed()
        sub(np.ones((1, 3), "float32"))
        kerasdrop.export(sub, "/nonexistent/x")


def test_export_refuses_sample_inputs_it_cannot_verify_with(tmp_path):
    model = keras.Sequential([keras.Input((4,), name="x"), keras.layers.Dense(2)])
    ones = np.ones((2, 4), "float32")
    for sample_inputs, match in [
        (np.ones((0, 4), "float32"), "at least one row"),
        ("abc", "batch axis"),
        (ones.astype("int32"), "Expected float32 for input 'x'"),
        ([ones, ones], "Expected 1 array"),
        (np.ones((2, 5), "float32"), "cannot run on them: .*expected axis -1"),
    ]:
        with pytest.raises(ValueError, match="argument `sample_inputs`. .*" + match):
            kerasdrop.export(model, tmp_path / "m", sample_inputs=sample_inputs)
    assert list(tmp_path.iterdir()) == []


def test_export_serving_on_every_backend(tmp_path):
    """SavedModel export also runs on JAX (jax2tf); outputs are verified."""
    model = kind_model("Dropout_mc")
    x = sample_inputs_for(model)
    path = kerasdrop.export(model, tmp_path / "m", mc_samples=16)
    signatures = load_signatures(path)
    np.testing.assert_allclose(
        call(signatures["serving_default"], x)["output_0"],
        flat(inference_outputs(model, x))[0],
        rtol=1e-5,
        atol=1e-6,
    )
    first, second = call(signatures["mc"], x), call(signatures["mc"], x)
    assert not np.array_equal(first["mean"], second["mean"])


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
    assert {"mean", "std", "entropy", "mutual_information"} <= set(result)


# ----------------------------------------------------------------------------
# ONNX and LiteRT
# ----------------------------------------------------------------------------
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
        np.testing.assert_allclose(match[0], expected[key], rtol=1e-4, atol=1e-5)


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
        got, flat(inference_outputs(model, x))[0], rtol=1e-4, atol=1e-5
    )


# ----------------------------------------------------------------------------
# inspect and the CLI
# ----------------------------------------------------------------------------
def bn_model():
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8),
            L.Dropout(kerasdrop.schedules.Linear(0.0, 0.5, 10), name="sched"),
            keras.layers.BatchNormalization(name="bn"),
            L.GaussianDropout(0.2, mc=True, name="mc_noise"),
            keras.layers.GaussianNoise(0.1, name="noise"),
            keras.layers.Dense(1),
        ]
    )


def test_inspect_table_and_variance_shift_warning(tmp_path, capsys):
    model = bn_model()
    model.get_layer("sched").step = 4
    rows = {r["name"]: r for r in dropout_summary(model)}
    assert rows["sched"]["rate"] == "0.2" and rows["sched"]["step"] == 4
    assert rows["sched"]["schedule"].startswith("Linear(")
    assert rows["mc_noise"]["mc"] == "on" and rows["noise"]["mc"] == "n/a"
    assert rows["noise"]["kind"] == "keras.GaussianNoise"
    (warning,) = variance_shift_warnings(model)
    assert "'sched'" in warning and "'bn'" in warning
    model.save(tmp_path / "m.keras")
    assert cli.main(["inspect", str(tmp_path / "m.keras")]) == 0
    out = capsys.readouterr().out
    assert "3 dropout-family layer(s)" in out and "variance shift" in out
    for text in ("sched", "Linear(", "mc_noise", "keras.GaussianNoise", "stddev 0.1"):
        assert text in out


def test_inspect_no_warning_without_bn():
    assert variance_shift_warnings(kind_model("Dropout")) == []


def test_cli_bad_paths_exit_with_a_message(tmp_path, capsys):
    assert cli.main(["inspect", str(tmp_path / "missing.keras")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "model.h5").write_text("x")
    assert cli.main(["inspect", str(tmp_path / "model.h5")]) == 1
    assert ".keras" in capsys.readouterr().err
    (tmp_path / "broken.keras").write_text("not a zip")
    assert (
        cli.main(["export", str(tmp_path / "broken.keras"), str(tmp_path / "o")]) == 1
    )
    assert "Could not load" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit) as info:
        cli.main(["export", "m.keras", "out", "--mc-samples", "0"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        cli.main(["export", "m.keras", "out", "--format", "pb"])


@pytest.mark.tf_only
def test_cli_export(tmp_path, capsys):
    model = bn_model()
    model.save(tmp_path / "m.keras")
    argv = [
        "export",
        str(tmp_path / "m.keras"),
        str(tmp_path / "served"),
        "--mc-samples",
        "8",
        "--version",
        "2",
    ]
    assert cli.main(argv) == 0
    assert "verified" in capsys.readouterr().out
    signatures = load_signatures(tmp_path / "served" / "2")
    assert {"serving_default", "mc"} <= set(signatures)
    assert cli.main(argv) == 1  # exists
    assert "overwrite" in capsys.readouterr().err
    assert cli.main(argv + ["--overwrite"]) == 0
    help_text = io.StringIO()
    parser = cli.build_parser()
    help_text.write(
        parser._subparsers._group_actions[0].choices["export"].format_help()
    )
    for flag in ("--mc-samples", "--version", "--format", "--overwrite"):
        assert flag in help_text.getvalue()


@pytest.mark.tf_only
def test_mc_signature_equals_mc_predict_on_a_multi_unit_sigmoid_head(tmp_path):
    """One statistics function (`kerasdrop.mc.stats`) behind both paths.

    The SavedModel holds the dropout layer's generator state, so its `mc`
    signature draws the masks `mc.predict` draws next from the layer's own
    stream (seed=None): the numbers must be equal, bit for bit. The four
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
        model, x, samples=32, return_samples=True, reuse_prefix=False, verbose=0
    )
    exported = call(load_signatures(path)["mc"], x)
    assert sorted(exported) == ["entropy", "mean", "mutual_information", "std"]
    assert exported["entropy"].shape == result.predictive_entropy.shape == (6,)
    fields = {
        "mean": "mean",
        "std": "std",
        "entropy": "predictive_entropy",
        "mutual_information": "mutual_information",
    }
    for key, field in fields.items():
        np.testing.assert_array_equal(exported[key], getattr(result, field), key)
    assert np.all(result.mutual_information > 0)
    # metrics: the same entropy (float64, from the samples themselves).
    s = result.samples.astype("float64")
    p = s.mean(axis=0)
    by_hand = -(p * np.log(p) + (1 - p) * np.log(1 - p)).sum(axis=-1)
    for got in (
        result.predictive_entropy,
        kerasdrop.metrics.predictive_entropy(s, multi_label=True),
    ):
        np.testing.assert_allclose(got, by_hand, rtol=1e-5)
    np.testing.assert_allclose(
        result.mutual_information,
        kerasdrop.metrics.mutual_information(s, multi_label=True),
        atol=1e-5,
    )
    # Per-unit decisions of independent labels.
    assert result.predicted_class.shape == result.max_probability.shape == (6, 4)
    np.testing.assert_array_equal(result.predicted_class, (p > 0.5).astype("int64"))
