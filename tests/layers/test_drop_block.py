"""DropBlock2D / DropBlock3D: blocks, rate, normalisation, variable rate."""

import re

import keras
import numpy as np
import pytest
from keras import ops
from numpy.lib.stride_tricks import sliding_window_view

import kerasdrop
from kerasdrop import layers as L
from kerasdrop import schedules as S
from helpers import to_numpy


def to_np(x):
    return np.asarray(to_numpy(ops.convert_to_numpy(x)))


def zeros_come_in_blocks(zero, block):
    """Every zero lies in an all-zero `block` window (clipped at borders)."""
    pad = [(b - 1, b - 1) for b in block]
    padded = np.pad(zero, pad, constant_values=True)  # outside: "dropped"
    full = sliding_window_view(padded, block).all(axis=tuple(range(-len(block), 0)))
    # Window k of `full` covers units k - (b - 1) ... k.
    covered = sliding_window_view(full, block).any(axis=tuple(range(-len(block), 0)))
    return bool(np.array_equal(to_numpy(covered), to_numpy(zero)))


@pytest.mark.parametrize("block_size", [1, 3, 5])
@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_dropped_fraction_is_the_rate(block_size, rate):
    layer = L.DropBlock2D(rate, block_size=block_size, seed=block_size)
    x = np.ones((16, 16, 16, 2), "float32")
    # Units of a block are dropped together: the standard error comes from
    # independent draws, not from the unit count.
    fractions = [float((to_np(layer(x, training=True)) == 0).mean()) for _ in range(20)]
    se = np.std(to_numpy(fractions), ddof=1) / np.sqrt(len(fractions))
    assert abs(np.mean(to_numpy(fractions)) - rate) <= 5 * se + 1e-3, (
        np.mean(to_numpy(fractions)),
        se,
    )


@pytest.mark.parametrize("block_size", [2, 3, 4])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_zeros_come_in_block_squares(block_size, data_format):
    layer = L.DropBlock2D(0.3, block_size=block_size, data_format=data_format, seed=0)
    shape = (3, 12, 10, 4) if data_format == "channels_last" else (3, 4, 12, 10)
    zero = to_np(layer(np.ones(shape, "float32"), training=True)) == 0
    if data_format == "channels_first":
        zero = np.moveaxis(zero, 1, -1)
    assert zero.any() and not zero.all()
    for b in range(shape[0]):
        for c in range(4):  # each channel draws its own blocks
            assert zeros_come_in_blocks(zero[b, :, :, c], (block_size, block_size))
    # Channels differ: the mask is not shared across them.
    assert not np.array_equal(to_numpy(zero[..., 0]), to_numpy(zero[..., 1]))


def test_block_size_per_axis_and_3d():
    zero = (
        to_np(
            L.DropBlock2D(0.3, block_size=(2, 5), seed=1)(
                np.ones((2, 10, 12, 1), "float32"), training=True
            )
        )
        == 0
    )
    assert all(zeros_come_in_blocks(zero[b, :, :, 0], (2, 5)) for b in range(2))
    zero3 = (
        to_np(
            L.DropBlock3D(0.3, block_size=3, seed=2)(
                np.ones((2, 6, 7, 8, 1), "float32"), training=True
            )
        )
        == 0
    )
    assert zero3.any()
    assert all(zeros_come_in_blocks(zero3[b, ..., 0], (3, 3, 3)) for b in range(2))


def test_kept_units_are_normalised_and_the_mean_is_preserved():
    rng = np.random.default_rng(0)
    x = rng.random((8, 12, 12, 3)).astype("float32") + 0.5
    layer = L.DropBlock2D(0.25, block_size=3, seed=4)
    y = to_np(layer(x, training=True))
    keep = y != 0
    scale = keep.size / keep.sum()
    np.testing.assert_allclose(to_numpy(y[keep]), x[keep] * scale, rtol=1e-5)
    means = [to_np(layer(x, training=True)).mean() for _ in range(30)]
    assert abs(np.mean(to_numpy(means)) - x.mean()) < 0.01 * x.mean()
    np.testing.assert_array_equal(
        to_numpy(to_np(layer(x))), to_numpy(x)
    )  # inference: identity


@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")
def test_rate_is_a_variable_inside_compiled_fit():
    layer = L.DropBlock2D(0.0, block_size=2, seed=0)
    # A frozen sum of the features: its error is zero only while nothing drops
    # (the normalisation preserves the batch's total, not each example's).
    model = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            layer,
            keras.layers.Flatten(),
            keras.layers.Dense(
                1, use_bias=False, kernel_initializer="ones", trainable=False
            ),
        ]
    )
    model.compile("sgd", "mse")
    losses = []

    class Assign(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.layers[0].rate = 0.0 if epoch == 0 else 0.5

        def on_train_batch_end(self, batch, logs=None):
            losses.append(float(logs["loss"]))

    x, y = np.ones((8, 6, 6, 2), "float32"), np.full((8, 1), 72.0, "float32")
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[Assign()])
    assert losses[:2] == [0.0, 0.0] and min(losses[2:]) > 0.0
    assert layer.rate == 0.5


def test_schedule_mc_strip_and_keras_round_trip(tmp_path):
    inputs = keras.Input((8, 8, 2))
    h = L.DropBlock2D(S.Linear(0.0, 0.3, 10), block_size=3, seed=0, name="db")(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(h))
    x = np.random.default_rng(0).random((4, 8, 8, 2)).astype("float32")
    model(x, training=True)
    assert model.get_layer("db").step == 1
    path = tmp_path / "m.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert restored.get_layer("db").step == 1
    assert restored.get_layer("db").get_config() == model.get_layer("db").get_config()

    model.get_layer("db").step = 10  # rate 0.3
    with kerasdrop.mc.sampling(model):
        draws = [to_np(model(x)) for _ in range(3)]
    assert not np.allclose(to_numpy(draws[0]), to_numpy(draws[1]))
    stripped = kerasdrop.strip_dropout(model)
    np.testing.assert_allclose(
        to_numpy(to_np(stripped(x))), to_numpy(to_np(model(x))), rtol=1e-6
    )
    assert not [layer for layer in stripped.layers if isinstance(layer, L.DropBlock2D)]


@pytest.mark.parametrize(
    "kwargs, exc, fragment",
    [
        ({"block_size": 0}, ValueError, "block_size=0"),
        ({"block_size": -2}, ValueError, "block_size=-2"),
        ({"block_size": 2.5}, TypeError, "block_size=2.5"),
        ({"block_size": True}, TypeError, "block_size=True"),
        ({"block_size": "3"}, TypeError, "block_size='3'"),
        ({"block_size": (3, 3, 3)}, ValueError, "block_size=(3, 3, 3)"),
        ({"block_size": None}, TypeError, "block_size=None"),
        ({"block_size": ()}, ValueError, "block_size=()"),
        ({"data_format": "NHWC"}, ValueError, "data_format='NHWC'"),
        ({"rate": 1.0}, ValueError, "rate=1.0"),
        ({"seed": "x"}, (TypeError, ValueError), "seed="),
    ],
)
def test_bad_arguments_raise(kwargs, exc, fragment):
    kwargs = {"rate": 0.1, **kwargs}
    with pytest.raises(exc, match="Received: .*" + re.escape(fragment)):
        L.DropBlock2D(**kwargs)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="block_size"):
        L.DropBlock2D(0.1, block_size=5)(
            np.ones((1, 4, 4, 1), "float32"), training=True
        )
    with pytest.raises(ValueError, match="rank 4"):
        L.DropBlock2D(0.1, block_size=2)(np.ones((2, 4, 4), "float32"))
    with pytest.raises(TypeError, match="dtype"):
        L.DropBlock2D(0.1, block_size=2)(np.ones((1, 4, 4, 1), "int32"))


def test_registered():
    for cls in (L.DropBlock2D, L.DropBlock3D):
        assert keras.saving.get_registered_name(cls) == f"kerasdrop>{cls.__name__}"


@pytest.mark.parametrize("gamma", [0.0, 0.004, 0.3])
def test_seeds_two_per_uniform_are_independent_bernoulli(gamma):
    # One uniform decides the seeds of row i and row i + ceil(rows / 2).
    layer = L.DropBlock2D(0.1, block_size=3, seed=7)
    s = to_np(layer.seeds((8, 101, 100, 4), gamma)).astype("float64")
    assert s.shape == (8, 101, 100, 4)
    first, second = s[:, :50], s[:, 51:]
    for observed, p, n in [
        (s.mean(), gamma, s.size),
        (second.mean(), gamma, second.size),
        ((first * second).mean(), gamma**2, first.size),
    ]:
        se = np.sqrt(max(p * (1 - p), 1e-12) / n)
        assert abs(observed - p) <= 5 * se, (observed, p, se)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9])
@pytest.mark.parametrize("axis", [1, 2])
def test_window_any_is_a_sliding_window_or(size, axis):
    from kerasdrop.layers.drop_block import window_any

    mask = np.random.default_rng(size).random((2, 13, 11)) < 0.1
    got = to_np(window_any(mask, axis, size))
    expected = sliding_window_view(mask, size, axis=axis).any(axis=-1)
    np.testing.assert_array_equal(got, expected)
