"""The model, data and rate trace shared by the callback tests."""

import keras
import numpy as np
from helpers import CountingDropout

import kerasdrop


STEPS = 4  # batches per epoch


BATCH = 8


def model_fn(rates=(0.1, 0.5), nested=True):
    CountingDropout.traces = 0
    keras.utils.set_random_seed(0)
    inner_in = keras.Input((16,))
    inner = keras.Model(
        inner_in,
        CountingDropout(rates[1], name="inner_drop")(keras.layers.Dense(16)(inner_in)),
        name="block",
    )
    inputs = keras.Input((8,))
    h = CountingDropout(rates[0], name="input_drop")(inputs)
    h = keras.layers.Dense(16, activation="relu")(h)
    h = inner(h) if nested else h
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile(keras.optimizers.SGD(0.01), "mse")
    return model


def xy(n=STEPS * BATCH, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, x[:, :1] * 0.5


class Trace(keras.callbacks.Callback):
    """Records the live rate of each layer at each batch, and trace counts."""

    def __init__(self):
        super().__init__()
        self.rates, self.traces = [], []

    def on_train_batch_end(self, batch, logs=None):
        model = self.model
        self.rates.append(
            {layer.name: layer.rate for layer in kerasdrop.graph.dropout_layers(model)}
        )
        self.traces.append(CountingDropout.traces)
