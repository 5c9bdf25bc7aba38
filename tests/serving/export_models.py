"""Models and SavedModel helpers shared by the serving tests."""

import keras
import numpy as np
import pytest

import kerasdrop
from kerasdrop import layers as L
from helpers import to_numpy


BACKEND = keras.backend.backend()

#: SavedModels (and their `mc` signature and version layout): Keras writes
#: none on PyTorch, where kerasdrop serves ONNX (tests/serving/test_torch.py).
needs_saved_model = pytest.mark.skipif(
    BACKEND == "torch",
    reason="torch serving path: Keras writes no SavedModel on the torch backend",
)
#: The PyTorch serving path (ONNX through torch.onnx, refusals).
torch_only = pytest.mark.skipif(BACKEND != "torch", reason="torch serving path")


# Kind -> (input shape, layer factory). Each model is
# Input -> Dense(tanh) -> KIND -> Flatten -> Dense (linear), so the mean of
# the MC passes equals the deterministic output (dropout is unbiased and
# what follows is linear).
KINDS = {
    "Dropout": ((6,), lambda: L.Dropout(0.3, seed=1)),
    "Dropout_classic": ((6,), lambda: L.Dropout(0.3, seed=1, scaling="classic")),
    "Dropout_mc": ((6,), lambda: L.Dropout(0.3, seed=1, mc=True)),
    "Dropout_scheduled": (
        (6,),
        lambda: L.Dropout(kerasdrop.schedules.Linear(0.1, 0.5, 4), seed=1),
    ),
    "SpatialDropout1D": ((5, 3), lambda: L.SpatialDropout1D(0.3, seed=1)),
    "SpatialDropout2D": ((3, 3, 2), lambda: L.SpatialDropout2D(0.3, seed=1)),
    "SpatialDropout3D": ((2, 2, 2, 2), lambda: L.SpatialDropout3D(0.3, seed=1)),
    "GaussianDropout": ((6,), lambda: L.GaussianDropout(0.3, seed=1)),
    "DropPath": ((6,), lambda: L.DropPath(0.3, seed=1)),
    # temperature 0.1: the relaxed mask's mean is 1 - p within 0.2%.
    "ConcreteDropout": (
        (6,),
        lambda: L.ConcreteDropout(keras.layers.Dense(5), init_rate=0.3, seed=1),
    ),
    "SpatialConcreteDropout": (
        (3, 3, 2),
        lambda: L.SpatialConcreteDropout(
            keras.layers.Conv2D(2, 1), init_rate=0.3, temperature=0.1, seed=1
        ),
    ),
    "keras.Dropout": ((6,), lambda: keras.layers.Dropout(0.3, seed=1)),
    "keras.SpatialDropout1D": ((5, 3), lambda: keras.layers.SpatialDropout1D(0.3)),
    "keras.SpatialDropout2D": ((3, 3, 2), lambda: keras.layers.SpatialDropout2D(0.3)),
    "keras.SpatialDropout3D": (
        (2, 2, 2, 2),
        lambda: keras.layers.SpatialDropout3D(0.3),
    ),
    "keras.GaussianDropout": ((6,), lambda: keras.layers.GaussianDropout(0.3)),
    "keras.GaussianNoise": ((6,), lambda: keras.layers.GaussianNoise(0.3)),
    "keras.AlphaDropout": ((6,), lambda: keras.layers.AlphaDropout(0.3)),
}


# Stock layers kerasdrop.convert cannot turn into sampling layers.
NO_MC = {"keras.GaussianNoise", "keras.AlphaDropout"}


CONCRETE_BIAS = 0.003  # |E[relaxed keep] / (1 - p) - 1| at temperature 0.1


def kind_model(kind):
    keras.utils.set_random_seed(0)
    shape, make = KINDS[kind]
    layer = make()
    model = keras.Sequential(
        [
            keras.Input(shape, name="x"),
            keras.layers.Dense(4, activation="tanh"),
            layer,
            keras.layers.Flatten(),
            keras.layers.Dense(2, name="y"),
        ],
        name=f"m_{kind.replace('.', '_')}",
    )
    if kind == "Dropout_scheduled":
        layer.step = 2  # rate 0.3 on the schedule
    return model


def mixed_model():
    """Two inputs, two outputs, a nested Sequential, every kind of layer."""
    keras.utils.set_random_seed(0)
    a = keras.Input((6,), name="a")
    b = keras.Input((3, 3, 2), name="b")
    h = keras.layers.Dense(8, activation="relu")(a)
    h = L.Dropout(0.2, scaling="classic", seed=1)(h)
    h = L.ConcreteDropout(keras.layers.Dense(8, activation="relu"), seed=2)(h)
    h = keras.layers.Dropout(0.3, seed=3)(h)
    h = keras.layers.GaussianNoise(0.1, seed=4)(h)
    g = L.SpatialConcreteDropout(keras.layers.Conv2D(4, 1), seed=5)(b)
    g = L.SpatialDropout2D(0.2, seed=6, mc=True)(g)
    g = keras.layers.SpatialDropout2D(0.1)(g)
    g = keras.layers.Flatten()(g)
    nested = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(8, activation="tanh"),
            L.GaussianDropout(0.2, seed=7),
            keras.layers.AlphaDropout(0.1, seed=8),
            keras.layers.GaussianDropout(0.1, seed=9),
        ],
        name="nested",
    )
    h = nested(h)
    r = L.DropPath(0.2, seed=10)(keras.layers.Dense(8)(h))
    h = keras.layers.Add()([h, r])
    h = keras.layers.Concatenate()([h, g])
    probs = keras.layers.Dense(3, activation="softmax", name="probs")(h)
    value = keras.layers.Dense(1, name="value")(L.Dropout(0.1, seed=11)(h))
    return keras.Model({"a": a, "b": b}, {"probs": probs, "value": value})


def flat(outputs):
    if isinstance(outputs, dict):
        return [np.asarray(to_numpy(outputs[k])) for k in sorted(outputs)]
    return [np.asarray(to_numpy(o)) for o in keras.tree.flatten(outputs)]


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(2)
        self.drop = L.Dropout(0.5)

    def call(self, x, training=False):
        return self.drop(self.dense(x), training=training)


def load_signatures(path):
    import tensorflow as tf

    return tf.saved_model.load(str(path)).signatures


def call(signature, x):
    import tensorflow as tf

    if not isinstance(x, dict):
        x = {"x": x}
    return {
        k: np.asarray(to_numpy(v))
        for k, v in signature(**{k: tf.constant(v) for k, v in x.items()}).items()
    }
