"""Rate logs: one key per dropout site, from its path, the same on every run."""

import warnings

import keras
import numpy as np
import pytest

import kerasdrop
from kerasdrop import callbacks as C
from kerasdrop import layers as L
from kerasdrop import schedules as S


class Block(keras.layers.Layer):
    """A block whose dropout sublayer has the same name in every block."""

    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(4, name="dense")
        self.drop = L.Dropout(rate, name="dropout")

    def call(self, x, training=False):
        return self.drop(self.dense(x), training=training)


def blocks_model(rates=(0.1, 0.2, 0.3)):
    """Functional: a top-level 'dropout', then blocks 'a' and 'b', each
    holding a kerasdrop Dropout also named 'dropout'."""
    inputs = keras.Input((4,))
    h = L.Dropout(rates[0], name="dropout")(inputs)
    h = Block(rates[1], name="a")(h)
    h = Block(rates[2], name="b")(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile("sgd", "mse")
    return model


KEYS = ["dropout/dropout", "dropout/a/drop", "dropout/b/drop"]


def xy():
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    return x, x[:, :1]


def test_same_names_in_blocks_keep_one_key_each():
    model = blocks_model()
    names = [layer.name for layer in kerasdrop.graph.dropout_layers(model)]
    assert len(set(names)) < len(names)  # the names do collide
    assert list(C.log_keys(model)) == KEYS
    history = model.fit(
        *xy(), batch_size=8, epochs=2, verbose=0, callbacks=[C.DropoutLogger()]
    )
    logged = {k: v for k, v in history.history.items() if k.startswith("dropout/")}
    assert logged == {
        "dropout/dropout": pytest.approx([0.1, 0.1]),
        "dropout/a/drop": pytest.approx([0.2, 0.2]),
        "dropout/b/drop": pytest.approx([0.3, 0.3]),
    }


@pytest.mark.parametrize(
    "schedule",
    [S.Linear(0.4, 0.2, 1), lambda index, rate: 0.4 if index == 0 else 0.2],
    ids=["in-graph", "python"],
)
def test_scheduler_logs_every_site_per_batch_and_epoch(schedule):
    model = blocks_model()
    seen = []

    class Grab(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append({k: v for k, v in logs.items() if k.startswith("dropout/")})

    scheduler = C.DropoutScheduler(schedule, unit="batch")
    history = model.fit(
        *xy(), batch_size=8, epochs=1, verbose=0, callbacks=[scheduler, Grab()]
    )
    for key in KEYS:
        assert history.history[key] == pytest.approx([0.2])
    if not isinstance(schedule, S.Schedule):  # Python path: per-batch logs
        assert [sorted(s) for s in seen] == [sorted(KEYS)] * 2
        assert [s["dropout/b/drop"] for s in seen] == pytest.approx([0.4, 0.2])


def test_keys_are_the_same_for_a_model_built_again():
    first = list(C.log_keys(blocks_model()))
    second = list(C.log_keys(blocks_model()))  # auto-named layers differ
    assert first == second == KEYS


def test_log_key_makes_a_tensorboard_tag_of_any_path():
    assert C.log_key("head") == "dropout/head"
    assert C.log_key("enc/blocks[2]/_drop") == "dropout/enc/blocks/2/_drop"
    assert C.log_key("heads['q k']/drop") == "dropout/heads/q_k/drop"


def test_a_path_taken_twice_gets_a_numbered_key():
    model = blocks_model()
    sites = [s for s in kerasdrop.graph.find(model) if s.status == "kerasdrop"]
    sites[2].path = sites[1].path  # two sites whose paths read the same
    keys = C.log_keys(model, sites=sites)
    assert list(keys) == ["dropout/dropout", "dropout/a/drop", "dropout/a/drop_2"]
    assert [layer.rate for layer in keys.values()] == pytest.approx([0.1, 0.2, 0.3])


def test_log_keys_of_chosen_layers_and_log_rates_with_keys():
    model = blocks_model()
    chosen = C.select_layers(model, "dropout")  # matches all three by name
    assert list(C.log_keys(model, chosen[1:])) == KEYS[1:]
    logs = {}
    C.log_rates(model, logs, C.log_keys(model, chosen[:1]))
    assert logs == {"dropout/dropout": pytest.approx(0.1)}


@pytest.mark.slow
def test_gpt2_keeps_all_its_rates():
    import keras_hub

    def build():
        backbone = keras_hub.models.GPT2Backbone(
            vocabulary_size=20,
            num_layers=2,
            num_heads=2,
            hidden_dim=4,
            intermediate_dim=8,
            max_sequence_length=8,
            dropout=0.1,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # not the point here
            return kerasdrop.convert(backbone)

    model = build()
    sites = [s for s in kerasdrop.graph.find(model) if s.status == "kerasdrop"]
    assert len({s.layer.name for s in sites}) < len(sites) == 7
    inputs = {
        "token_ids": np.ones((4, 8), "int32"),
        "padding_mask": np.ones((4, 8), "int32"),
    }
    model.compile("sgd", "mse")
    history = model.fit(
        inputs,
        np.zeros((4, 8, 4), "float32"),
        epochs=1,
        verbose=0,
        callbacks=[C.DropoutLogger()],
    )
    logged = [k for k in history.history if k.startswith("dropout/")]
    assert len(logged) == 7
    assert logged == list(C.log_keys(build()))
