"""Decision uniforms: the 2**-15 grid keep/drop masks are drawn on."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from kerasdrop import layers as L
from kerasdrop.layers import noise

BACKEND = keras.backend.backend()


def _draw(shape, seed=0):
    u = noise.decision_uniform(shape, keras.random.SeedGenerator(seed))
    return np.asarray(ops.convert_to_numpy(u), dtype=np.float64)


def test_values_lie_on_the_grid_and_fill_it_uniformly():
    u = _draw((400, 1001))  # odd last axis: half-length draw, sliced
    assert u.shape == (400, 1001)
    k = u * 2**noise.DECISION_BITS
    np.testing.assert_array_equal(k, np.floor(k))
    assert k.min() >= 0 and k.max() <= 2**noise.DECISION_BITS - 1
    n = u.size
    for rate in (0.001, 0.1, 0.5, 0.9):
        p = math.ceil(rate * 2**15) / 2**15  # the resolved rate
        se = math.sqrt(p * (1 - p) / n)
        assert abs((u < rate).mean() - p) < 5 * se, rate
    # 64 equal bins: a chi-square far in the tail would mean a biased bit.
    counts = np.bincount((k // 2**9).astype(int).ravel(), minlength=64)
    chi2 = ((counts - n / 64) ** 2 / (n / 64)).sum()
    assert chi2 < 63 + 5 * math.sqrt(2 * 63)


def test_the_two_values_of_one_integer_are_independent():
    u = _draw((20000, 2))  # column 0: low 15 bits, column 1: high 15 bits
    low, high = u[:, 0] < 0.3, u[:, 1] < 0.3
    both = (low & high).mean()
    n = len(u)
    se = math.sqrt(0.09 * 0.91 / n)
    assert abs(both - 0.09) < 5 * se
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 5 / math.sqrt(n)


def test_fresh_draws_per_call_and_seeded():
    generator = keras.random.SeedGenerator(3)
    a = ops.convert_to_numpy(noise.decision_uniform((8, 6), generator))
    b = ops.convert_to_numpy(noise.decision_uniform((8, 6), generator))
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(_draw((8, 6), seed=5), _draw((8, 6), seed=5))


def test_dropout_masks_keep_the_rate_and_scale():
    layer = L.Dropout(0.5, seed=1)
    x = np.ones((64, 33), "float32")
    out = ops.convert_to_numpy(layer(x, training=True))
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert 0.4 < (out == 0).mean() < 0.6


def test_unknown_distribution_is_refused():
    layer = L.Dropout(0.5)
    match = "argument `distribution`.*distribution='bits'"
    with pytest.raises(ValueError, match=match):
        layer.noise((2, 2), distribution="bits")


def test_each_backend_draws_decisions_with_its_cheaper_generator():
    expected = noise.uniform if BACKEND == "torch" else noise.decision_uniform
    assert noise.DRAWS["decision"] is expected
