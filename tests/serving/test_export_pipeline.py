"""kerasdrop.export's pipeline: overwrite, a concurrent or killed export,
verification, and its argument checks."""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from export_models import Subclassed, kind_model

import kerasdrop
from kerasdrop.serving import ExportError

ROOT = Path(__file__).resolve().parents[2]


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
    with pytest.raises(ValueError, match="has no symbolic inputs.*sample_inputs"):
        sub = Subclassed()  # no copy: served as it is, from sample inputs
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
