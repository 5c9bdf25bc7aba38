"""A rate assigned (or scheduled) during `fit` takes effect with no retrace."""

import math

import keras
import numpy as np
import pytest
from helpers import CountingDropout, assert_no_retrace
from keras import ops

from kerasdrop import schedules as S

WIDTH = 2000  # units per example: zero fraction per batch is precise
BATCH = 16


class ZeroFraction(keras.layers.Layer):
    """Records the fraction of zeros it sees in training, in a variable."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = self.add_weight(
            name="seen", shape=(), initializer="zeros", trainable=False
        )

    def call(self, inputs, training=False):
        if training:
            self.seen.assign(ops.mean(ops.cast(ops.equal(inputs, 0.0), "float32")))
        return inputs


def build_model(rate, jit_compile="auto"):
    CountingDropout.traces = 0
    inputs = keras.Input((WIDTH,))
    h = CountingDropout(rate, seed=1, name="drop")(inputs)
    h = ZeroFraction(name="zeros")(h)
    out = keras.layers.Dense(1, kernel_initializer="zeros")(h)
    model = keras.Model(inputs, out)
    model.compile(keras.optimizers.SGD(0.0), "mse", jit_compile=jit_compile)
    return model


def data(batches):
    x = np.ones((batches * BATCH, WIDTH), "float32")
    return x, np.zeros((len(x), 1), "float32")


def se(p):
    return 5 * math.sqrt(p * (1 - p) / (BATCH * WIDTH)) + 1e-9


class Recorder(keras.callbacks.Callback):
    """Optionally assigns a rate before each batch; records what was used."""

    def __init__(self, assign=None):
        super().__init__()
        self.assign = assign
        self.step = 0
        self.wanted, self.seen, self.rates, self.traces = [], [], [], []

    def on_train_batch_begin(self, batch, logs=None):
        if self.assign is not None:
            value = self.assign(self.step)
            self.model.get_layer("drop").rate = value
            self.wanted.append(value)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        model = self.model  # syncs JAX state
        self.seen.append(
            float(ops.convert_to_numpy(model.get_layer("zeros").seen.value))
        )
        self.rates.append(model.get_layer("drop").rate)
        self.traces.append(CountingDropout.traces)


#: TensorFlow: graph and XLA; torch: eager ("auto") and `torch.compile`.
JIT = {"tensorflow": [False, True], "torch": ["auto", True]}.get(
    keras.backend.backend(), ["auto"]
)


@pytest.mark.parametrize("jit_compile", JIT)
def test_rate_assigned_per_batch_takes_effect_without_retrace(jit_compile):
    model = build_model(0.0, jit_compile)

    # Hundreds of changes: a new rate before every one of 240 batches.
    def assign(step):
        return round(0.05 + 0.85 * ((step * 37) % 100) / 100, 4)

    rec = Recorder(assign)
    x, y = data(40)
    model.fit(x, y, batch_size=BATCH, epochs=6, callbacks=[rec], verbose=0)
    assert len(rec.seen) == 240
    for wanted, seen in zip(rec.wanted, rec.seen):
        assert abs(seen - wanted) <= se(wanted), (wanted, seen)
    assert rec.rates == pytest.approx(rec.wanted)
    assert_no_retrace(rec.traces, jit_compile)


@pytest.mark.parametrize("jit_compile", JIT)
def test_rate_assigned_between_epochs_takes_effect(jit_compile):
    model = build_model(0.5, jit_compile)
    epoch_rates = [0.0, 0.2, 0.7, 0.1]

    class PerEpoch(Recorder):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.get_layer("drop").rate = epoch_rates[epoch]

    rec = PerEpoch()
    x, y = data(5)
    model.fit(x, y, batch_size=BATCH, epochs=4, callbacks=[rec], verbose=0)
    for epoch, rate in enumerate(epoch_rates):
        for seen in rec.seen[epoch * 5 : (epoch + 1) * 5]:
            assert abs(seen - rate) <= se(rate)
    assert_no_retrace(rec.traces, jit_compile)


@pytest.mark.parametrize("jit_compile", JIT)
def test_schedule_runs_in_graph_during_fit(jit_compile):
    sched = S.Join([S.Linear(0.0, 0.6, steps=30), S.Cosine(0.6, 0.1, steps=20)], [30])
    model = build_model(sched, jit_compile)
    rec = Recorder()
    x, y = data(10)
    model.fit(x, y, batch_size=BATCH, epochs=6, callbacks=[rec], verbose=0)
    expected = [sched(t) for t in range(60)]
    assert rec.rates == pytest.approx(expected, abs=1e-6)
    for rate, seen in zip(expected, rec.seen):
        assert abs(seen - rate) <= se(rate)
    assert model.get_layer("drop").step == 60
    assert_no_retrace(rec.traces, jit_compile)


def test_stock_keras_dropout_ignores_assignment():
    """The limitation kerasdrop fixes (keras#8826): documents the contrast."""
    inputs = keras.Input((WIDTH,))
    h = keras.layers.Dropout(0.5, seed=1, name="drop")(inputs)
    h = ZeroFraction(name="zeros")(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile(keras.optimizers.SGD(0.0), "mse")
    seen = []

    class Cb(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.get_layer("drop").rate = 0.0 if epoch else 0.5

        def on_train_batch_end(self, batch, logs=None):
            seen.append(
                float(ops.convert_to_numpy(self.model.get_layer("zeros").seen.value))
            )

    x, y = data(2)
    model.fit(x, y, batch_size=BATCH, epochs=2, callbacks=[Cb()], verbose=0)
    if keras.backend.backend() == "torch":
        # Eager torch reads the Python float at every step: assigning works
        # there (at the cost of never compiling the rate into the step).
        assert all(abs(s - 0.5) < 0.05 for s in seen[:2]) and seen[2:] == [0.0] * 2
    else:  # a traced step baked 0.5 in: rate 0 in epoch 2 is ignored
        assert all(abs(s - 0.5) < 0.05 for s in seen)
