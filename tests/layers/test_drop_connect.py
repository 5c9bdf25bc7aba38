"""DropConnect: weights dropped, one mask per MC sample, stripped to the layer."""

import keras
import numpy as np
import pytest
from keras import ops

import kerasdrop
from kerasdrop import layers as L
from helpers import to_numpy


def to_np(x):
    return np.asarray(to_numpy(ops.convert_to_numpy(x)))


def dense_model(rate=0.3, units=6, features=5, seed=0):
    inputs = keras.Input((features,))
    wrapped = L.DropConnect(
        keras.layers.Dense(units, use_bias=False, name="dense"),
        rate,
        seed=seed,
        name="dc",
    )
    return keras.Model(inputs, wrapped(inputs))


def test_effective_weights_drop_at_the_rate_and_keep_scaled():
    rate, features, units = 0.3, 40, 50
    model = dense_model(rate, units, features)
    kernel = to_np(model.get_layer("dc").layer.kernel)
    # Row i of the output for the identity input is row i of the effective kernel.
    effective = to_np(model(np.eye(features, dtype="float32"), training=True))
    dropped = effective == 0
    n = dropped.size
    assert abs(dropped.mean() - rate) <= 5 * np.sqrt(rate * (1 - rate) / n)
    np.testing.assert_allclose(
        to_numpy(effective[~dropped]), kernel[~dropped] / (1 - rate), rtol=1e-5
    )
    np.testing.assert_allclose(
        to_numpy(to_np(model(np.eye(features)))), to_numpy(kernel), rtol=1e-6
    )


def test_mc_samples_draw_fresh_weight_masks():
    model = dense_model(0.5)
    x = np.ones((3, 5), "float32")  # identical rows
    result = kerasdrop.mc.predict(
        model, x, samples=8, seed=0, return_samples=True, task="regression", verbose=0
    )
    samples = result.samples
    # One weight mask per sample: identical rows agree within a sample ...
    np.testing.assert_allclose(
        to_numpy(samples[:, 0]), to_numpy(samples[:, 1]), rtol=1e-6
    )
    # ... and samples differ (a mask per sample, not one per stacked chunk).
    assert len({tuple(np.round(to_numpy(s[0]), 5)) for s in samples}) == 8
    with kerasdrop.mc.sampling(model):
        a, b = to_np(model(x)), to_np(model(x))
    assert not np.allclose(to_numpy(a), to_numpy(b))


def test_stripped_model_is_the_wrapped_layer():
    model = dense_model(0.4)
    x = np.random.default_rng(0).random((4, 5)).astype("float32")
    stripped = kerasdrop.strip_dropout(model)
    assert not [layer for layer in stripped.layers if isinstance(layer, L.DropConnect)]
    assert any(isinstance(layer, keras.layers.Dense) for layer in stripped.layers)
    np.testing.assert_allclose(
        to_numpy(to_np(stripped(x))), to_numpy(to_np(model(x))), rtol=1e-6
    )


def test_conv_trains_and_round_trips(tmp_path):
    inputs = keras.Input((6, 6, 2))
    h = L.DropConnect(
        keras.layers.Conv2D(3, 3, padding="same"), 0.2, seed=1, name="dc"
    )(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(h))
    model.compile("sgd", "mse")
    kernel_before = to_np(model.get_layer("dc").layer.kernel).copy()
    x = np.random.default_rng(0).random((8, 6, 6, 2)).astype("float32")
    model.fit(x, np.ones((8, 3)), epochs=1, batch_size=4, verbose=0)
    assert not np.allclose(
        to_numpy(to_np(model.get_layer("dc").layer.kernel)), to_numpy(kernel_before)
    )
    assert len(model.trainable_weights) == 2  # the wrapped kernel and bias
    path = tmp_path / "m.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(
        to_numpy(to_np(restored(x))), to_numpy(to_np(model(x))), rtol=1e-5
    )
    assert restored.get_layer("dc").rate == pytest.approx(0.2)


@pytest.mark.parametrize(
    "layer, rate, exc, fragment",
    [
        (keras.layers.Dropout(0.1), 0.1, TypeError, "layer=<Dropout"),
        (None, 0.1, TypeError, "layer=None"),
        ("dense", 0.1, TypeError, "layer='dense'"),
        (keras.layers.Dense(2), 1.0, ValueError, "rate=1.0"),
        (keras.layers.Dense(2), -0.1, ValueError, "rate=-0.1"),
        (keras.layers.Dense(2), "0.1", TypeError, "rate='0.1'"),
    ],
)
def test_bad_arguments_raise(layer, rate, exc, fragment):
    with pytest.raises(exc, match=fragment):
        L.DropConnect(layer, rate)


def test_registered_and_config():
    layer = L.DropConnect(keras.layers.Dense(2), 0.25, seed=3)
    config = layer.get_config()
    clone = L.DropConnect.from_config(config)
    assert clone.get_config() == config
    assert keras.saving.get_registered_name(L.DropConnect) == "kerasdrop>DropConnect"
