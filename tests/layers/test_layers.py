import math

import keras
import numpy as np
import pytest
from keras import ops

import kerasdrop
from kerasdrop import layers as L
from kerasdrop import schedules as S
from helpers import to_numpy


def to_np(x):
    return np.asarray(to_numpy(ops.convert_to_numpy(x)))


def within_5_se(observed, p, n):
    return abs(observed - p) <= 5 * math.sqrt(p * (1 - p) / n) + 1e-12


ALL_KINDS = [
    lambda r, **k: L.Dropout(r, **k),
    lambda r, **k: L.SpatialDropout1D(r, **k),
    lambda r, **k: L.SpatialDropout2D(r, **k),
    lambda r, **k: L.SpatialDropout3D(r, **k),
    lambda r, **k: L.GaussianDropout(r, **k),
    lambda r, **k: L.DropPath(r, **k),
]
KIND_IDS = ["Dropout", "Spatial1D", "Spatial2D", "Spatial3D", "Gaussian", "DropPath"]
SHAPES = {
    "Dropout": (4, 6),
    "Spatial1D": (3, 5, 4),
    "Spatial2D": (2, 4, 4, 3),
    "Spatial3D": (2, 3, 3, 3, 2),
    "Gaussian": (4, 6),
    "DropPath": (5, 3, 2),
}


# ----------------------------------------------------------------------------
# Statistics.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.3, 0.5, 0.9])
def test_dropout_zero_fraction_and_mean(rate):
    n = 200_000
    x = np.ones((200, 1000), "float32")
    y = to_np(L.Dropout(rate, seed=7)(x, training=True))
    assert within_5_se((y == 0).mean(), rate, n)
    kept = y[y != 0]
    np.testing.assert_allclose(to_numpy(kept), 1.0 / (1.0 - rate), rtol=1e-6)
    # Mean preserved: per-element variance of the output is p / (1 - p).
    se = math.sqrt(rate / (1 - rate) / n) if rate else 0.0
    assert abs(y.mean() - 1.0) <= 5 * se + 1e-6


@pytest.mark.parametrize("make", ALL_KINDS, ids=KIND_IDS)
def test_identity_at_inference(make):
    x = np.random.default_rng(0).normal(size=SHAPES[KIND_IDS[ALL_KINDS.index(make)]])
    x = x.astype("float32")
    layer = make(0.5, seed=1)
    np.testing.assert_array_equal(
        to_numpy(to_np(layer(x, training=False))), to_numpy(x)
    )
    np.testing.assert_array_equal(to_numpy(to_np(layer(x))), to_numpy(x))


@pytest.mark.parametrize(
    "cls, shape, data_format, channel_axis",
    [
        (L.SpatialDropout1D, (64, 7, 50), "channels_last", -1),
        (L.SpatialDropout1D, (64, 50, 7), "channels_first", 1),
        (L.SpatialDropout2D, (64, 5, 5, 50), "channels_last", -1),
        (L.SpatialDropout2D, (64, 50, 5, 5), "channels_first", 1),
        (L.SpatialDropout3D, (32, 3, 3, 3, 50), "channels_last", -1),
        (L.SpatialDropout3D, (32, 50, 3, 3, 3), "channels_first", 1),
    ],
)
def test_spatial_variants_zero_whole_channels(cls, shape, data_format, channel_axis):
    rate = 0.4
    y = to_np(
        cls(rate, data_format=data_format, seed=3)(
            np.ones(shape, "float32"), training=True
        )
    )
    spatial = tuple(a for a in range(1, len(shape)) if a != (channel_axis % len(shape)))
    zero = (y == 0).all(axis=spatial)
    full = np.isclose(to_numpy(y), 1 / (1 - rate)).all(axis=spatial)
    assert (zero | full).all(), "a channel was partly dropped"
    assert within_5_se(zero.mean(), rate, zero.size)


def test_drop_path_zeroes_whole_examples():
    rate = 0.25
    y = to_np(L.DropPath(rate, seed=5)(np.ones((4000, 3, 2), "float32"), training=True))
    per_example = y.reshape(len(y), -1)
    zero = (per_example == 0).all(axis=1)
    full = np.isclose(to_numpy(per_example), 1 / (1 - rate)).all(axis=1)
    assert (zero | full).all()
    assert within_5_se(zero.mean(), rate, len(zero))
    unscaled = to_np(
        L.DropPath(rate, seed=5, scale_by_keep=False)(
            np.ones((10, 2), "float32"), training=True
        )
    )
    assert set(np.unique(to_numpy(unscaled))) <= {0.0, 1.0}


def test_gaussian_dropout_moments():
    rate = 0.3
    n = 400_000
    y = to_np(
        L.GaussianDropout(rate, seed=11)(np.ones((400, 1000), "float32"), training=True)
    )
    var = rate / (1 - rate)
    assert abs(y.mean() - 1) <= 5 * math.sqrt(var / n)
    # Variance of the sample variance of a normal: 2 var^2 / (n - 1).
    assert abs(y.var() - var) <= 5 * math.sqrt(2 * var**2 / (n - 1))


def test_classic_variant_scales_by_keep_probability_at_inference():
    rate = 0.3
    x = np.random.default_rng(1).normal(size=(50, 40)).astype("float32")
    layer = L.Dropout(rate, scaling="classic", seed=2)
    np.testing.assert_allclose(
        to_numpy(to_np(layer(x, training=False))), (1 - rate) * x, rtol=1e-6
    )
    y = to_np(layer(x, training=True))
    kept = y != 0
    np.testing.assert_array_equal(
        to_numpy(y[kept]), to_numpy(x[kept])
    )  # no training-time scaling
    assert within_5_se(1 - kept.mean(), rate, kept.size)
    layer.rate = 0.5  # the live rate drives inference too
    np.testing.assert_allclose(to_numpy(to_np(layer(x))), 0.5 * x, rtol=1e-6)


def test_noise_shape_shares_the_mask():
    y = to_np(
        L.Dropout(0.5, noise_shape=(None, 1, None), seed=4)(
            np.ones((16, 10, 8), "float32"), training=True
        )
    )
    assert (y == y[:, :1, :]).all()
    assert 0 < (y == 0).mean() < 1


def test_masking_is_supported():
    layer = L.Dropout(0.5)
    assert layer.supports_masking
    inputs = keras.Input((5, 3))
    masked = keras.layers.Masking(0.0)(inputs)
    out = layer(masked)
    model = keras.Model(inputs, keras.layers.LSTM(2)(out))
    x = np.zeros((2, 5, 3), "float32")
    x[:, :2] = 1.0
    assert model.predict(x, verbose=0).shape == (2, 2)
    mask = np.array([[True, False]])
    np.testing.assert_array_equal(
        to_numpy(to_np(layer.compute_mask(None, mask))), to_numpy(mask)
    )


# ----------------------------------------------------------------------------
# Variable rate, seed generator, schedule.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("make", ALL_KINDS, ids=KIND_IDS)
def test_rate_lives_in_a_float32_variable_and_seed_generator_exists_at_zero(make):
    layer = make(0.0)
    assert layer.seed_generator is not None
    var = layer.rate_variable
    assert var.dtype == "float32" and tuple(var.shape) == ()
    assert not var.trainable
    layer.rate = 0.5
    assert layer.rate == 0.5
    x = np.ones(SHAPES[KIND_IDS[ALL_KINDS.index(make)]], "float32")
    assert not np.array_equal(to_numpy(to_np(layer(x, training=True))), to_numpy(x))


def test_schedule_runs_in_layer_and_advances_step():
    sched = S.Linear(0.0, 0.4, steps=4)
    layer = L.Dropout(sched, seed=0)
    x = np.ones((10, 10), "float32")
    seen = []
    for _ in range(6):
        layer(x, training=True)
        seen.append(layer.rate)
    assert seen == pytest.approx([sched(t) for t in range(6)])
    assert layer.step == 6
    layer(x, training=False)  # inference does not advance the schedule
    assert layer.step == 6
    layer.step = 2
    assert layer.rate == pytest.approx(sched(2))
    with pytest.raises(ValueError, match="schedule"):
        layer.rate = 0.3


def test_seeds_reproduce_masks():
    x = np.ones((20, 30), "float32")
    a = to_np(L.Dropout(0.5, seed=42)(x, training=True))
    b = to_np(L.Dropout(0.5, seed=42)(x, training=True))
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    layer = L.Dropout(0.5, seed=42)
    first, second = (to_np(layer(x, training=True)) for _ in range(2))
    assert not np.array_equal(to_numpy(first), to_numpy(second))
    c = to_np(L.Dropout(0.5, seed=43)(x, training=True))
    assert not np.array_equal(to_numpy(a), to_numpy(c))


# ----------------------------------------------------------------------------
# Serialization.
# ----------------------------------------------------------------------------
CONFIG_CASES = [
    L.Dropout(0.3, noise_shape=(None, 1), seed=1, scaling="classic", name="d"),
    L.Dropout(S.Cosine(0.5, 0.1, 100), seed=2),
    L.SpatialDropout1D(0.2, data_format="channels_first", seed=3),
    L.SpatialDropout2D(S.Late(0.2, 10)),
    L.SpatialDropout3D(0.1),
    L.GaussianDropout(0.4, seed=9),
    L.DropPath(S.Linear(0.0, 0.2, 50), scale_by_keep=False),
]


@pytest.mark.parametrize("layer", CONFIG_CASES, ids=lambda layer: type(layer).__name__)
def test_get_config_round_trips(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(restored) is type(layer)
    assert restored.get_config() == config
    assert restored.schedule == layer.schedule


def test_keras_file_keeps_live_rate_and_step(tmp_path):
    inputs = keras.Input((8,))
    h = keras.layers.Dense(8)(inputs)
    h = L.Dropout(0.1, name="const")(h)
    h = L.Dropout(S.Linear(0.0, 0.5, steps=100), name="sched")(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.get_layer("const").rate = 0.35
    sched = model.get_layer("sched")
    for _ in range(7):
        sched(np.ones((2, 8), "float32"), training=True)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("const").rate == 0.35
    assert loaded.get_layer("sched").step == 7
    assert loaded.get_layer("sched").rate == pytest.approx(S.Linear(0.0, 0.5, 100)(6))
    assert loaded.get_layer("sched").schedule == S.Linear(0.0, 0.5, steps=100)
    x = np.ones((3, 8), "float32")
    np.testing.assert_allclose(
        to_numpy(model.predict(x, verbose=0)), to_numpy(loaded.predict(x, verbose=0))
    )


# ----------------------------------------------------------------------------
# Mixed precision.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("make", ALL_KINDS, ids=KIND_IDS)
def test_mixed_precision(policy, make):
    keras.config.set_dtype_policy(policy)
    layer = make(S.Constant(0.3), seed=1)
    assert layer.rate_variable.dtype == "float32"
    shape = SHAPES[KIND_IDS[ALL_KINDS.index(make)]]
    x = np.ones(shape, "float32")
    y = layer(x, training=True)
    assert keras.backend.standardize_dtype(y.dtype) == policy.split("_")[1]
    assert np.isfinite(to_numpy(to_np(ops.cast(y, "float32")))).all()
    assert layer.rate_variable.dtype == "float32"


def test_mixed_precision_statistics_keep_full_rate_resolution():
    keras.config.set_dtype_policy("mixed_bfloat16")
    rate = 0.123  # not representable on bfloat16's 8-bit grid
    y = to_np(
        ops.cast(
            L.Dropout(rate, seed=0)(np.ones((200, 1000), "float32"), training=True),
            "float32",
        )
    )
    assert within_5_se((y == 0).mean(), rate, y.size)


def test_mixed_precision_model_trains():
    keras.config.set_dtype_policy("mixed_float16")
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16),
            L.Dropout(S.Linear(0.0, 0.3, 10)),
            keras.layers.Dense(1, dtype="float32"),
        ]
    )
    model.compile("adam", "mse")
    history = model.fit(
        np.ones((32, 6)), np.ones((32, 1)), epochs=2, batch_size=8, verbose=0
    )
    assert np.isfinite(to_numpy(history.history["loss"])).all()
    assert model.layers[1].rate_variable.dtype == "float32"
    assert model.layers[1].step == 8


# ----------------------------------------------------------------------------
# Bad inputs.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("make", ALL_KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(
    "rate, exc, fragment",
    [
        (-0.1, ValueError, "rate=-0.1"),
        (1.0, ValueError, "rate=1.0"),
        (1.5, ValueError, "rate=1.5"),
        (float("nan"), ValueError, "rate=nan"),
        (0.99999999, ValueError, "rate=0.99999999"),  # 1.0 in float32
        (np.float64(0.99999998), ValueError, "rounds to 1.0"),
        pytest.param(10**400, ValueError, "rate=1000", id="huge-int"),
        ("0.5", TypeError, "rate='0.5'"),
        (None, TypeError, "rate=None"),
        (True, TypeError, "rate=True"),
        (lambda step: 0.1, TypeError, "rate=<function"),
    ],
)
def test_bad_rates_raise(make, rate, exc, fragment):
    with pytest.raises(exc) as info:
        make(rate)
    assert "Invalid value received for argument `rate`" in str(info.value)
    assert fragment in str(info.value)


@pytest.mark.parametrize("make", ALL_KINDS, ids=KIND_IDS)
def test_bad_rate_assignment_keeps_the_old_rate(make):
    layer = make(0.2)
    for bad, exc in (
        (1.0, ValueError),
        (-1, ValueError),
        ("x", TypeError),
        (float("nan"), ValueError),
        (0.999999999, ValueError),
    ):
        with pytest.raises(exc, match="argument `rate`"):
            layer.rate = bad
        assert layer.rate == 0.2


@pytest.mark.parametrize("make", [L.Dropout, L.GaussianDropout, L.DropPath])
def test_largest_rate_stays_below_one_and_outputs_finite(make):
    layer = make(0.5, seed=0)
    layer.rate = 0.99999997  # rounds down to S.MAX_RATE in float32, accepted
    assert 0.99 < layer.rate < 1.0
    assert float(to_np(layer.rate_variable.value)) == S.MAX_RATE
    y = to_np(layer(np.ones((64, 4), "float32"), training=True))
    assert np.isfinite(to_numpy(y)).all()


@pytest.mark.parametrize("make", [L.Dropout, L.DropPath, L.SpatialDropout1D])
def test_float16_rate_near_one_drops_to_zero_not_nan(make):
    layer = make(0.99999, seed=0, dtype="mixed_float16")  # scale 1e5: inf in float16
    y = to_np(ops.cast(layer(np.ones((16, 2, 2), "float16"), training=True), "float32"))
    assert not np.isnan(to_numpy(y)).any() and (y == 0).any()


@pytest.mark.parametrize("mask_shape", [(8, 5), (8, 1), (1, 5)])
def test_inverted_scales_kept_units_and_zeroes_dropped_ones(mask_shape):
    from kerasdrop.layers.base import inverted

    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5)).astype("float32")
    keep = rng.random(mask_shape) < 0.6
    expected = np.where(keep, x * np.float32(1 / (1 - 0.4)), 0.0)
    y = to_numpy(inverted(ops.convert_to_tensor(x), ops.convert_to_tensor(keep), 0.4))
    np.testing.assert_array_equal(y, expected)  # a product, bit for bit


def test_scheduler_callable_rounding_to_one_assigns_nothing():
    model = keras.Sequential(
        [keras.Input((2,)), L.Dropout(0.1, name="a"), L.Dropout(0.2, name="b")]
    )
    cb = kerasdrop.callbacks.DropoutScheduler(
        {"a": lambda i, r: 0.3, "b": lambda i, r: 0.99999999}
    )
    cb.set_model(model)
    cb.on_train_begin()
    with pytest.raises(ValueError, match="below 1 in float32"):
        cb.on_epoch_begin(0)
    assert [layer.rate for layer in model.layers] == [0.1, 0.2]


@pytest.mark.parametrize(
    "noise_shape, exc, fragment",
    [
        ("abc", TypeError, "noise_shape='abc'"),
        (5, TypeError, "noise_shape=5"),
        ((2, -1), ValueError, "-1"),
        ((2, 0), ValueError, "0 at index 1"),
        ((2, 1.5), TypeError, "1.5"),
    ],
)
def test_bad_noise_shape_raises(noise_shape, exc, fragment):
    # A wrong type is a TypeError, a bad value a ValueError (kerasdrop._checks).
    with pytest.raises(exc) as info:
        L.Dropout(0.5, noise_shape=noise_shape)
    assert "argument `noise_shape`" in str(info.value) and fragment in str(info.value)


def test_noise_shape_incompatible_with_inputs_raises():
    with pytest.raises(ValueError, match="Expected rank 2"):
        L.Dropout(0.5, noise_shape=(None, 1, 1))(
            np.ones((2, 3), "float32"), training=True
        )
    with pytest.raises(ValueError, match="Expected 1 or 3 at index 1"):
        L.Dropout(0.5, noise_shape=(None, 2))(np.ones((2, 3), "float32"), training=True)


@pytest.mark.parametrize("make", ALL_KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool"])
def test_integer_inputs_raise(make, dtype):
    x = np.ones(SHAPES[KIND_IDS[ALL_KINDS.index(make)]], dtype)
    # (JAX without x64 turns int64 into int32: match the family.)
    family = dtype.rstrip("0123456789")
    with pytest.raises(
        TypeError, match=f"floating-point tensor. Received: inputs.dtype={family}"
    ):
        make(0.5)(x, training=True)


def test_other_bad_arguments_raise():
    with pytest.raises(ValueError, match="scaling='both'"):
        L.Dropout(0.5, scaling="both")
    with pytest.raises(ValueError, match="data_format='nhwc'"):
        L.SpatialDropout2D(0.5, data_format="nhwc")
    with pytest.raises(TypeError, match="seed='1'"):
        L.Dropout(0.5, seed="1")
    with pytest.raises(TypeError, match="scale_by_keep=1"):
        L.DropPath(0.5, scale_by_keep=1)
    with pytest.raises(ValueError, match="step=-1"):
        L.Dropout(S.Linear(0, 0.1, 5)).step = -1
    with pytest.raises(TypeError, match="scaling='classic'"):
        L.SpatialDropout2D(0.5, scaling="classic")  # would be lost by get_config
    with pytest.raises(TypeError, match="noise_shape="):
        L.SpatialDropout1D(0.5, noise_shape=(None, 1, None))
    with pytest.raises(ValueError):  # wrong rank for spatial layers
        L.SpatialDropout2D(0.5)(np.ones((2, 3), "float32"))


@pytest.mark.parametrize(
    "step, exc",
    [
        (2**31, ValueError),
        (2**64, ValueError),
        (np.int64(2**31), ValueError),
        (-1, ValueError),
        (1.5, TypeError),
        (True, TypeError),
        ("3", TypeError),
        (None, TypeError),
    ],
)
def test_bad_step_changes_nothing(step, exc):
    layer = L.Dropout(S.Linear(0.0, 0.4, steps=4))
    layer.step = 2
    with pytest.raises(exc, match="argument `step`") as info:
        layer.step = step
    assert f"Received: step={step!r}" in str(info.value)
    assert (layer.step, layer.rate) == (2, 0.2)


def test_step_stops_at_the_int32_maximum():
    layer = L.Dropout(S.Exponential(0.1, 2.0, decay_steps=1), seed=0)
    layer.step = 2**31 - 1  # the largest step: accepted
    y = to_np(layer(np.ones((4, 3), "float32"), training=True))
    assert layer.step == 2**31 - 1  # saturated: it used to wrap to -2**31
    assert layer.rate == pytest.approx(S.MAX_RATE) and np.isfinite(to_numpy(y)).all()


class _NaNAfterTen(S.Schedule):
    def value(self, step):
        return S.where(step < 10, 0.1 + 0.0 * step, math.nan + 0.0 * step)


def test_schedule_giving_nan_is_refused_and_changes_nothing():
    layer = L.Dropout(_NaNAfterTen())
    with pytest.raises(ValueError, match="gives nan at step 12"):
        layer.step = 12
    assert (layer.step, layer.rate) == (0, 0.1)


@pytest.mark.parametrize(
    "make",
    [lambda: L.DropPath(0.5), lambda: L.ConcreteDropout(keras.layers.Dense(2))],
    ids=["DropPath", "ConcreteDropout"],
)
def test_rank_0_inputs_raise_keras_style(make):
    with pytest.raises(
        ValueError, match=r"argument `inputs`.*rank >= 1.*inputs.shape=\(\)"
    ):
        make()(ops.ones(()), training=True)


@pytest.mark.parametrize(
    "make, exc, fragment",
    [
        (lambda: L.Dropout(0.5, seed=-1), ValueError, "seed=-1"),
        (lambda: L.Dropout(0.5, seed=2**32), ValueError, "seed=4294967296"),
        (
            lambda: L.ConcreteDropout(keras.layers.Dense(2), weight_regularizer=1e300),
            ValueError,
            "weight_regularizer=1e+300",
        ),
        (
            lambda: L.ConcreteDropout(keras.layers.Dense(2), temperature=10**400),
            ValueError,
            "temperature=1000",
        ),
        (
            lambda: L.concrete_regularizers(10, length_scale=1e300),
            ValueError,
            "length_scale=1e+300",
        ),
        (
            lambda: L.concrete_regularizers(10, precision=1e-50),
            ValueError,
            "precision=1e-50",
        ),
        (lambda: L.concrete_regularizers(10**400), ValueError, "n_samples=1000"),
    ],
)
def test_out_of_range_layer_arguments_raise_keras_style(make, exc, fragment):
    with pytest.raises(exc, match="Invalid value received for argument") as info:
        make()
    assert fragment in str(info.value)


PUBLIC_LAYERS = [
    L.Dropout,
    L.SpatialDropout1D,
    L.SpatialDropout2D,
    L.SpatialDropout3D,
    L.GaussianDropout,
    L.DropPath,
    L.DropBlock2D,
    L.DropBlock3D,
    L.DropConnect,
    L.ConcreteDropout,
    L.SpatialConcreteDropout,
    L.LSTM,
    L.GRU,
    L.SimpleRNN,
]


def test_public_classes_are_registered():
    for cls in PUBLIC_LAYERS:
        assert keras.saving.get_registered_name(cls) == f"kerasdrop>{cls.__name__}"
    for cls in (
        S.Constant,
        S.Linear,
        S.Cosine,
        S.Exponential,
        S.Piecewise,
        S.Curriculum,
        S.Annealed,
        S.Early,
        S.Late,
        S.Warmup,
        S.Join,
        S.Scaled,
    ):
        assert keras.saving.get_registered_name(cls) == f"kerasdrop>{cls.__name__}"
    assert kerasdrop.__version__


@pytest.mark.parametrize("cls", PUBLIC_LAYERS, ids=lambda cls: cls.__name__)
def test_mc_is_an_explicit_argument_and_docstrings_have_keras_sections(cls):
    import inspect

    parameter = inspect.signature(cls.__init__).parameters["mc"]
    assert parameter.default is False
    doc = inspect.getdoc(cls)
    for section in ("Args:", "Call arguments:", "Input shape:", "Output shape:"):
        assert section in doc, section
    assert "\n    mc: bool" in doc
