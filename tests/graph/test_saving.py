"""`.keras` files of converted owners (kerasdrop.graph.saving and loading).

A layer or model whose config rebuilds its own dropout (a custom layer, a
subclassed model; keras-hub ones in test_saving_hub.py) saves and loads
back as its own class with kerasdrop's layers, rates, steps and `mc` flags;
crafted entries are refused before anything is deserialized.
"""

import json
import pathlib
import warnings
import zipfile

import keras
import numpy as np
import pytest

import kerasdrop
from kerasdrop import graph

import zoo
from helpers import to_numpy

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"


@keras.saving.register_keras_serializable(package="test_saving")
class Block(keras.layers.Layer):
    """A custom layer creating its own Dropout (an owner)."""

    def __init__(self, rate=0.2, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.dense = keras.layers.Dense(4, name="dense")
        self.drop = keras.layers.Dropout(rate, name="inner_drop")

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, x, training=False):
        return self.drop(self.dense(x), training=training)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


def _functional(seed=0):
    keras.utils.set_random_seed(seed)
    x = keras.Input((4,), name="x")
    h = Block(name="block")(x)
    return keras.Model(x, keras.layers.Dense(2, name="head")(h), name="outer")


def _facts(model):
    return [
        (type(layer).__name__, float(layer.rate), layer.step, layer.mc)
        for layer in graph.dropout_layers(model)
    ]


def _plain(config):
    """A config as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(config))


def _outputs(model, x):
    flags = [layer.mc for layer in graph.dropout_layers(model)]
    for layer in graph.dropout_layers(model):
        layer.mc = False
    try:
        return [
            np.asarray(to_numpy(y))
            for y in keras.tree.flatten(model(x, training=False))
        ]
    finally:
        for layer, flag in zip(graph.dropout_layers(model), flags):
            layer.mc = flag


# ----------------------------------------------------------------------------
# Round trips.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["model.save", "save_model"])
def test_custom_layer_in_functional_round_trip(tmp_path, how):
    original = _functional()
    model = kerasdrop.convert(original, mc=True)
    (drop,) = graph.dropout_layers(model)
    drop.rate, drop.step = 0.35, 7
    path = tmp_path / "m.keras"
    model.save(path) if how == "model.save" else keras.saving.save_model(model, path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.get_layer("block")) is Block
    assert _facts(loaded) == _facts(model) == [("Dropout", 0.35, 7, True)]
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    for a, b in zip(_outputs(loaded, x), _outputs(model, x)):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-6)
    back = kerasdrop.convert(loaded, to="keras")
    assert _plain(back.get_config()) == _plain(original.get_config())
    loaded.save(tmp_path / "again.keras")  # a loaded model saves again
    assert _facts(keras.saving.load_model(tmp_path / "again.keras")) == _facts(model)


def test_owner_at_the_top_through_save_model(tmp_path):
    model = kerasdrop.convert(zoo.subclassed_model(), mc=True)
    path = tmp_path / "m.keras"
    keras.saving.save_model(model, path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model) is zoo.Subclassed
    assert _facts(loaded) == _facts(model)
    assert all(flag for *_, flag in _facts(loaded))


@pytest.mark.slow
def test_subclassed_fit_checkpoint_load_and_continue(tmp_path):
    original = zoo.subclassed_model()
    model = kerasdrop.convert(original)
    for i, layer in enumerate(graph.dropout_layers(model)):
        layer.rate = 0.1 + 0.05 * i
    graph.dropout_layers(model)[-1].mc = True
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = zoo.subclassed_inputs(16), np.arange(16) % 2

    def scheduler():
        schedule = kerasdrop.schedules.Linear(0.3, 0.1, steps=8)
        return kerasdrop.callbacks.DropoutScheduler(schedule, unit="batch")

    path = tmp_path / "m.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(path)
    model.fit(x, y, batch_size=4, epochs=1, callbacks=[scheduler(), checkpoint])
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    saved = _facts(loaded)
    assert [step for *_, step, _ in saved] == [4] * 4  # saved mid-schedule
    assert [flag for *_, flag in saved] == [False, False, False, True]
    assert saved[0][1] == pytest.approx(0.225)  # Linear(0.3, 0.1, 8) at 3
    for a, b in zip(_outputs(loaded, x), _outputs(model, x)):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-5, atol=1e-6)
    samples = kerasdrop.mc.predict(loaded, x[:2], samples=4, seed=0, verbose=0)
    assert float(np.max(to_numpy(samples.std))) > 0
    for m in (loaded, model):  # both continue the same trajectory
        m.fit(x, y, batch_size=4, epochs=2, initial_epoch=1, callbacks=[scheduler()])
    assert [f[1] for f in _facts(loaded)] == [f[1] for f in _facts(model)]
    assert _facts(loaded)[0][1] == pytest.approx(0.125)
    back = kerasdrop.convert(loaded, to="keras")
    assert _plain(back.get_config()) == _plain(original.get_config())


def test_a_file_from_before_still_loads():
    loaded = keras.saving.load_model(DATA / "concrete_0_1_0.keras")
    assert graph.dropout_layers(loaded)


def test_a_bare_config_refuses_and_points_to_saving():
    model = kerasdrop.convert(_functional())
    with pytest.raises(ValueError, match=r"model\.save\('model\.keras'\)"):
        model.get_config()


# ----------------------------------------------------------------------------
# Crafted files.
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("crafted") / "m.keras"
    kerasdrop.convert(_functional()).save(path)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return path, files


def _entry(config):
    (layer,) = [e for e in config["config"]["layers"] if e["name"] == "block"]
    assert layer["registered_name"] == "kerasdrop>ConvertedOwner"
    return layer["config"]


def _lambda(entry):
    entry.update(
        module="keras.layers",
        class_name="Lambda",
        registered_name=None,
        config={"name": "x", "function": {"class_name": "__lambda__", "config": {}}},
    )


CRAFTS = {
    "unknown class": (
        lambda swaps: swaps["drop"].update(registered_name="kerasdrop>Nope"),
        "registered kerasdrop layer",
    ),
    "a Lambda": (lambda swaps: _lambda(swaps["drop"]), "registered kerasdrop layer"),
    "a Keras layer": (
        lambda swaps: swaps["drop"].update(
            module="keras.layers", class_name="Dense", registered_name=None
        ),
        "registered kerasdrop layer",
    ),
    "wrong path": (
        lambda swaps: swaps.update({"dense": swaps.pop("drop")}),
        r"hold no dropout-bearing layer .*'dense'",
    ),
    "no swaps": (lambda swaps: swaps.clear(), "non-empty dict"),
}


def _write(files, config, path):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            text = json.dumps(config) if name == "config.json" else data
            archive.writestr(name, text)
    return path


@pytest.mark.parametrize("craft", sorted(CRAFTS))
def test_crafted_swaps_are_refused(saved_config, tmp_path, craft):
    _, files = saved_config
    config = json.loads(files["config.json"])
    entry = _entry(config)
    assert sorted(entry["swaps"]) == entry["order"] == ["drop"]
    change, message = CRAFTS[craft]
    change(entry["swaps"])
    crafted = _write(files, config, tmp_path / "crafted.keras")
    with pytest.raises(ValueError, match=message) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            keras.saving.load_model(crafted)
    assert "ConvertedOwner" in str(info.value)


def test_renumbered_layers_are_paired_by_walk_order(saved_config, tmp_path):
    """A keras-hub model rebuilt in another process may number its
    generated layer names anew: the saved order pairs the swaps."""
    _, files = saved_config
    config = json.loads(files["config.json"])
    entry = _entry(config)
    entry["swaps"] = {"drop_3": entry["swaps"]["drop"]}
    entry["order"] = ["drop_3"]
    loaded = keras.saving.load_model(_write(files, config, tmp_path / "n.keras"))
    assert type(loaded.get_layer("block").drop).__module__.startswith("kerasdrop.")
