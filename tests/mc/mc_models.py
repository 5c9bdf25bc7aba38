"""Models and data shared by the Monte-Carlo tests."""

import keras
import numpy as np

from kerasdrop import layers as L


def bn_model(rate=0.5, classes=None, seed=1):
    """Dense -> BatchNormalization (non-trivial moving stats) -> dropout."""
    inputs = keras.Input((6,), name="features")
    h = keras.layers.Dense(16, activation="relu", name="d1")(inputs)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = L.Dropout(rate, seed=seed, name="drop")(h)
    if classes:
        outputs = keras.layers.Dense(classes, activation="softmax", name="out")(h)
    else:
        outputs = keras.layers.Dense(1, name="out")(h)
    model = keras.Model(inputs, outputs)
    bn = model.get_layer("bn")
    bn.moving_mean.assign(np.full((16,), 0.3, "float32"))
    bn.moving_variance.assign(np.full((16,), 2.0, "float32"))
    return model


def data(n=40, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 6)).astype("float32")


def identity_model(name, seed=0):
    """Input -> Dropout(0.5): the identity at inference, x2 or 0 when sampling."""
    return keras.Sequential([keras.Input((8,)), L.Dropout(0.5, seed=seed)], name=name)
