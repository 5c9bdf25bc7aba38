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
from kerasdrop.serving import random_ops

import zoo
from helpers import to_numpy


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
        np.array(to_numpy(v.value))
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


def test_shared_dropout_dict_io_and_nested_functional(tmp_path):
    a, b = keras.Input((6,), name="a"), keras.Input((6,), name="b")
    i = keras.Input((6,))
    inner = keras.Model(
        i,
        keras.layers.Dropout(0.2, name="inner_drop")(keras.layers.Dense(6)(i)),
        name="inner",
    )
    drop = keras.layers.Dropout(0.3, name="shared_drop")  # called twice
    ha, hb = drop(a), drop(b)
    outputs = {
        "o1": keras.layers.Dense(2, name="o1")(inner(ha)),
        "o2": keras.layers.Dense(3, name="o2")(hb - ha),
    }
    model = keras.Model({"a": a, "b": b}, outputs)
    assert [s.path for s in graph.find(model)] == ["shared_drop", "inner/inner_drop"]
    converted = kerasdrop.convert(model)
    assert all(s.status == "kerasdrop" for s in graph.find(converted))
    x = {"a": np.ones((2, 6), "float32"), "b": np.zeros((2, 6), "float32")}
    ref = model(x)
    for key, value in converted(x).items():
        np.testing.assert_allclose(to_numpy(value), to_numpy(ref[key]), rtol=1e-6)
    with kerasdrop.mc.sampling(converted):
        sampled = converted(x)
    assert any(not np.allclose(to_numpy(sampled[k]), to_numpy(ref[k])) for k in ref)
    for key, value in kerasdrop.strip_dropout(converted)(x).items():
        np.testing.assert_allclose(to_numpy(value), to_numpy(ref[key]), rtol=1e-6)
    converted.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert len(graph.dropout_layers(loaded)) == 2


def test_mha_and_custom_layer_dropout_found_and_sampled():
    model = zoo.subclassed_model()
    x = zoo.subclassed_inputs()
    paths = {s.path: s.status for s in graph.find(model)}
    assert any("_dropout_layer" in p for p in paths), paths  # MHA's own
    assert sum(status == "convertible" for status in paths.values()) >= 3
    converted = kerasdrop.convert(model)
    assert all(s.status == "kerasdrop" for s in graph.find(converted))
    np.testing.assert_allclose(
        to_numpy(converted(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-6
    )
    bn = _bn_state(converted)
    result = kerasdrop.mc.predict(converted, x, samples=20, seed=0, verbose=0)
    assert float(result.std.max()) > 0
    for a, b in zip(bn, _bn_state(converted)):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    # The original model is untouched.
    assert all(s.status != "kerasdrop" for s in graph.find(model))


def test_attention_without_dropout_has_no_site():
    x = keras.Input((3, 8))
    y = keras.layers.MultiHeadAttention(2, 4, dropout=0.0)(x, x)
    # Its `_dropout_layer` exists but its call skips it: nothing to reach.
    assert graph.find(keras.Model(x, y)) == []


def test_rnn_dropout_named_everywhere_and_export_succeeds(tmp_path):
    model = zoo.cell_rnn_model()  # a generic RNN over a cell: out of reach
    (site,) = graph.find(model)
    assert site.status == "unreachable"
    message = (
        "layer 'lstm' (RNN) has dropout=0.2, recurrent_dropout=0.2; kerasdrop "
        "cannot change or sample it (it converts the dropout of Keras' LSTM, "
        "GRU and SimpleRNN layers only)"
    )
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
    assert "no   " not in format_summary(model) or "NOT REACHED" in format_summary(
        model
    )
    assert "NOT REACHED: 'lstm'" in format_summary(model)
    kerasdrop.export(model, tmp_path / "lstm")  # identity at inference, TF and JAX
    with pytest.raises(ValueError, match="out of kerasdrop's reach.*'lstm'"):
        with kerasdrop.mc.sampling(model):  # nothing it could switch on
            pass


def test_bidirectional_rnn_dropout_is_named_per_direction():
    sites = graph.find(zoo.bidirectional_gru_model())
    assert [s.path for s in sites] == ["bigru/forward_layer", "bigru/backward_layer"]
    assert all(s.status == "convertible" and "dropout=0.1" in s.rate for s in sites)
    converted = graph.find(kerasdrop.convert(zoo.bidirectional_gru_model()))
    assert [s.path for s in converted] == [
        "bigru/forward_layer/input_dropout",
        "bigru/backward_layer/input_dropout",
    ]


def test_partial_reach_warns_once_per_model_and_caller():
    inputs = keras.Input((5, 4))
    cell = keras.layers.LSTMCell(8, dropout=0.2)  # a generic RNN: unreachable
    h = keras.layers.RNN(cell, name="lstm")(inputs)
    h = L.Dropout(0.1, name="head_drop")(h)
    model = keras.Model(inputs, keras.layers.Dense(2)(h))
    model.compile("sgd", "mse")
    x, y = np.zeros((4, 5, 4), "float32"), np.zeros((4, 2), "float32")
    cb = kerasdrop.callbacks.DropoutScheduler(kerasdrop.schedules.Constant(0.2))
    with pytest.warns(
        UserWarning, match="(?s)DropoutScheduler does not reach 1 .*'lstm'"
    ) as record:
        model.fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert sum("DropoutScheduler" in str(w.message) for w in record) == 1
    assert model.get_layer("head_drop").rate == pytest.approx(0.2)
    for callback in (
        kerasdrop.callbacks.DropoutLogger(),
        kerasdrop.callbacks.AdaptiveDropout(monitor="loss"),
    ):
        name = type(callback).__name__
        with pytest.warns(UserWarning, match=f"(?s){name} does not reach 1 .*'lstm'"):
            history = model.fit(x, y, epochs=1, verbose=0, callbacks=[callback])
        assert "dropout/head_drop" in history.history  # what it reaches is logged
    with pytest.warns(UserWarning, match="(?s)mc.predict does not reach.*'lstm'"):
        kerasdrop.mc.predict(model, x, samples=2, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        kerasdrop.mc.predict(model, x, samples=2, verbose=0, task="regression")  # once


# ----------------------------------------------------------------------------
# Rewriting: assigned rates and schedules reach nested dropout in fit.
# ----------------------------------------------------------------------------
def _fit_loss(model, x, y, rate):
    cb = kerasdrop.callbacks.DropoutScheduler(kerasdrop.schedules.Constant(rate))
    history = model.fit(x, y, epochs=1, batch_size=len(y), verbose=0, callbacks=[cb])
    return history.history["loss"][0]


# ----------------------------------------------------------------------------
# The contract, model by model.
# ----------------------------------------------------------------------------
def _image(n=2):
    return np.random.default_rng(0).uniform(0, 255, (n, 32, 32, 3)).astype("float32")


def _normal(*shape):
    return lambda: np.random.default_rng(1).normal(size=shape).astype("float32")


#: name -> (builder, inputs, targets for a loss probe (None: normal noise
#: shaped like the output), loss, uses keras-hub)
ZOO = {
    "mobilenet_v3_small": (zoo.mobilenet_v3_small, _image, None, "mse", False),
    "efficientnet_b0": (zoo.efficientnet_b0, _image, None, "mse", False),
    "functional_ops": (
        zoo.functional_ops_model,
        zoo.functional_ops_inputs,
        None,
        "mse",
        False,
    ),
    "subclassed": (zoo.subclassed_model, zoo.subclassed_inputs, None, "mse", False),
    "bert_classifier": (
        zoo.bert_classifier,
        lambda: zoo.bert_inputs(4),
        lambda: np.array([0, 1, 2, 0]),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        True,
    ),
    "vit_backbone": (zoo.vit_backbone, lambda: zoo.vit_inputs(2), None, "mse", True),
    "mit_backbone_drop_path": (
        zoo.hub_drop_path_model,
        lambda: zoo.image_inputs(2, 32),
        None,
        "mse",
        True,
    ),
    "transformer_encoder": (
        zoo.transformer_encoder_model,
        _normal(2, 8, 16),
        None,
        "mse",
        True,
    ),
}


def _noise_like(model, x):
    shape = np.shape(keras.tree.flatten(model(x, training=False))[0])
    return np.random.default_rng(1).normal(size=shape).astype("float32")


def _check_inspect_agrees(model):
    sites = graph.find(model)
    rows = dropout_summary(model)
    assert [r["path"] for r in rows] == [s.path for s in sites]
    assert len(sites) > 0
    return sites


def _check_fit_reaches_nested_dropout(model, x, y, loss):
    model.compile(keras.optimizers.SGD(0.0), loss)
    off = _fit_loss(model, x, y, 0.0)
    assert _fit_loss(model, x, y, 0.0) == pytest.approx(off, rel=1e-5)
    assert abs(_fit_loss(model, x, y, 0.5) - off) > 1e-4 * max(1.0, abs(off))
    _rates(model, 0.0)  # an assigned rate reaches the compiled step too
    history = model.fit(x, y, epochs=1, batch_size=len(y), verbose=0)
    assert history.history["loss"][0] == pytest.approx(off, rel=1e-5)
    _rates(model, 0.3)


def _check_mc_keeps_bn(model, x):
    bn = _bn_state(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # logits/regression heads
        result = kerasdrop.mc.predict(model, x, samples=6, seed=0, verbose=0)
    assert float(np.max(to_numpy(result.std))) > 0
    for a, b in zip(bn, _bn_state(model)):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))


def _registered(model):
    """On torch, whether `model.parameters()` holds all of Keras' variables
    (keras-hub's task models register none, before any kerasdrop call)."""
    values = {id(v.value) for v in model.variables}
    return {id(p) for p in model.parameters()} == values


def _check_registries(model, registered=True):
    """Keras' variables are what the backend registers: on torch,
    `model.parameters()` (what an optimizer built from it would train) holds
    exactly Keras' variables (weights, rates, steps and seed states) where
    Keras registered them, and never a tensor the model no longer uses."""
    variables = model.variables
    assert len({id(v) for v in variables}) == len(variables)
    assert {id(v) for v in model.weights} <= {id(v) for v in variables}
    if BACKEND == "torch":
        parameters = {id(p) for p in model.parameters()}
        values = {id(v.value) for v in variables}
        assert parameters <= values  # nothing stale
        assert parameters == values or not registered


#: Zoo models whose ONNX export on torch fails in Keras' own torch ONNX
#: path (`torch.onnx` cannot export their shape-dependent gathers: position
#: embeddings, attention reshapes): plain `model.export(format="onnx")` of
#: the unconverted models fails too (keras-hub's even earlier, on their
#: unregistered parameters, which kerasdrop's export registers). kerasdrop
#: raises an `ExportError` naming the cause and leaves nothing behind.
TORCH_ONNX_LIMITS = {
    name: "Failed to export a node"
    for name in ("transformer_encoder", "bert_classifier", "vit_backbone")
}


def _check_strip_and_export(model, x, tmp_path, registered, name):
    ref = keras.tree.flatten(model(x, training=False))
    stripped = kerasdrop.strip_dropout(model)
    _check_registries(stripped, registered)
    assert not graph.dropout_layers(stripped)
    for a, b in zip(keras.tree.flatten(stripped(x)), ref):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-4, atol=1e-5)
    if BACKEND == "torch" and name in TORCH_ONNX_LIMITS:
        with pytest.raises(kerasdrop.ExportError, match=TORCH_ONNX_LIMITS[name]):
            kerasdrop.export(model, tmp_path / "served.onnx", sample_inputs=x)
        assert not (tmp_path / "served.onnx").exists()  # nothing left behind
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: "serves through ONNX"
        path = kerasdrop.export(model, tmp_path / "served", sample_inputs=x)
    assert path.name == ("served.onnx" if BACKEND == "torch" else "served")
    if BACKEND == "tensorflow":
        import tensorflow as tf

        serving = tf.saved_model.load(str(path)).signatures["serving_default"]
        assert random_ops(serving) == []


def _check_keras_file(model, x, tmp_path, owned):
    # Owners included: their entry replays the swaps (test_saving.py).
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded) is type(model)
    assert {layer.rate for layer in graph.dropout_layers(loaded)} == {0.3}
    if not owned:
        return
    model.save_weights(tmp_path / "m.weights.h5")
    return tmp_path / "m.weights.h5"


# The three costliest models run on one backend only: on JAX they compile
# for ~1-2 minutes each. Their kinds of layers and nodes stay covered on
# every backend: op nodes by functional_ops, BatchNormalization under MC by
# tests/mc, drop paths by vit_backbone and the keras-hub drop-path test.
ONE_BACKEND_ZOO = ("efficientnet_b0", "mit_backbone_drop_path", "mobilenet_v3_small")


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.one_backend) if n in ONE_BACKEND_ZOO else n
        for n in ZOO
    ],
)
def test_reach_contract(name, tmp_path):
    build, inputs, targets, loss, needs_hub = ZOO[name]
    if needs_hub and importlib.util.find_spec("keras_hub") is None:
        pytest.skip("keras-hub (extra `hub`) is not installed")
    original = build()
    x = inputs()
    y = _noise_like(original, x) if targets is None else targets()
    before = _check_inspect_agrees(original)
    model = kerasdrop.convert(original)
    assert type(model) is type(original)
    sites = _check_inspect_agrees(model)
    assert [s.path for s in sites] == [s.path for s in before]
    assert all(s.status == "kerasdrop" for s in sites)
    registered = BACKEND != "torch" or _registered(original)
    _check_registries(model, registered)
    assert [type(s.layer) for s in graph.find(original)] == [
        type(s.layer) for s in before
    ]
    converted_vars = len(model.weights) - len(original.weights)
    newly = sum(b.status == "convertible" for b in before)
    assert converted_vars == 2 * newly  # a rate and a step per converted layer
    model.summary(print_fn=lambda *a, **k: None)
    for a, b in zip(
        keras.tree.flatten(model(x, training=False)),
        keras.tree.flatten(original(x, training=False)),
    ):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-4, atol=1e-5)
    _check_fit_reaches_nested_dropout(model, x, y, loss)
    _check_mc_keeps_bn(model, x)
    _check_strip_and_export(model, x, tmp_path, registered, name)
    weights = _check_keras_file(model, x, tmp_path, any(graph.owned(s) for s in sites))
    if weights is not None:  # the documented way back from a weights file
        fresh = kerasdrop.convert(build())
        fresh.load_weights(weights)
        assert {layer.rate for layer in graph.dropout_layers(fresh)} == {0.3}


@hub
@pytest.mark.parametrize(
    "name, kind",
    [
        ("hub_drop_path_model", "DropPath"),  # MiT
        ("swin_backbone", "DropPath"),
        ("mobilenetv5_backbone", "DropPath"),
        ("dinov2_backbone", "DINOV2DropPath"),
        ("dinov3_backbone", "DINOV3DropPath"),
    ],
)
def test_keras_hub_drop_path_layers_become_drop_path(name, kind):
    build, inputs = zoo.BUILDERS[name]
    model = build()
    x = inputs()
    before = graph.find(model)
    hub_paths = [
        i
        for i, s in enumerate(before)
        if type(s.layer).__name__ == kind
        and type(s.layer).__module__.startswith("keras_hub")
    ]
    assert hub_paths, [type(s.layer).__name__ for s in before]
    converted = kerasdrop.convert(model)
    after = graph.find(converted)  # same order (a copy may rename layers)
    assert len(after) == len(before)
    assert all(isinstance(after[i].layer, L.DropPath) for i in hub_paths)
    assert all(s.status == "kerasdrop" for s in after)
    again = kerasdrop.convert(converted, to="keras")  # copies replay the swaps
    assert [type(s.layer) for s in graph.find(again)] == [type(s.layer) for s in before]
    for a, b in zip(keras.tree.flatten(converted(x)), keras.tree.flatten(model(x))):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-5, atol=1e-5)


def test_convnext_stochastic_depth_becomes_drop_path():
    model = zoo.convnext_tiny_stub()
    kinds = {type(s.layer).__name__ for s in graph.find(model)}
    assert "StochasticDepth" in kinds
    converted = kerasdrop.convert(model)
    assert any(
        isinstance(layer, L.DropPath) for layer in graph.dropout_layers(converted)
    )


# ----------------------------------------------------------------------------
# keras-hub specifics: logits heads, the way back, the round trip.
# ----------------------------------------------------------------------------
@hub
@pytest.mark.slow
@pytest.mark.one_backend  # backend-independent: bert_classifier's reach runs on all
def test_keras_hub_bert_logits_and_convert_back(tmp_path):
    model = kerasdrop.convert(zoo.bert_classifier())
    x = zoo.bert_inputs(8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # task given: no fallback warning
        result = kerasdrop.mc.predict(
            model, x, samples=10, seed=0, task="logits", verbose=0
        )
    assert result.task == "classification"
    np.testing.assert_allclose(to_numpy(result.mean.sum(-1)), 1.0, rtol=1e-5)
    assert float(result.mutual_information.max()) > 0
    with pytest.warns(UserWarning, match="task='logits'"):
        kerasdrop.mc.predict(model, x, samples=2, verbose=0)
    back = kerasdrop.convert(model, to="keras")
    assert all(s.status == "convertible" for s in graph.find(back))
    back.save(tmp_path / "back.keras")  # the blocks hold their own dropout again
    loaded = keras.saving.load_model(tmp_path / "back.keras")
    np.testing.assert_allclose(
        to_numpy(loaded(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-6
    )
    if BACKEND == "tensorflow":
        kerasdrop.export(model, tmp_path / "served", sample_inputs=x, mc_samples=4)


@hub
def test_convert_selected_layers_only_and_prefix_reuse():
    model = zoo.bert_classifier()
    with pytest.raises(TypeError, match="argument `layers`"):
        kerasdrop.convert(model, layers=3)
    with pytest.raises(
        ValueError, match="matches no dropout layer.*classifier_dropout"
    ):
        kerasdrop.convert(model, layers="nope")
    head = kerasdrop.convert(model, layers="classifier_dropout")
    (layer,) = graph.dropout_layers(head)
    assert layer.name == "classifier_dropout"
    by_path = kerasdrop.convert(model, layers=r"bert_backbone/transformer_layer_0/.*")
    assert {
        s.path.split("/")[1] for s in graph.find(by_path) if s.status == "kerasdrop"
    } == {"transformer_layer_0"}
    # Only the head samples: the backbone is the deterministic prefix.
    prefix, _ = kerasdrop.mc.split_deterministic_prefix(head)
    assert prefix is not None
    x = zoo.bert_inputs(4)
    with pytest.warns(UserWarning, match="(?s)does not reach 7 .*embeddings_dropout"):
        result = kerasdrop.mc.predict(head, x, samples=4, task="logits", verbose=0)
    assert float(result.mutual_information.max()) > 0


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
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(3), MyDrop(0.3, name="mine")]
    )
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
    kerasdrop.register_dropout(
        MyDrop, lambda layer, mc: keras.layers.Dense(2), rate="p"
    )
    try:
        with pytest.raises(TypeError, match="to_kerasdrop.*MyDrop"):
            kerasdrop.convert(model)
    finally:
        kerasdrop.unregister_dropout(MyDrop)


def test_mc_predict_sees_an_in_place_conversion():
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4),
            L.Dropout(0.5, name="kd"),
            keras.layers.Dense(4),
            keras.layers.Dropout(0.5, name="stock"),
            keras.layers.Dense(2),
        ]
    )
    x = np.ones((8, 3), "float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        kerasdrop.mc.predict(model, x, samples=8, seed=0, verbose=0)  # plan cached
        kerasdrop.convert(model, copy=False, layers="stock")
        kerasdrop.graph.dropout_layers(model)[0].rate = 0.0  # only 'stock' samples
        result = kerasdrop.mc.predict(model, x, samples=8, seed=0, verbose=0)
    assert float(result.std.max()) > 0  # a stale plan would sample nothing


def test_all_zero_rates_warn():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), L.Dropout(0.0)])
    with pytest.warns(UserWarning, match="is 0"):
        kerasdrop.mc.predict(model, np.ones((2, 3)), samples=2, verbose=0)
