"""Reach: every dropout of models nobody here wrote (kerasdrop.graph).

keras.applications with `weights=None`, tiny keras-hub models built from
their constructors with random weights (nothing is downloaded), graphs with
operation nodes, subclassed models, custom layers, RNNs.
"""

import importlib.util
import warnings

import keras
import numpy as np
import pytest

import kerasdrop
from kerasdrop import graph
from kerasdrop import layers as L
from kerasdrop.inspection import dropout_summary, format_summary

import zoo

BACKEND = keras.backend.backend()
hub = pytest.mark.skipif(
    importlib.util.find_spec("keras_hub") is None,
    reason="keras-hub (extra `hub`) is not installed",
)


def _rates(model, value):
    for layer in graph.dropout_layers(model):
        if not layer.learned and layer.schedule is None:
            layer.rate = value


def _bn_state(model):
    return [
        np.array(v.value)
        for layer in model._flatten_layers()
        if isinstance(layer, keras.layers.BatchNormalization)
        for v in layer.non_trainable_variables
    ]


# ----------------------------------------------------------------------------
# Finding: graph.find == inspect, at any depth.
# ----------------------------------------------------------------------------
def test_find_reaches_nested_dropout_and_inspect_agrees():
    model = zoo.functional_ops_model()
    sites = graph.find(model)
    paths = [s.path for s in sites]
    assert [r["path"] for r in dropout_summary(model)] == paths
    assert any(p.endswith("drop_path") for p in paths)
    assert any("/" in p for p in paths)  # the nested Sequential's dropout
    text = format_summary(model)
    assert f"{len(sites)} dropout-family layer(s)" in text
    for path in paths:
        assert path in text


def test_mha_and_custom_layer_dropout_found_and_sampled():
    model = zoo.subclassed_model()
    x = zoo.subclassed_inputs()
    paths = {s.path: s.status for s in graph.find(model)}
    assert any("_dropout_layer" in p for p in paths), paths  # MHA's own
    assert sum(status == "convertible" for status in paths.values()) >= 3
    converted = kerasdrop.convert(model)
    assert all(s.status == "kerasdrop" for s in graph.find(converted))
    np.testing.assert_allclose(converted(x), model(x), rtol=1e-5, atol=1e-6)
    bn = _bn_state(converted)
    result = kerasdrop.mc.predict(converted, x, samples=20, seed=0, verbose=0)
    assert float(result.std.max()) > 0
    for a, b in zip(bn, _bn_state(converted)):
        np.testing.assert_array_equal(a, b)
    # The original model is untouched.
    assert all(s.status != "kerasdrop" for s in graph.find(model))


def test_rnn_dropout_named_everywhere_and_export_succeeds(tmp_path):
    model = zoo.lstm_model()
    (site,) = graph.find(model)
    assert site.status == "unreachable"
    message = "layer 'lstm' has dropout=0.2, recurrent_dropout=0.2; kerasdrop cannot change or sample it yet"
    assert site.reason == message
    with pytest.warns(UserWarning, match="recurrent_dropout=0.2; kerasdrop cannot"):
        kerasdrop.convert(model)
    with pytest.raises(ValueError, match="out of kerasdrop's reach.*'lstm'") as err:
        kerasdrop.mc.predict(model, np.zeros((2, 5, 4), "float32"), samples=2)
    assert "kerasdrop.convert" not in str(err.value)  # no circle
    cb = kerasdrop.callbacks.DropoutScheduler(kerasdrop.schedules.Constant(0.1))
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="recurrent_dropout=0.2"):
        model.fit(np.zeros((2, 5, 4)), np.zeros((2, 2)), verbose=0, callbacks=[cb])
    assert "no   " not in format_summary(model) or "NOT REACHED" in format_summary(model)
    assert "NOT REACHED: 'lstm'" in format_summary(model)
    if BACKEND == "tensorflow":
        kerasdrop.export(model, tmp_path / "lstm")  # identity at inference


# ----------------------------------------------------------------------------
# Rewriting: assigned rates and schedules reach nested dropout in fit.
# ----------------------------------------------------------------------------
def _fit_loss(model, x, y, rate):
    cb = kerasdrop.callbacks.DropoutScheduler(kerasdrop.schedules.Constant(rate))
    history = model.fit(x, y, epochs=1, batch_size=len(y), verbose=0, callbacks=[cb])
    return history.history["loss"][0]


@hub
def test_scheduler_reaches_dropout_inside_transformer_blocks():
    model = kerasdrop.convert(zoo.transformer_encoder_model())
    # All its dropout sits inside the TransformerEncoder (attributes and
    # MultiHeadAttention's): the graph itself has none.
    assert not any(graph.is_dropout_layer(layer) for layer in model.layers)
    assert len(graph.dropout_layers(model)) >= 3
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 8, 16)).astype("float32")
    y = rng.normal(size=(16, 3)).astype("float32")
    model.compile(keras.optimizers.SGD(0.0), "mse")
    off = _fit_loss(model, x, y, 0.0)
    assert _fit_loss(model, x, y, 0.0) == pytest.approx(off, rel=1e-6)
    on = _fit_loss(model, x, y, 0.6)
    assert abs(on - off) > 1e-4 * abs(off)
    assert {layer.rate for layer in graph.dropout_layers(model)} == {0.6}
    # An assigned rate reaches the compiled step too.
    _rates(model, 0.0)
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert history.history["loss"][0] == pytest.approx(off, rel=1e-6)


# ----------------------------------------------------------------------------
# keras.applications.
# ----------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("build", ["mobilenet_v3_small", "efficientnet_b0"])
def test_keras_applications_convert_sample_strip(build):
    model = getattr(zoo, build)()
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    converted = kerasdrop.convert(model)
    sites = graph.find(converted)
    assert [r["path"] for r in dropout_summary(converted)] == [s.path for s in sites]
    assert sites and all(s.status == "kerasdrop" for s in sites)
    ref = model(x, training=False)
    np.testing.assert_allclose(converted(x, training=False), ref, rtol=1e-4, atol=1e-5)
    bn = _bn_state(converted)
    result = kerasdrop.mc.predict(converted, x, samples=8, seed=0, verbose=0)
    assert float(result.std.max()) > 0
    for a, b in zip(bn, _bn_state(converted)):
        np.testing.assert_array_equal(a, b)
    stripped = kerasdrop.strip_dropout(converted)
    assert not graph.dropout_layers(stripped)
    np.testing.assert_allclose(stripped(x), ref, rtol=1e-4, atol=1e-5)


def test_convnext_stochastic_depth_becomes_drop_path():
    model = zoo.convnext_tiny_stub()
    kinds = {type(s.layer).__name__ for s in graph.find(model)}
    assert "StochasticDepth" in kinds
    converted = kerasdrop.convert(model)
    assert any(isinstance(layer, L.DropPath) for layer in graph.dropout_layers(converted))


# ----------------------------------------------------------------------------
# keras-hub.
# ----------------------------------------------------------------------------
@hub
@pytest.mark.slow
def test_keras_hub_bert_classifier_end_to_end(tmp_path):
    model = zoo.bert_classifier()
    x = zoo.bert_inputs(8)
    before = graph.find(model)
    assert len(before) >= 6 and all(s.status == "convertible" for s in before)
    converted = kerasdrop.convert(model)
    assert type(converted) is type(model)
    sites = graph.find(converted)
    assert [s.path for s in sites] == [s.path for s in before]
    assert [r["path"] for r in dropout_summary(converted)] == [s.path for s in sites]
    assert all(s.status == "kerasdrop" for s in sites)
    ref = np.asarray(model(x, training=False))
    np.testing.assert_allclose(converted(x, training=False), ref, rtol=1e-5, atol=1e-6)
    # MC: logits head, samples vary.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # task given: no fallback warning
        result = kerasdrop.mc.predict(converted, x, samples=10, seed=0, task="logits", verbose=0)
    assert result.task == "classification"
    np.testing.assert_allclose(result.mean.sum(-1), 1.0, rtol=1e-5)
    assert float(result.mutual_information.max()) > 0
    with pytest.warns(UserWarning, match="task='logits'"):
        kerasdrop.mc.predict(converted, x, samples=2, verbose=0)
    # Schedules reach it in fit.
    y = np.arange(8) % 3
    converted.compile(keras.optimizers.SGD(0.0), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    off = _fit_loss(converted, x, y, 0.0)
    assert _fit_loss(converted, x, y, 0.0) == pytest.approx(off, rel=1e-6)
    assert abs(_fit_loss(converted, x, y, 0.5) - off) > 1e-5
    # .keras: refused with instructions, never a silent loss; weights work.
    with pytest.raises(ValueError, match="save_weights"):
        converted.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()
    converted.save_weights(tmp_path / "m.weights.h5")
    fresh = kerasdrop.convert(zoo.bert_classifier(seed=1))
    fresh.load_weights(tmp_path / "m.weights.h5")
    assert {layer.rate for layer in graph.dropout_layers(fresh)} == {0.5}
    # Back to keras: the blocks get their own layers back, and save again.
    back = kerasdrop.convert(converted, to="keras")
    assert all(s.status == "convertible" for s in graph.find(back))
    back.save(tmp_path / "back.keras")
    # Strip: same as inference.
    stripped = kerasdrop.strip_dropout(converted)
    np.testing.assert_allclose(stripped(x), ref, rtol=1e-5, atol=1e-6)
    if BACKEND == "tensorflow":
        kerasdrop.export(converted, tmp_path / "served", sample_inputs=x, mc_samples=4)


@hub
@pytest.mark.slow
def test_keras_hub_vit_backbone_convert_and_sample():
    model = zoo.vit_backbone()
    x = zoo.vit_inputs(2)
    converted = kerasdrop.convert(model)
    assert type(converted) is type(model)
    sites = graph.find(converted)
    assert len(sites) >= 4 and all(s.status == "kerasdrop" for s in sites)
    ref = np.asarray(model(x, training=False))
    np.testing.assert_allclose(converted(x, training=False), ref, rtol=1e-4, atol=1e-5)
    with kerasdrop.mc.sampling(converted):
        a, b = np.asarray(converted(x)), np.asarray(converted(x))
    assert not np.allclose(a, b)
    np.testing.assert_allclose(kerasdrop.strip_dropout(converted)(x), ref, rtol=1e-4, atol=1e-5)


@hub
def test_transformer_encoder_model_round_trip(tmp_path):
    model = zoo.transformer_encoder_model()
    converted = kerasdrop.convert(model)
    with pytest.raises(ValueError, match="TransformerEncoder.*convert\\(model, to='keras'\\)"):
        converted.save(tmp_path / "m.keras")
    back = kerasdrop.convert(converted, to="keras")
    back.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    x = np.ones((2, 8, 16), "float32")
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------
# Plain graphs: .keras keeps live rates; export verdict.
# ----------------------------------------------------------------------------
def test_functional_ops_graph_convert_save_strip_export(tmp_path):
    model = zoo.functional_ops_model()
    x = zoo.functional_ops_inputs()
    converted = kerasdrop.convert(model)
    _rates(converted, 0.25)
    converted.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert {layer.rate for layer in graph.dropout_layers(loaded)} == {0.25}
    ref = model(x, training=False)
    stripped = kerasdrop.strip_dropout(converted)
    for a, b in zip(keras.tree.flatten(stripped(x)), keras.tree.flatten(ref)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    if BACKEND == "tensorflow":
        kerasdrop.export(converted, tmp_path / "served", sample_inputs=x)


# ----------------------------------------------------------------------------
# The registry.
# ----------------------------------------------------------------------------
class MyDrop(keras.layers.Layer):
    def __init__(self, p=0.1, **kwargs):
        super().__init__(**kwargs)
        self.p = p

    def call(self, x, training=False):
        return x

    def get_config(self):
        return {**super().get_config(), "p": self.p}


def test_registered_class_converts_and_bad_registrations_raise():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3), MyDrop(0.3, name="mine")])
    assert graph.find(model) == []
    kerasdrop.register_dropout(
        MyDrop, lambda layer, mc: L.Dropout(layer.p, name=layer.name, mc=mc), rate="p"
    )
    try:
        (site,) = graph.find(model)
        assert (site.status, site.rate) == ("convertible", "0.3")
        converted = kerasdrop.convert(model)
        assert isinstance(converted.get_layer("mine"), L.Dropout)
        assert converted.get_layer("mine").rate == pytest.approx(0.3)
    finally:
        kerasdrop.unregister_dropout(MyDrop)
    with pytest.raises(TypeError, match="argument `cls`.*Received: cls=3"):
        kerasdrop.register_dropout(3, None)
    with pytest.raises(ValueError, match="argument `cls`.*Dropout"):
        kerasdrop.register_dropout(L.Dropout, None)
    with pytest.raises(TypeError, match="argument `to_kerasdrop`"):
        kerasdrop.register_dropout(MyDrop, "nope")
    with pytest.raises(TypeError, match="argument `rate`"):
        kerasdrop.register_dropout(MyDrop, None, rate=3)
    kerasdrop.register_dropout(MyDrop, lambda layer, mc: keras.layers.Dense(2), rate="p")
    try:
        with pytest.raises(TypeError, match="to_kerasdrop.*MyDrop"):
            kerasdrop.convert(model)
    finally:
        kerasdrop.unregister_dropout(MyDrop)


def test_all_zero_rates_warn():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), L.Dropout(0.0)])
    with pytest.warns(UserWarning, match="is 0"):
        kerasdrop.mc.predict(model, np.ones((2, 3)), samples=2, verbose=0)
