"""Property tests over rates, shapes, noise shapes and dtypes, every layer kind."""

import keras
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keras import ops

from kerasdrop import layers as L
from helpers import to_numpy

SETTINGS = settings(
    # On JAX every new shape and dtype compiles its ops eagerly (~1 s each):
    # 12 random configurations per kind there, 25 on TF and torch.
    max_examples=12 if keras.backend.backend() == "jax" else 25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
rates = st.floats(0.0, 0.95, allow_nan=False)
# JAX without x64 has no float64 (it silently becomes float32).
FLOATS = ["float32", "float16", "bfloat16"]
if (
    keras.backend.backend() != "jax"
    or keras.ops.convert_to_tensor(np.zeros(1, "float64")).dtype == np.float64
):
    FLOATS.append("float64")
dtypes = st.sampled_from(FLOATS)
seeds = st.integers(0, 2**31 - 1)


def shapes(min_rank, max_rank):
    return st.integers(min_rank, max_rank).flatmap(
        lambda r: st.tuples(*[st.integers(1, 6)] * r)
    )


def run(layer, shape, dtype, training):
    x = np.random.default_rng(0).uniform(0.5, 2.0, size=shape)
    x = ops.cast(ops.convert_to_tensor(x.astype("float32")), dtype)
    y = layer(x, training=training)
    assert tuple(y.shape) == tuple(shape)
    assert keras.backend.standardize_dtype(y.dtype) == dtype
    return (
        np.asarray(to_numpy(ops.convert_to_numpy(ops.cast(x, "float32")))),
        np.asarray(to_numpy(ops.convert_to_numpy(ops.cast(y, "float32")))),
    )


def check_bernoulli(x, y, rate, scale=True, rtol=1e-2):
    factor = 1 / (1 - rate) if scale else 1.0
    dropped = y == 0
    np.testing.assert_allclose(to_numpy(y[~dropped]), x[~dropped] * factor, rtol=rtol)
    assert np.isfinite(to_numpy(y)).all()


@SETTINGS
@given(rate=rates, shape=shapes(1, 4), dtype=dtypes, seed=seeds, data=st.data())
def test_dropout(rate, shape, dtype, seed, data):
    noise_shape = tuple(data.draw(st.sampled_from([None, 1, d])) for d in shape)
    layer = L.Dropout(rate, noise_shape=noise_shape, seed=seed, dtype=dtype)
    x, y = run(layer, shape, dtype, training=True)
    check_bernoulli(x, y, rate)
    # The mask is constant along every axis whose noise dim is 1.
    mask = y == 0
    for axis, dim in enumerate(noise_shape):
        if dim == 1:
            assert (mask == mask.take([0], axis=axis)).all()
    x, y = run(layer, shape, dtype, training=False)
    np.testing.assert_array_equal(to_numpy(x), to_numpy(y))


@SETTINGS
@given(rate=rates, shape=shapes(1, 3), dtype=dtypes, seed=seeds)
def test_classic_dropout(rate, shape, dtype, seed):
    layer = L.Dropout(rate, seed=seed, scaling="classic", dtype=dtype)
    x, y = run(layer, shape, dtype, training=True)
    check_bernoulli(x, y, rate, scale=False)
    x, y = run(layer, shape, dtype, training=False)
    np.testing.assert_allclose(to_numpy(y), x * (1 - rate), rtol=1e-2)


@SETTINGS
@given(
    rate=rates,
    rank=st.sampled_from([1, 2, 3]),
    data_format=st.sampled_from(["channels_last", "channels_first"]),
    dtype=dtypes,
    seed=seeds,
    data=st.data(),
)
def test_spatial(rate, rank, data_format, dtype, seed, data):
    cls = {1: L.SpatialDropout1D, 2: L.SpatialDropout2D, 3: L.SpatialDropout3D}[rank]
    shape = data.draw(shapes(rank + 2, rank + 2))
    layer = cls(rate, data_format=data_format, seed=seed, dtype=dtype)
    x, y = run(layer, shape, dtype, training=True)
    check_bernoulli(x, y, rate)
    channel = 1 if data_format == "channels_first" else rank + 1
    spatial = tuple(a for a in range(1, rank + 2) if a != channel)
    mask = y == 0
    assert (mask.all(axis=spatial) | (~mask).all(axis=spatial)).all()
    x, y = run(layer, shape, dtype, training=False)
    np.testing.assert_array_equal(to_numpy(x), to_numpy(y))


@SETTINGS
@given(rate=rates, shape=shapes(1, 4), dtype=dtypes, seed=seeds)
def test_drop_path(rate, shape, dtype, seed):
    layer = L.DropPath(rate, seed=seed, dtype=dtype)
    x, y = run(layer, shape, dtype, training=True)
    check_bernoulli(x, y, rate)
    flat = (y == 0).reshape(shape[0], -1)
    assert (flat.all(axis=1) | (~flat).all(axis=1)).all()


@SETTINGS
@given(rate=rates, shape=shapes(1, 4), dtype=dtypes, seed=seeds)
def test_gaussian(rate, shape, dtype, seed):
    layer = L.GaussianDropout(rate, seed=seed, dtype=dtype)
    x, y = run(layer, shape, dtype, training=True)
    assert np.isfinite(to_numpy(y)).all()
    if rate == 0.0:
        np.testing.assert_allclose(to_numpy(y), to_numpy(x), rtol=1e-2)
    x, y = run(layer, shape, dtype, training=False)
    np.testing.assert_array_equal(to_numpy(x), to_numpy(y))


@SETTINGS
@given(
    rate=st.one_of(
        st.floats(0.0, 1.0, exclude_max=True),
        st.floats(0.9999999, 1.0, exclude_max=True),
    ),
    make=st.sampled_from([L.Dropout, L.GaussianDropout, L.DropPath]),
)
def test_rate_accepted_iff_below_one_in_float32_and_outputs_finite(rate, make):
    layer = make(0.5, seed=0)
    if np.float32(to_numpy(rate)) == 1.0:  # would store 1.0: NaN / inf outputs
        try:
            layer.rate = rate
        except ValueError as e:
            assert "Invalid value received for argument `rate`" in str(e)
        else:
            raise AssertionError(f"rate={rate!r} rounds to 1.0 and was accepted")
        assert layer.rate == 0.5  # nothing changed
        return
    layer.rate = rate
    assert layer.rate < 1.0
    y = ops.convert_to_numpy(layer(np.ones((8, 3), "float32"), training=True))
    assert np.isfinite(to_numpy(y)).all()
