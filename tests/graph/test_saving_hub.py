"""Converted keras-hub models (and a subclassed one) through a checkpoint.

Each model is converted, given rates and an `mc` flag, fit for one epoch
with a `DropoutScheduler` and `ModelCheckpoint("<name>.keras")`, then loaded
in a fresh Python process (one for all files): same class, rates, steps
and flags, equal `training=False` outputs, varying MC samples; and, with
kerasdrop's import blocked there, Keras' error names the kerasdrop entry.
The library code is covered on both backends by test_saving.py, so this
one runs on one backend in CI (on JAX it compiles four models: minutes);
it passes on JAX as well:
`KERAS_BACKEND=jax python3 -m pytest -q tests/graph/test_saving_hub.py`.
"""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

import kerasdrop
from kerasdrop import graph

import zoo
from helpers import to_numpy

ROOT = pathlib.Path(kerasdrop.__file__).resolve().parents[1]
HERE = pathlib.Path(__file__).resolve().parent
hub = pytest.mark.skipif(
    importlib.util.find_spec("keras_hub") is None,
    reason="keras-hub (extra `hub`) is not installed",
)


def _sequence_inputs(n=8, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 8, 16)).astype("float32")


# name: (builder, inputs, targets from the model's output)
CASES = {
    "bert": (zoo.bert_classifier, lambda: zoo.bert_inputs(8), "classes"),
    "vit": (zoo.vit_backbone, lambda: zoo.vit_inputs(8), "zeros"),
    "encoder": (zoo.transformer_encoder_model, _sequence_inputs, "classes"),
    "subclassed": (zoo.subclassed_model, lambda: zoo.subclassed_inputs(8), "classes"),
}


def _facts(model):
    return [
        [float(layer.rate), layer.step, layer.mc]
        for layer in graph.dropout_layers(model)
    ]


class _Record(keras.callbacks.Callback):
    """The layers' rates, steps and flags when the checkpoint is written
    (the scheduler gives the steps back at the end of `fit`)."""

    def on_epoch_end(self, epoch, logs=None):
        self.facts = _facts(self.model)


def _train(name, path):
    build, inputs, targets = CASES[name]
    model = kerasdrop.convert(build())
    for i, layer in enumerate(graph.dropout_layers(model)):
        layer.rate = 0.05 + 0.01 * i
    graph.dropout_layers(model)[0].mc = True
    x = inputs()
    if targets == "classes":
        loss, y = keras.losses.SparseCategoricalCrossentropy(from_logits=True), None
    else:
        loss, y = "mse", np.zeros(np.shape(model(x)), "float32")
    n = len(keras.tree.flatten(x)[0])
    y = np.arange(n) % 2 if y is None else y
    model.compile(optimizer="adam", loss=loss)
    schedule = kerasdrop.schedules.Linear(0.3, 0.1, steps=8)
    record = _Record()
    callbacks = [
        kerasdrop.callbacks.DropoutScheduler(schedule, unit="batch"),
        keras.callbacks.ModelCheckpoint(path),
        record,
    ]
    model.fit(x, y, batch_size=4, epochs=1, callbacks=callbacks, verbose=0)
    for layer in graph.dropout_layers(model):
        layer.mc = False
    out = np.asarray(to_numpy(keras.tree.flatten(model(x, training=False))[0]))
    return {"class": type(model).__name__, "facts": record.facts, "out": out}


# Run in a fresh process: loads every file, first with kerasdrop blocked.
SCRIPT = r"""
import importlib.abc, json, sys
import numpy as np

class NoKerasdrop(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "kerasdrop":
            raise ImportError(f"No module named {name!r} (blocked)")

files, inputs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.meta_path.insert(0, NoKerasdrop())
import keras, keras_hub
missing = {}
for name in ("bert", "encoder"):
    try:
        keras.saving.load_model(files[name])
        missing[name] = "loaded"
    except Exception as err:
        missing[name] = f"{type(err).__name__}: {err}"
sys.meta_path.pop(0)
sys.path.insert(0, sys.argv[3])
import kerasdrop, zoo
from kerasdrop import graph
facts = {"missing": missing}
for name, path in files.items():
    model = keras.saving.load_model(path)
    layers = graph.dropout_layers(model)
    rows = [[float(d.rate), d.step, d.mc] for d in layers]
    x = zoo.bert_inputs(8) if name == "bert" else np.load(inputs[name])
    mc = kerasdrop.mc.predict(model, x, samples=3, seed=0, verbose=0)
    for d in layers:
        d.mc = False
    out = keras.tree.flatten(model(x, training=False))[0]
    facts[name] = {"class": type(model).__name__, "facts": rows,
                   "out": np.asarray(out).tolist(),
                   "mc_std": float(np.max(mc.std))}
print("FACTS" + json.dumps(facts))
"""


@hub
@pytest.mark.slow
@pytest.mark.one_backend
def test_hub_models_checkpoint_then_load_in_a_fresh_process(tmp_path):
    expected, files, inputs = {}, {}, {}
    for name in CASES:
        files[name] = str(tmp_path / f"{name}.keras")
        expected[name] = _train(name, files[name])
        if name != "bert":
            inputs[name] = str(tmp_path / f"{name}_x.npy")
            np.save(inputs[name], CASES[name][1]())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    args = [json.dumps(files), json.dumps(inputs), str(HERE)]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = [s for s in done.stdout.splitlines() if s.startswith("FACTS")][-1]
    got = json.loads(line[len("FACTS") :])
    for name, message in got.pop("missing").items():
        assert "Could not locate class 'ConvertedOwner'" in message, (name, message)
        assert "'registered_name': 'kerasdrop>ConvertedOwner'" in message, name
    for name, want in expected.items():
        assert got[name]["class"] == want["class"], name
        np.testing.assert_allclose(
            to_numpy(got[name]["facts"]), to_numpy(want["facts"]), rtol=1e-6
        )
        assert all(row[1] >= 2 for row in want["facts"]), name  # mid-schedule
        assert [row[2] for row in want["facts"]][:1] == [True]
        np.testing.assert_allclose(
            to_numpy(got[name]["out"]), to_numpy(want["out"]), rtol=1e-4, atol=1e-5
        )
        assert got[name]["mc_std"] > 0, name
