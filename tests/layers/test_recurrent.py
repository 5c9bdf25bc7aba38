"""Variational recurrent dropout: kerasdrop's LSTM, GRU and SimpleRNN.

The masks are read through "probe" weights: with `units = 2 * features`,
unit `f < features` copies input feature `f` (its only weight is on the
input) and unit `features + g` copies its own previous state (its only
weight is on the state), so a zero output at a step is exactly a dropped
input feature, resp. a dropped state unit.
"""

import math

import keras
import numpy as np
import pytest
from keras import ops

import kerasdrop
from kerasdrop import graph, serving
from kerasdrop import layers as L
from kerasdrop import schedules as S
from helpers import assert_no_retrace, to_numpy

BACKEND = keras.backend.backend()
CLASSES = [L.LSTM, L.GRU, L.SimpleRNN]
F, T = 16, 4  # probe features (units = 2F), time steps
ZERO = 1e-4  # kept probe units are >= 0.5; dropped ones are < 1e-8


def _probe_weights(cls):
    units = 2 * F
    eye = np.eye(F, dtype="float32")
    if cls is L.LSTM:  # gates i, f, c, o: i, o open, f shut, c copies
        kernel = np.zeros((F, 4 * units), "float32")
        recurrent = np.zeros((units, 4 * units), "float32")
        kernel[:, 2 * units : 2 * units + F] = eye
        recurrent[F:, 2 * units + F : 3 * units] = eye
        bias = np.concatenate(
            [
                np.full(units, 20.0),
                np.full(units, -20.0),
                np.zeros(units),
                np.full(units, 20.0),
            ]
        )
        return [kernel, recurrent, bias.astype("float32")]
    if cls is L.GRU:  # gates z, r, h: z shut, r open, h copies
        kernel = np.zeros((F, 3 * units), "float32")
        recurrent = np.zeros((units, 3 * units), "float32")
        kernel[:, 2 * units : 2 * units + F] = eye
        recurrent[F:, 2 * units + F :] = eye
        bias = np.zeros((2, 3 * units), "float32")
        bias[0, :units], bias[0, units : 2 * units] = -20.0, 20.0
        return [kernel, recurrent, bias]
    kernel = np.zeros((F, units), "float32")
    recurrent = np.zeros((units, units), "float32")
    kernel[:, :F] = eye
    recurrent[F:, F:] = eye
    return [kernel, recurrent, np.zeros(units, "float32")]


def probe(cls=L.LSTM, **kwargs):
    layer = cls(2 * F, return_sequences=True, **kwargs)
    layer.build((None, T, F))
    layer.cell.set_weights(_probe_weights(cls))
    return layer


def initial_state(cls, batch):
    h0 = np.ones((batch, 2 * F), "float32")
    return [h0, np.zeros_like(h0)] if cls is L.LSTM else [h0]


def masks(layer, batch, training=True):
    """Boolean 'dropped' arrays (batch, T, F) of the input and state masks."""
    cls = type(layer)
    x = np.ones((batch, T, F), "float32")
    out = ops.convert_to_numpy(
        layer(x, initial_state=initial_state(cls, batch), training=training)
    )
    dropped = np.abs(to_numpy(out)) < ZERO
    return dropped[..., :F], dropped[..., F:], out


def within_5_se(fraction, rate, n):
    return abs(fraction - rate) <= 5 * math.sqrt(rate * (1 - rate) / n) + 1e-9


# ----------------------------------------------------------------------------
# The masks.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("cls", CLASSES)
def test_one_mask_per_sequence_shared_over_time(cls):
    batch, p_in, p_state = 256, 0.3, 0.6
    layer = probe(cls, dropout=p_in, recurrent_dropout=p_state, seed=3)
    dropped_in, dropped_state, _ = masks(layer, batch)
    for dropped, rate in ((dropped_in, p_in), (dropped_state, p_state)):
        # Zeros at the same units at every step.
        assert (dropped == dropped[:, :1]).all()
        # A new mask per sequence, at the rate.
        assert len({row.tobytes() for row in dropped[:, 0]}) > batch // 2
        assert within_5_se(dropped[:, 0].mean(), rate, batch * F), dropped.mean()
    again_in, again_state, _ = masks(layer, batch)
    assert (again_in != dropped_in).any() and (again_state != dropped_state).any()
    assert (dropped_in[:, 0] != dropped_state[:, 0]).any()  # independent masks


def test_kept_units_scaled_by_inverse_keep_probability():
    p_in, p_state = 0.25, 0.5
    layer = probe(L.SimpleRNN, dropout=p_in, recurrent_dropout=p_state, seed=1)
    dropped_in, dropped_state, out = masks(layer, 64)
    # SimpleRNN probe: tanh(mask * 1) at step 0, kept mask = 1 / (1 - p).
    np.testing.assert_allclose(
        to_numpy(out[:, 0, :F][~dropped_in[:, 0]]), np.tanh(1 / (1 - p_in)), rtol=1e-6
    )
    np.testing.assert_allclose(
        to_numpy(out[:, 0, F:][~dropped_state[:, 0]]),
        np.tanh(1 / (1 - p_state)),
        rtol=1e-6,
    )


@pytest.mark.parametrize("cls", CLASSES)
def test_inference_and_rate_zero_do_not_drop(cls):
    layer = probe(cls, dropout=0.5, recurrent_dropout=0.5, seed=0)
    dropped_in, dropped_state, _ = masks(layer, 32, training=False)
    assert not dropped_in.any() and not dropped_state.any()
    layer.input_dropout.rate = 0.0
    layer.state_dropout.rate = 0.0
    dropped_in, dropped_state, _ = masks(layer, 32, training=True)
    assert not dropped_in.any() and not dropped_state.any()


GRU_VARIANTS = [{}, {"reset_after": False}, {"use_bias": False}]
CASES = [(L.LSTM, {}), (L.SimpleRNN, {})] + [(L.GRU, kw) for kw in GRU_VARIANTS]


@pytest.mark.parametrize("cls, kwargs", CASES)
def test_masked_step_at_rate_zero_is_the_keras_step(cls, kwargs):
    """Training at rate 0 runs the masked step (an all-ones state mask):
    it computes Keras' step."""
    x = np.random.default_rng(0).normal(size=(3, 5, 4)).astype("float32")
    layer = cls(6, dropout=0.0, recurrent_dropout=0.0, seed=0, **kwargs)
    layer(x)  # builds it
    stock = L.recurrent.to_stock(layer)
    np.testing.assert_allclose(
        to_numpy(ops.convert_to_numpy(layer(x, training=True))),
        to_numpy(ops.convert_to_numpy(stock(x))),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("cls", CLASSES)
def test_state_mask_enters_only_the_recurrent_matmul(cls):
    """With no recurrent kernel the state mask changes nothing: in a GRU
    the mix `z * h + (1 - z) * hh` uses the unmasked state (Gal)."""
    x = np.random.default_rng(1).normal(size=(8, 5, 4)).astype("float32")
    layer = cls(6, recurrent_dropout=0.9, seed=0, return_sequences=True)
    layer(x)
    layer.cell.recurrent_kernel.assign(np.zeros(layer.cell.recurrent_kernel.shape))
    np.testing.assert_allclose(
        to_numpy(ops.convert_to_numpy(layer(x, training=True))),
        to_numpy(ops.convert_to_numpy(layer(x))),
        rtol=1e-5,
        atol=1e-6,
    )


# ----------------------------------------------------------------------------
# Rates in compiled fit.
# ----------------------------------------------------------------------------
class CountingLSTM(L.LSTM):
    traces = 0

    def call(self, sequences, initial_state=None, mask=None, training=False):
        type(self).traces += 1
        return super().call(sequences, initial_state, mask, training)


class ZeroFractions(keras.layers.Layer):
    """Records the dropped fraction of the probe's input and state units."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = self.add_weight(
            name="seen", shape=(2,), initializer="zeros", trainable=False
        )

    def call(self, inputs, training=False):
        if training:
            dropped = ops.cast(ops.less(ops.abs(inputs[:, 0]), ZERO), "float32")
            self.seen.assign(
                ops.stack([ops.mean(dropped[:, :F]), ops.mean(dropped[:, F:])])
            )
        return inputs


def probe_model(dropout, recurrent_dropout):
    CountingLSTM.traces = 0
    x, h0, c0 = keras.Input((T, F)), keras.Input((2 * F,)), keras.Input((2 * F,))
    layer = CountingLSTM(
        2 * F,
        return_sequences=True,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        seed=2,
        name="lstm",
    )
    h = layer(x, initial_state=[h0, c0])
    layer.cell.set_weights(_probe_weights(L.LSTM))
    h = ZeroFractions(name="zeros")(h)
    out = keras.layers.Dense(1, kernel_initializer="zeros")(keras.layers.Flatten()(h))
    model = keras.Model([x, h0, c0], out)
    model.compile(keras.optimizers.SGD(0.0), "mse")
    return model


class Recorder(keras.callbacks.Callback):
    def __init__(self, assign=None):
        super().__init__()
        self.assign = assign
        self.step = 0
        self.rates, self.seen, self.traces = [], [], []

    def on_train_batch_begin(self, batch, logs=None):
        if self.assign is not None:
            lstm = self.model.get_layer("lstm")
            lstm.input_dropout.rate, lstm.state_dropout.rate = self.assign(self.step)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        lstm = self.model.get_layer("lstm")
        self.rates.append((lstm.input_dropout.rate, lstm.state_dropout.rate))
        seen = self.model.get_layer("zeros").seen.value
        self.seen.append(tuple(ops.convert_to_numpy(seen).tolist()))
        self.traces.append(CountingLSTM.traces)


BATCH = 64


def fit_probe(model, recorder, batches):
    n = BATCH * batches
    h0 = np.ones((n, 2 * F), "float32")
    inputs = [np.ones((n, T, F), "float32"), h0, np.zeros_like(h0)]
    model.fit(
        inputs,
        np.zeros((n, 1), "float32"),
        batch_size=BATCH,
        epochs=2,
        shuffle=False,
        verbose=0,
        callbacks=[recorder],
    )


def assert_rates_seen(recorder):
    for (p_in, p_state), (seen_in, seen_state) in zip(recorder.rates, recorder.seen):
        assert within_5_se(seen_in, p_in, BATCH * F), (p_in, seen_in)
        assert within_5_se(seen_state, p_state, BATCH * F), (p_state, seen_state)
    assert_no_retrace(recorder.traces)


def test_assigned_rates_take_effect_in_compiled_fit_without_retrace():
    model = probe_model(0.0, 0.0)

    def rates(step):
        return (
            round(0.1 + 0.08 * (step % 9), 2),
            round(0.7 - 0.07 * (step % 7), 2),
        )

    recorder = Recorder(rates)
    fit_probe(model, recorder, batches=6)
    assert recorder.rates == [rates(step) for step in range(12)]
    assert_rates_seen(recorder)


def test_schedules_run_in_graph_during_fit():
    up, down = S.Linear(0.0, 0.6, steps=10), S.Linear(0.5, 0.1, steps=10)
    model = probe_model(up, down)
    recorder = Recorder()
    fit_probe(model, recorder, batches=6)
    expected = [(up(t), down(t)) for t in range(12)]
    assert np.allclose(to_numpy(recorder.rates), to_numpy(expected), atol=1e-6)
    assert_rates_seen(recorder)
    lstm = model.get_layer("lstm")
    assert lstm.input_dropout.step == lstm.state_dropout.step == 12


# ----------------------------------------------------------------------------
# MC sampling, strip, convert, save.
# ----------------------------------------------------------------------------
def rnn_model(mc=False):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5, 4))
    h = L.LSTM(
        6, dropout=0.2, recurrent_dropout=0.3, return_sequences=True, mc=mc, name="lstm"
    )(inputs)
    h = keras.layers.Bidirectional(
        L.GRU(3, dropout=0.1, recurrent_dropout=0.2), name="bigru"
    )(h)
    h = keras.layers.RepeatVector(2)(h)
    h = L.SimpleRNN(3, recurrent_dropout=S.Linear(0.0, 0.4, 5), name="srnn")(h)
    return keras.Model(inputs, keras.layers.Dense(2)(h))


def xs(n=8):
    return np.random.default_rng(0).normal(size=(n, 5, 4)).astype("float32")


def numpy(y):
    return ops.convert_to_numpy(y)


def test_model_sites_are_the_dropout_sublayers_of_each_direction():
    model = rnn_model()
    assert [s.path for s in graph.find(model)] == [
        "lstm/input_dropout",
        "lstm/state_dropout",
        "bigru/forward_layer/input_dropout",
        "bigru/forward_layer/state_dropout",
        "bigru/backward_layer/input_dropout",
        "bigru/backward_layer/state_dropout",
        "srnn/input_dropout",
        "srnn/state_dropout",
    ]
    assert all(s.status == "kerasdrop" for s in graph.find(model))
    bigru = model.get_layer("bigru")
    assert bigru.forward_layer.input_dropout is not bigru.backward_layer.input_dropout
    assert bigru.forward_layer.state_dropout.rate == 0.2


def small_model(mc=False):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5, 4))
    h = L.GRU(4, dropout=0.2, recurrent_dropout=0.3, mc=mc, name="gru")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(h))


@pytest.mark.slow  # ~10 s on JAX (eager scans compile per call), 1 s on TF
def test_mc_sampling_varies_outputs():
    model, x = small_model(), xs()
    det = numpy(model(x, training=False))
    with kerasdrop.mc.sampling(model):
        first, second = numpy(model(x)), numpy(model(x))
    assert not np.allclose(to_numpy(first), to_numpy(second))
    np.testing.assert_array_equal(
        numpy(model(x)), to_numpy(det)
    )  # outside: deterministic
    result = kerasdrop.mc.predict(model, x, samples=6, task="regression", verbose=0)
    assert (result.std > 0).all()
    same = np.concatenate([x[:1]] * 8)  # consistent: sample t, one mask everywhere
    result = kerasdrop.mc.predict(
        model,
        same,
        samples=4,
        task="regression",
        batch_size=4,
        consistent=True,
        return_samples=True,
        verbose=0,
    )
    assert (result.samples == result.samples[:, :1]).all() and (result.std > 0).all()
    mc_model = small_model(mc=True)  # an MC layer samples at every inference
    assert not np.allclose(numpy(mc_model(x)), numpy(mc_model(x)))


def assert_stripped_equal(served, expected, fused):
    """Stripped outputs equal inference bit for bit; but on torch, where a
    stripped LSTM (recurrent_dropout 0) takes Keras' fused kernel, which
    rounds differently from the step loop, within float32 rounding."""
    if fused and keras.backend.backend() == "torch":
        np.testing.assert_allclose(served, expected, rtol=0, atol=1e-6)
    else:
        np.testing.assert_array_equal(served, expected)


def test_strip_gives_stock_rnns_equal_to_inference():
    model, x = rnn_model(mc=True), xs()
    model.get_layer("lstm").input_dropout.rate = 0.5
    expected = serving.inference_outputs(model, x)
    stripped = kerasdrop.strip_dropout(model)
    assert graph.find(stripped) == []
    kinds = [type(layer) for layer in stripped.layers]
    assert keras.layers.LSTM in kinds and keras.layers.SimpleRNN in kinds
    bigru = stripped.get_layer("bigru")
    assert type(bigru.forward_layer) is type(bigru.backward_layer) is keras.layers.GRU
    assert_stripped_equal(numpy(stripped(x)), to_numpy(expected), fused=True)


@pytest.mark.tf_only
def test_stripped_model_has_no_random_op():
    import tensorflow as tf

    model = rnn_model()
    spec = tf.TensorSpec((None, 5, 4), tf.float32)
    stripped = kerasdrop.strip_dropout(model)
    served = tf.function(lambda t: stripped(t, training=False))
    assert serving.random_ops(served.get_concrete_function(spec)) == []
    trained = tf.function(lambda t: model(t, training=True))  # the check sees them
    assert serving.random_ops(trained.get_concrete_function(spec))


def stock_model(kind):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((5, 4))
    if kind == "lstm":
        h = keras.layers.LSTM(6, dropout=0.2, recurrent_dropout=0.3, name="rnn")(inputs)
    elif kind == "gru":
        h = keras.layers.GRU(6, dropout=0.2, reset_after=False, name="rnn")(inputs)
    else:
        h = keras.layers.Bidirectional(
            keras.layers.LSTM(4, recurrent_dropout=0.25, return_sequences=True),
            name="rnn",
        )(inputs)
        h = keras.layers.SimpleRNN(3, dropout=0.1, name="srnn")(h)
    return keras.Model(inputs, keras.layers.Dense(2)(h))


@pytest.mark.slow  # up to ~9 s on JAX, ~1 s on TF
@pytest.mark.parametrize("kind", ["lstm", "gru", "bidirectional"])
def test_convert_and_strip_keep_weights_and_outputs(kind):
    model, x = stock_model(kind), xs()
    expected = numpy(model(x))
    before = graph.find(model)
    assert before and all(s.status == "convertible" for s in before)
    converted = kerasdrop.convert(model)
    sites = graph.find(converted)
    assert sites and all(s.status == "kerasdrop" for s in sites)
    assert len(model.trainable_weights) == len(converted.trainable_weights)
    for old, new in zip(model.trainable_weights, converted.trainable_weights):
        np.testing.assert_array_equal(numpy(old.value), numpy(new.value))
    np.testing.assert_array_equal(numpy(converted(x)), to_numpy(expected))
    served = numpy(kerasdrop.strip_dropout(converted)(x))
    assert_stripped_equal(served, to_numpy(expected), fused=kind != "gru")
    back = kerasdrop.convert(converted, to="keras")
    assert [(s.path, s.rate) for s in graph.find(back)] == [
        (s.path, s.rate) for s in before
    ]
    np.testing.assert_array_equal(numpy(back(x)), to_numpy(expected))


def test_converted_rates_and_no_state_dropout_when_stock_has_none():
    converted = kerasdrop.convert(stock_model("gru"))
    gru = converted.get_layer("rnn")
    assert isinstance(gru, L.GRU) and gru.input_dropout.rate == 0.2
    assert gru.state_dropout is None and not gru.cell.reset_after
    lstm = kerasdrop.convert(stock_model("lstm"), mc=True).get_layer("rnn")
    assert lstm.state_dropout.rate == 0.3 and lstm.state_dropout.mc


def test_keras_file_round_trip(tmp_path):
    model, x = rnn_model(), xs()
    model.get_layer("lstm").state_dropout.rate = 0.45
    model.get_layer("srnn").state_dropout.step = 3
    model.get_layer("bigru").backward_layer.input_dropout.mc = True
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    before, after = graph.find(model), graph.find(loaded)
    assert [
        (s.path, s.kind, s.layer.rate, s.layer.step, s.layer.mc) for s in after
    ] == [(s.path, s.kind, s.layer.rate, s.layer.step, s.layer.mc) for s in before]
    assert loaded.get_layer("srnn").state_dropout.schedule == S.Linear(0.0, 0.4, 5)
    assert not loaded.get_layer("bigru").backward_layer.state_dropout.mc
    assert [s.layer.mc for s in after].count(True) == 1
    np.testing.assert_array_equal(
        to_numpy(serving.inference_outputs(loaded, x)),
        to_numpy(serving.inference_outputs(model, x)),
    )


def test_converted_bidirectional_saves(tmp_path):
    converted, x = kerasdrop.convert(stock_model("bidirectional")), xs()
    converted.save(tmp_path / "b.keras")
    loaded = keras.saving.load_model(tmp_path / "b.keras")
    assert len(graph.dropout_layers(loaded)) == len(graph.dropout_layers(converted))
    np.testing.assert_array_equal(numpy(loaded(x)), numpy(converted(x)))


def test_convert_to_keras_names_a_schedule():
    with pytest.warns(UserWarning, match="srnn_state_dropout.*schedule"):
        back = kerasdrop.convert(rnn_model(), to="keras")
    assert type(back.get_layer("srnn")) is keras.layers.SimpleRNN


# ----------------------------------------------------------------------------
# Bad arguments.
# ----------------------------------------------------------------------------
BAD = [
    ({"dropout": "0.1"}, TypeError, "dropout"),
    ({"dropout": True}, TypeError, "dropout"),
    ({"dropout": 1.0}, ValueError, "dropout"),
    ({"dropout": -0.1}, ValueError, "dropout"),
    ({"dropout": None}, TypeError, "dropout"),
    ({"dropout": lambda step: 0.1}, TypeError, "dropout"),
    ({"recurrent_dropout": "x"}, TypeError, "recurrent_dropout"),
    ({"recurrent_dropout": float("nan")}, ValueError, "recurrent_dropout"),
    ({"recurrent_dropout": 1.5}, ValueError, "recurrent_dropout"),
    ({"seed": "1"}, TypeError, "seed"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"mc": "yes"}, TypeError, "mc"),
    ({"recurrent_mc": 1}, TypeError, "recurrent_mc"),
]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("kwargs, error, name", BAD)
def test_bad_arguments_raise_keras_style_errors(cls, kwargs, error, name):
    with pytest.raises(
        error, match=f"Invalid value received for argument `{name}`.*Received: {name}="
    ):
        cls(4, **kwargs)


@pytest.mark.parametrize("cls", [L.LSTM, L.GRU])
def test_cudnn_cannot_run_state_dropout(cls):
    with pytest.raises(
        ValueError, match="argument `use_cudnn`.*Received: use_cudnn=True"
    ):
        cls(4, recurrent_dropout=0.1, use_cudnn=True)
    cls(4, dropout=0.1, use_cudnn=True)  # input dropout keeps cuDNN
