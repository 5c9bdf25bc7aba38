"""`mc.predict`: seeds, streamed statistics, prefix reuse, one compilation,
inputs it reads, and consistent masks (BatchBALD)."""

import keras
import numpy as np
import pytest
from helpers import NO_TRACE_ON_TORCH, CountingDropout, to_numpy, traces_python_once
from mc_models import bn_model, data

import kerasdrop
from kerasdrop import layers as L
from kerasdrop import mc
from kerasdrop import metrics as M


def test_seeds_reproduce_and_differ():
    model, x = bn_model(), data()
    a = mc.predict(model, x, samples=20, seed=7)
    b = mc.predict(model, x, samples=20, seed=7)
    c = mc.predict(model, x, samples=20, seed=8)
    np.testing.assert_array_equal(to_numpy(a.mean), to_numpy(b.mean))
    np.testing.assert_array_equal(to_numpy(a.variance), to_numpy(b.variance))
    assert not np.allclose(to_numpy(a.mean), to_numpy(c.mean))
    # Unseeded calls follow the layers' own streams: they differ...
    u1 = mc.predict(model, x, samples=20)
    u2 = mc.predict(model, x, samples=20)
    assert not np.allclose(to_numpy(u1.mean), to_numpy(u2.mean))
    # ...and a seeded call does not move those streams.
    state = np.array(to_numpy(model.get_layer("drop").seed_generator.state))
    mc.predict(model, x, samples=20, seed=7)
    np.testing.assert_array_equal(
        np.array(to_numpy(model.get_layer("drop").seed_generator.state)),
        to_numpy(state),
    )


def test_streaming_statistics_match_the_samples_across_chunks():
    model, x = bn_model(classes=3), data(n=50)
    # A tiny budget forces chunks of a few samples (and a remainder chunk).
    small = mc.predict(
        model, x, samples=23, seed=0, return_samples=True, memory_budget=20_000
    )
    s = small.samples.astype("float64")
    assert s.shape == (23, 50, 3)
    np.testing.assert_allclose(
        to_numpy(small.mean), to_numpy(s.mean(axis=0)), atol=1e-6
    )
    np.testing.assert_allclose(
        to_numpy(small.variance), to_numpy(s.var(axis=0)), atol=1e-6
    )
    np.testing.assert_allclose(
        to_numpy(small.predictive_entropy),
        to_numpy(M.predictive_entropy(s.mean(axis=0))),
        atol=1e-5,
    )
    np.testing.assert_allclose(
        to_numpy(small.expected_entropy), to_numpy(M.expected_entropy(s)), atol=1e-5
    )
    np.testing.assert_allclose(
        to_numpy(small.mutual_information), to_numpy(M.mutual_information(s)), atol=1e-5
    )
    np.testing.assert_allclose(
        to_numpy(small.variation_ratio), to_numpy(M.variation_ratio(s))
    )
    np.testing.assert_allclose(
        to_numpy(small.max_probability), to_numpy(M.max_probability(s)), atol=1e-6
    )
    assert np.all(small.mutual_information >= 0)
    # Without samples, the same statistics (streamed, one chunk).
    big = mc.predict(model, x, samples=23, seed=0)
    assert big.samples is None and big.task == "classification"
    np.testing.assert_allclose(to_numpy(big.mean), to_numpy(small.mean), atol=0.25)


def test_prefix_reuse_gives_the_same_samples_as_full_sampling():
    model, x = bn_model(), data(n=30)
    prefix, suffix = mc.split_deterministic_prefix(model)
    assert [layer.name for layer in prefix.layers][-1] == "bn"
    assert "d1" not in [layer.name for layer in suffix.layers]
    reused = mc.predict(model, x, samples=40, seed=3, return_samples=True)
    full = mc.predict(
        model, x, samples=40, seed=3, return_samples=True, reuse_prefix=False
    )
    # Same seed path: the dropout masks are drawn identically.
    np.testing.assert_allclose(
        to_numpy(reused.samples), to_numpy(full.samples), atol=1e-5
    )
    # Dropout reading a model input: nothing to reuse.
    direct = keras.Sequential(
        [keras.Input((6,)), L.Dropout(0.2), keras.layers.Dense(2)]
    )
    assert mc.split_deterministic_prefix(direct)[0] is None


def test_prefix_of_a_branching_graph():
    inputs = keras.Input((6,))
    h = keras.layers.Dense(8, name="shared")(inputs)
    noisy = L.Dropout(0.5, name="drop")(h)
    merged = keras.layers.Concatenate()([noisy, h, inputs])
    outputs = keras.layers.Dense(2)(merged)
    model = keras.Model(inputs, outputs)
    prefix, suffix = mc.split_deterministic_prefix(model)
    assert prefix is not None
    x = data(n=12)
    np.testing.assert_allclose(
        np.array(to_numpy(suffix(prefix(x)))), np.array(to_numpy(model(x))), atol=1e-6
    )
    reused = mc.predict(model, x, samples=10, seed=0, return_samples=True)
    full = mc.predict(
        model, x, samples=10, seed=0, return_samples=True, reuse_prefix=False
    )
    np.testing.assert_allclose(
        to_numpy(reused.samples), to_numpy(full.samples), atol=1e-5
    )


@pytest.mark.skipif(not traces_python_once(), reason=NO_TRACE_ON_TORCH)
def test_compiled_once_per_model_and_sample_count():
    CountingDropout.traces = 0
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(4), CountingDropout(0.3)]
    )
    x = data(n=64)
    mc.predict(model, x, samples=16, batch_size=32)
    traces = CountingDropout.traces
    for seed in (None, 1, 2):
        mc.predict(model, x, samples=16, batch_size=32, seed=seed)
    mc.predict(model, x[:50], samples=16, batch_size=32)  # padded last batch
    assert CountingDropout.traces == traces


def test_regression_mean_converges_and_ll_matches_hand_computation():
    model, x = bn_model(rate=0.1), data(n=20)
    result = mc.predict(model, x, samples=400, seed=0, return_samples=True)
    deterministic = np.array(to_numpy(model(x)))
    # Inverted dropout keeps the expectation of the first layer after it:
    # the last layer is linear, so the MC mean estimates the inference output.
    err = np.abs(result.mean - deterministic)
    assert np.all(err <= 5 * result.std / np.sqrt(400) + 1e-5)
    y = deterministic[:, 0]
    ll = M.regression_log_likelihood(y, result.samples[..., 0], tau=2.0)
    by_hand = np.mean(
        [
            np.log(np.mean(np.exp(-1.0 * (y[i] - result.samples[:, i, 0]) ** 2)))
            - 0.5 * np.log(2 * np.pi)
            + 0.5 * np.log(2.0)
            for i in range(20)
        ]
    )
    assert ll == pytest.approx(by_hand, abs=1e-5)


def test_dataset_input_and_binary_classifier():
    tf = pytest.importorskip("tensorflow")
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu"),
            L.Dropout(0.3),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    x = data(n=70)
    dataset = tf.data.Dataset.from_tensor_slices((x, np.zeros(70))).batch(32)
    from_ds = mc.predict(model, dataset, samples=20, seed=0)
    from_array = mc.predict(model, x, samples=20, seed=0, batch_size=32)
    assert from_ds.task == "classification"
    np.testing.assert_allclose(
        to_numpy(from_ds.mean), to_numpy(from_array.mean), atol=1e-6
    )
    assert from_ds.mean.shape == (70, 1)
    assert from_ds.predictive_entropy.shape == (70,)
    assert np.all(from_ds.predictive_entropy <= np.log(2) + 1e-6)


def test_multi_input_model():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    h = keras.layers.Concatenate()([keras.layers.Dense(4)(a), b])
    outputs = keras.layers.Dense(1)(L.Dropout(0.5)(h))
    model = keras.Model([a, b], outputs)
    x = [data(n=9)[:, :3], data(n=9)[:, :2]]
    result = mc.predict(model, x, samples=10, seed=0)
    assert result.mean.shape == (9, 1)
    with pytest.raises(ValueError, match="2 input array"):
        mc.predict(model, x[0], samples=10)


# ----------------------------------------------------------------------------
# Consistent masks (BatchBALD): sample t uses the same masks for every input.
# ----------------------------------------------------------------------------
def _consistent_model():
    """Every kind of random draw in one model: element masks, Gaussian noise,
    per-example paths and weight masks."""
    from kerasdrop import layers as KL

    inputs = keras.Input((6,))
    h = keras.layers.Dense(8, name="prefix")(inputs)
    h = KL.Dropout(0.3, seed=1)(h)
    h = KL.GaussianDropout(0.2, seed=2)(h)
    h = keras.layers.Add()([h, KL.DropPath(0.3, seed=3)(keras.layers.Dense(8)(h))])
    h = KL.DropConnect(keras.layers.Dense(8), 0.3, seed=4)(h)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))


@pytest.mark.slow
def test_consistent_masks_do_not_depend_on_order_batching_or_chunks():
    model = _consistent_model()
    x = np.random.default_rng(0).random((7, 6)).astype("float32")
    perm = np.array([3, 0, 6, 1, 5, 2, 4])

    def samples(inputs, **kwargs):
        return kerasdrop.mc.predict(
            model,
            inputs,
            samples=10,
            seed=0,
            consistent=True,
            return_samples=True,
            verbose=0,
            **kwargs,
        ).samples

    reference = samples(x)
    np.testing.assert_allclose(
        to_numpy(samples(x[perm])[:, np.argsort(to_numpy(perm))]),
        to_numpy(reference),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        to_numpy(samples(x, batch_size=3)), to_numpy(reference), rtol=1e-5
    )
    np.testing.assert_allclose(
        to_numpy(samples(x, memory_budget=1)), to_numpy(reference), rtol=1e-5
    )  # chunk 1
    np.testing.assert_allclose(
        to_numpy(samples(x, reuse_prefix=False)), to_numpy(reference), rtol=1e-5
    )
    assert not all(
        np.allclose(to_numpy(reference[0]), to_numpy(r)) for r in reference[1:]
    )  # samples differ
    # Without consistent masks, another batching changes the draws.
    plain = kerasdrop.mc.predict(
        model, x, samples=10, seed=0, return_samples=True, verbose=0
    )
    batched = kerasdrop.mc.predict(
        model, x, samples=10, seed=0, return_samples=True, verbose=0, batch_size=3
    )
    assert not np.allclose(to_numpy(batched.samples), to_numpy(plain.samples))


def test_consistent_masks_are_shared_by_the_rows_of_a_sample():
    model = _consistent_model()
    x = np.tile(np.random.default_rng(1).random((1, 6)).astype("float32"), (5, 1))
    s = kerasdrop.mc.predict(
        model, x, samples=4, seed=0, consistent=True, return_samples=True, verbose=0
    ).samples
    np.testing.assert_allclose(to_numpy(s), np.repeat(s[:, :1], 5, axis=1), rtol=1e-6)
    with pytest.raises(TypeError, match="consistent=1"):
        kerasdrop.mc.predict(model, x, samples=4, consistent=1)
