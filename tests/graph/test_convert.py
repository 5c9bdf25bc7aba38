import warnings

import keras
import numpy as np
import pytest

import kerasdrop
from kerasdrop import layers as L
from kerasdrop import schedules as S
from helpers import to_numpy


def stock_model():
    inner = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3),
            keras.layers.SpatialDropout2D(0.2, seed=3),
        ],
        name="inner",
    )
    inputs = keras.Input((8, 8, 3))
    h = inner(inputs)
    h = keras.layers.Reshape((36, 4))(h)
    h = keras.layers.SpatialDropout1D(0.15)(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(16, activation="relu")(h)
    h = keras.layers.Dropout(0.4, noise_shape=(None, 16), seed=1, name="drop")(h)
    h = keras.layers.GaussianDropout(0.1, name="gauss")(h)
    out = keras.layers.Dense(3)(h)
    return keras.Model(inputs, out)


def all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)


def test_convert_replaces_stock_layers_and_keeps_weights():
    model = stock_model()
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype("float32")
    converted = kerasdrop.convert(model)
    kinds = {
        type(l_).__name__: l_
        for l_ in all_layers(converted)
        if isinstance(l_, L.DropoutBase)
    }
    assert set(kinds) == {
        "SpatialDropout2D",
        "SpatialDropout1D",
        "Dropout",
        "GaussianDropout",
    }
    assert not any(
        type(layer).__module__.startswith("keras.")
        and "Dropout" in type(layer).__name__
        for layer in all_layers(converted)
    )
    assert converted.get_layer("drop").rate == 0.4
    assert converted.get_layer("drop").noise_shape == (None, 16)
    assert converted.get_layer("drop").seed == 1
    assert converted.get_layer("gauss").rate == 0.1
    assert converted.get_layer("inner").layers[-1].rate == 0.2
    np.testing.assert_allclose(
        to_numpy(model.predict(x, verbose=0)),
        to_numpy(converted.predict(x, verbose=0)),
        rtol=1e-6,
    )
    # The original is untouched.
    assert type(model.get_layer("drop")) is keras.layers.Dropout
    # Converted layers can be scheduled in fit.
    converted.get_layer("drop").rate = 0.0
    converted.compile("adam", "mse")
    converted.fit(x, np.zeros((4, 3)), epochs=1, verbose=0)


def test_convert_back_to_keras_round_trip():
    model = stock_model()
    x = np.random.default_rng(1).normal(size=(2, 8, 8, 3)).astype("float32")
    there = kerasdrop.convert(model)
    there.get_layer("drop").rate = 0.25
    back = kerasdrop.convert(there, to="keras")
    assert type(back.get_layer("drop")) is keras.layers.Dropout
    assert back.get_layer("drop").rate == 0.25
    assert type(back.get_layer("gauss")) is keras.layers.GaussianDropout
    assert type(back.get_layer("inner").layers[-1]) is keras.layers.SpatialDropout2D
    np.testing.assert_allclose(
        to_numpy(model.predict(x, verbose=0)),
        to_numpy(back.predict(x, verbose=0)),
        rtol=1e-6,
    )


def test_convert_sequential_and_scheduled_back():
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(4),
            L.Dropout(S.Linear(0.0, 0.5, 10), name="s"),
        ]
    )
    model.get_layer("s").step = 4
    with pytest.warns(UserWarning, match="current rate 0.2"):
        back = kerasdrop.convert(model, to="keras")
    assert back.get_layer("s").rate == pytest.approx(0.2)


def test_convert_warns_when_nothing_replaced():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.warns(UserWarning, match="found no stock Keras dropout layer"):
        clone = kerasdrop.convert(model)
    np.testing.assert_array_equal(
        to_numpy(clone.get_weights()[0]), to_numpy(model.get_weights()[0])
    )
    with pytest.warns(UserWarning, match="found no kerasdrop dropout layer"):
        kerasdrop.convert(model, to="keras")


def test_convert_bad_inputs():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dropout(0.1)])
    with pytest.raises(ValueError, match="to='torch'"):
        kerasdrop.convert(model, to="torch")
    with pytest.raises(TypeError, match="argument `model`"):
        kerasdrop.convert("model.keras")

    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = keras.layers.Dropout(0.1)

        def call(self, x):
            return self.d(x)

    sub = Sub()
    sub(np.ones((1, 2)))
    # A subclassed model Keras cannot rebuild from its config: the error
    # names the way that works, and that way works.
    with pytest.raises(TypeError, match="copy=False"):
        kerasdrop.convert(sub)
    assert type(sub.d) is keras.layers.Dropout
    assert kerasdrop.convert(sub, copy=False) is sub
    assert isinstance(sub.d, L.Dropout) and sub.d.rate == pytest.approx(0.1)

    class WithConfig(keras.Model):  # rebuilt from config: copied
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.d = keras.layers.Dropout(0.2)

        def call(self, x):
            return self.d(x)

    ok = WithConfig()
    ok(np.ones((1, 2)))
    assert isinstance(kerasdrop.convert(ok).d, L.Dropout)
    assert type(ok.d) is keras.layers.Dropout
    with pytest.raises(TypeError, match="argument `copy`"):
        kerasdrop.convert(ok, copy="no")
    unbuilt = keras.Sequential([keras.layers.Dense(2), keras.layers.Dropout(0.1)])
    with pytest.raises(ValueError, match="built"):
        kerasdrop.convert(unbuilt)
    classic = keras.Sequential(
        [keras.Input((3,)), L.Dropout(0.1, scaling="classic", name="c")]
    )
    with pytest.raises(ValueError, match="'c'.*no stock Keras equivalent"):
        kerasdrop.convert(classic, to="keras")
    path = keras.Sequential([keras.Input((3,)), L.DropPath(0.1, name="p")])
    with pytest.raises(ValueError, match="'p' \\(DropPath\\)"):
        kerasdrop.convert(path, to="keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kerasdrop.convert(model)  # a real replacement does not warn
