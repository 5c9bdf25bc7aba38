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


BATCHED = {
    "dense_rank3": (lambda: keras.layers.Dense(4, activation="relu"), (3, 5, 6)),
    "einsum": (
        lambda: keras.layers.EinsumDense("abc,cd->abd", (5, 4), bias_axes="d"),
        (3, 5, 6),
    ),
    "einsum_ellipsis": (
        lambda: keras.layers.EinsumDense("...b,bc->...c", 4, bias_axes="c"),
        (3, 6),
    ),
    "conv1d_causal_dilated": (
        lambda: keras.layers.Conv1D(4, 3, padding="causal", dilation_rate=2),
        (3, 9, 4),
    ),
    "conv2d_groups_strided": (
        lambda: keras.layers.Conv2D(6, 3, strides=2, groups=2, activation="tanh"),
        (3, 7, 7, 4),
    ),
    "conv2d_channels_first": (
        lambda: keras.layers.Conv2D(4, 3, groups=2, data_format="channels_first"),
        (3, 4, 6, 5),
    ),
    "conv3d_same": (
        lambda: keras.layers.Conv3D(2, 2, padding="same", use_bias=True),
        (3, 4, 4, 4, 2),
    ),
}


def _tf_without_gpu():
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return not tf.config.list_physical_devices("GPU")


@pytest.mark.parametrize(
    "kind, accelerator",
    [(kind, False) for kind in sorted(BATCHED)]
    + [(kind, True) for kind in sorted(BATCHED) if "conv" in kind],
)
def test_mc_chunk_is_one_batched_op_equal_to_a_loop_per_sample(
    kind, accelerator, monkeypatch
):
    """Under `mc.predict`'s stacking, the chunk's samples run in one batched
    op (matmul, einsum; a grouped convolution on accelerators, separate
    convolutions on CPU); each sample's rows get its own mask: the result
    equals the wrapped layer called per sample with its kernel."""
    from kerasdrop import _backend
    from kerasdrop.layers import mc_state

    monkeypatch.setattr(_backend, "on_accelerator", lambda: accelerator)

    if "channels_first" in kind and _tf_without_gpu():
        pytest.skip("TensorFlow on CPU has no channels_first Conv2D to compare with")
    make, shape = BATCHED[kind]
    layer = L.DropConnect(make(), 0.4, seed=0)
    count, rows = 4, shape[0]
    x = np.random.default_rng(1).normal(size=(count * rows,) + shape[1:])
    x = ops.convert_to_tensor(x.astype("float32"))
    layer(x[:rows])  # build
    kernel = layer.layer.kernel
    noise = np.random.default_rng(2).random((count,) + tuple(kernel.shape))
    noise = ops.convert_to_tensor(noise.astype("float32"))
    monkeypatch.setattr(layer, "noise", lambda *args, **kwargs: noise)
    with mc_state.sample_groups(count), kerasdrop.mc.sampling(layer):
        batched = to_np(layer(x))
    kept = ops.where(ops.greater_equal(noise, 0.4), kernel.value / 0.6, 0.0)
    looped = [
        to_np(layer._with_kernel(x[g * rows : (g + 1) * rows], kept[g]))
        for g in range(count)
    ]
    np.testing.assert_allclose(batched, np.concatenate(looped), rtol=1e-5, atol=1e-5)
    # Every sample's output differs: four masks, not one.
    assert len({float(np.round(part.sum(), 4)) for part in looped}) == count
