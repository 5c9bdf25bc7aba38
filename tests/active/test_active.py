"""kerasdrop.active: acquisition scores, BatchBALD, streaming, the loop."""

import itertools
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import kerasdrop
from kerasdrop import active, metrics
from kerasdrop.active import batch_bald as batch_bald_lib
from kerasdrop.active import topk
from helpers import to_numpy


def _voting_model():
    """Input(8) -> Dropout(0.5) -> Dense(2, softmax): features 0-3 vote for
    class 0, features 4-7 for class 1 (logit weight 5 each)."""
    model = keras.Sequential(
        [
            keras.Input((8,)),
            kerasdrop.layers.Dropout(0.5, seed=3),
            keras.layers.Dense(2, activation="softmax", use_bias=False),
        ]
    )
    votes = np.array([[5.0, -5.0]] * 4 + [[-5.0, 5.0]] * 4, "float32")
    model.layers[-1].set_weights([votes])
    return model


def _mlp(inputs=4, classes=3, rate=0.5, activation="softmax", seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((inputs,)),
            keras.layers.Dense(32, activation="relu"),
            kerasdrop.layers.Dropout(rate, seed=1),
            keras.layers.Dense(classes, activation=activation),
        ]
    )


# Disagreeing: 4 votes each way, the sign of the logit gap flips with the
# masks; confident: only class-0 votes; flat: no votes, always uniform.
DISAGREE = np.ones(8)
CONFIDENT = np.array([1.0] * 4 + [0.0] * 4)
FLAT = np.zeros(8)


def test_bald_prefers_disagreement_entropy_flat_rows():
    pool = np.stack([CONFIDENT, FLAT, DISAGREE]).astype("float32")
    model = _voting_model()
    bald = active.acquire(model, pool, 3, "bald", samples=200, seed=0)
    assert bald.indices[0] == 2  # where the samples disagree
    assert bald.scores[0] > 0.3
    scores = dict(zip(bald.indices.tolist(), bald.scores.tolist()))
    assert scores[2] > scores[0]  # above confident agreement
    assert scores[1] < 1e-6  # flat: every sample says (0.5, 0.5)
    entropy = active.acquire(model, pool, 1, "entropy", samples=200, seed=0)
    assert entropy.indices.tolist() == [1]  # total uncertainty: the flat row


def _duplicated_pool():
    rng = np.random.default_rng(1)
    distinct = rng.normal(size=(6, 4)).astype("float32") * 3
    return np.repeat(distinct, 2, axis=0)  # rows 2i and 2i + 1 are copies


def _confident_mlp():
    model = _mlp(rate=0.5, seed=2)
    for layer in model.layers[::2]:  # large weights: confident samples
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel * 4.0, bias])
    return model


def test_batch_bald_does_not_pick_a_duplicate():
    pool, model = _duplicated_pool(), _confident_mlp()
    bald = active.acquire(model, pool, 2, "bald", samples=40, seed=0)
    assert bald.indices[0] // 2 == bald.indices[1] // 2  # BALD: both copies
    batch = active.acquire(model, pool, 2, "batch_bald", samples=40, seed=0)
    assert batch.indices[0] == bald.indices[0]
    np.testing.assert_allclose(
        to_numpy(batch.scores[0]), to_numpy(bald.scores[0]), rtol=1e-4
    )
    assert batch.indices[0] // 2 != batch.indices[1] // 2
    assert not np.allclose(
        to_numpy(pool[batch.indices[0]]), to_numpy(pool[batch.indices[1]])
    )
    # Picking all 12: a second copy adds only the information of a second
    # label of the same point (small for a confident model: a fraction of
    # its BALD score), so the first picks are distinct points. Which copy
    # comes when after that depends on the masks drawn (each backend's RNG).
    full = active.acquire(model, pool, 12, "batch_bald", samples=40, seed=0)
    assert len(set((full.indices[:4] // 2).tolist())) == 4
    bald_all = active.acquire(model, pool, 12, "bald", samples=40, seed=0)
    bald_of = dict(zip(bald_all.indices.tolist(), bald_all.scores.tolist()))
    seen = set()
    for index, gain in zip(full.indices.tolist(), full.scores.tolist()):
        if index // 2 in seen:
            assert gain < 0.25 * bald_of[index], (index, gain, bald_of[index])
        seen.add(index // 2)


def _brute_conditional_entropy(probs, chosen, m):
    """`H(y_m | y_chosen)` by enumerating every configuration."""
    classes = probs.shape[-1]
    total = 0.0
    for config in itertools.product(range(classes), repeat=len(chosen)):
        p_t = np.prod([probs[:, i, c] for i, c in zip(chosen, config)], axis=0)
        if not chosen:
            p_t = np.ones(probs.shape[0])
        pi = p_t.mean()
        q = (p_t[:, None] * probs[:, m]).mean(axis=0) / pi
        total += pi * float(metrics.entropy(q[None, :]))
    return total


def test_batch_bald_gains_match_enumeration():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3) * 0.3, size=(16, 7))  # (T, M, C)
    expected = metrics.entropy(probs[:, :, None, :]).mean(axis=0)
    picks, gains = batch_bald_lib.batch_bald(probs, 3, rng, configurations=10**6)
    for n, pick in enumerate(picks):
        brute = [
            _brute_conditional_entropy(probs, picks[:n], m) - expected[m]
            for m in range(7)
        ]
        assert pick == int(
            np.argmax(np.where(np.isin(range(7), to_numpy(picks[:n])), -9, brute))
        )
        np.testing.assert_allclose(
            to_numpy(gains[n]), to_numpy(brute[pick]), rtol=1e-9, atol=1e-12
        )
    # Sampled configurations (9 < 3^3) estimate the same gains.
    sampled = batch_bald_lib.batch_bald(probs, 3, rng, configurations=4000)
    assert sampled[0][:2] == picks[:2]
    np.testing.assert_allclose(to_numpy(sampled[1][2]), to_numpy(gains[2]), atol=0.05)


@pytest.mark.parametrize("strategy", active.STRATEGIES)
def test_seeded_and_independent_of_chunks(strategy):
    model = _mlp()
    pool = np.random.default_rng(0).normal(size=(300, 4)).astype("float32")
    kwargs = dict(samples=10, seed=5, batch_size=64)
    a = active.acquire(model, pool, 6, strategy, chunk_size=300, **kwargs)
    b = active.acquire(model, pool, 6, strategy, chunk_size=70, **kwargs)
    np.testing.assert_array_equal(to_numpy(a.indices), to_numpy(b.indices))
    np.testing.assert_allclose(
        to_numpy(a.scores), to_numpy(b.scores), rtol=1e-5, atol=1e-7
    )
    assert a.indices.dtype == np.int64 and len(set(a.indices.tolist())) == 6
    if strategy == "random" or strategy.startswith("power_"):
        other = active.acquire(model, pool, 6, strategy, seed=6, samples=10)
        assert not np.array_equal(to_numpy(a.indices), to_numpy(other.indices))


def test_top_k_strategies_rank_by_their_score():
    model = _mlp()
    pool = np.random.default_rng(0).normal(size=(50, 4)).astype("float32")
    mc_seed = int(np.random.default_rng(0).integers(2**31 - 1))  # acquire's
    result = kerasdrop.mc.predict(
        model, pool, samples=10, seed=mc_seed, consistent=True
    )
    top1, top2 = (
        np.sort(to_numpy(result.mean), axis=-1)[:, -1],
        np.sort(to_numpy(result.mean))[:, -2],
    )
    expected = {
        "bald": result.mutual_information,
        "entropy": result.predictive_entropy,
        "variation_ratio": result.variation_ratio,
        "margin": 1.0 - (top1 - top2),
    }
    for strategy, values in expected.items():
        picks = active.acquire(model, pool, 50, strategy, samples=10, seed=0)
        np.testing.assert_allclose(
            to_numpy(picks.scores), to_numpy(np.sort(to_numpy(values))[::-1]), atol=1e-6
        )


def test_power_draws_in_proportion_to_score_power():
    scores = np.array([1.0, 2.0, 3.0, 0.0])
    for beta in (1.0, 2.0):
        firsts = np.zeros(4)
        for seed in range(4000):
            keys = topk.power_keys(scores, beta, np.random.default_rng(seed))
            firsts[np.argmax(to_numpy(keys))] += 1
        want = scores**beta / np.sum(scores**beta)
        np.testing.assert_allclose(firsts / 4000, to_numpy(want), atol=0.025)


def test_logits_and_sigmoid_heads():
    pool = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    logits = _mlp(activation=None)
    picks = active.acquire(logits, pool, 3, "batch_bald", task="logits", seed=0)
    assert picks.indices.shape == (3,)
    binary = _mlp(classes=1, activation="sigmoid")
    assert active.acquire(binary, pool, 3, "batch_bald", seed=0).scores[0] >= 0
    multi = _mlp(classes=3, activation="sigmoid")
    for strategy in ("bald", "margin", "variation_ratio"):
        assert active.acquire(multi, pool, 3, strategy, seed=0).indices.shape == (3,)
    with pytest.raises(ValueError, match="multi-label head"):
        active.acquire(multi, pool, 3, "batch_bald", seed=0)


def test_dict_pool_and_random_without_dropout():
    inputs = {"a": keras.Input((2,), name="a"), "b": keras.Input((2,), name="b")}
    h = keras.layers.Concatenate()([inputs["a"], inputs["b"]])
    h = kerasdrop.layers.Dropout(0.5)(keras.layers.Dense(8, activation="relu")(h))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))
    rng = np.random.default_rng(0)
    pool = {"a": rng.normal(size=(30, 2)), "b": rng.normal(size=(30, 2))}
    assert active.acquire(model, pool, 4, "bald", seed=0).indices.shape == (4,)
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    picks = active.acquire(plain, np.zeros((9, 2)), 9, "random", seed=0)
    assert sorted(picks.indices.tolist()) == list(range(9))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"strategy": "bold"}, ValueError, "argument `strategy`"),
        ({"strategy": 1}, TypeError, "argument `strategy`"),
        ({"count": 0}, ValueError, "argument `count`. Expected an integer >= 1"),
        ({"count": 11}, ValueError, r"integer in \[1, 10\] \(the rows of `pool`\)"),
        ({"count": 2.0}, TypeError, "argument `count`"),
        ({"samples": 0}, ValueError, "argument `samples`"),
        ({"seed": -1}, ValueError, "argument `seed`"),
        ({"beta": 0.0}, ValueError, "argument `beta`"),
        ({"candidates": 1}, ValueError, "argument `candidates`"),
        ({"chunk_size": 0}, ValueError, "argument `chunk_size`"),
        ({"configurations": 0}, ValueError, "argument `configurations`"),
        ({"task": "regression"}, ValueError, "argument `task`"),
        ({"verbose": 2}, ValueError, "argument `verbose`"),
        ({"pool": [[1.0] * 4]}, TypeError, "argument `x`"),
        ({"pool": np.zeros((0, 4))}, ValueError, "argument `x`"),
        ({"model": "m"}, TypeError, "argument `model`"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = {"model": _mlp(), "pool": np.zeros((10, 4)), "count": 2, "seed": 0}
    with pytest.raises(error, match=match):
        active.acquire(**(args | kwargs))


def test_regression_model_and_dataset_pool_refused():
    regression = _mlp(classes=1, activation=None)
    with pytest.raises(ValueError, match="Expected a classifier"):
        active.acquire(regression, np.zeros((5, 4)), 2, "entropy")
    active.acquire(regression, np.zeros((5, 4)), 2, "random")  # no model pass
    tf = pytest.importorskip("tensorflow")
    dataset = tf.data.Dataset.from_tensor_slices(np.zeros((5, 4))).batch(2)
    with pytest.raises(TypeError, match="argument `pool`"):
        active.acquire(_mlp(), dataset, 2)


def _build():
    model = _mlp(inputs=4, classes=2)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.slow
@pytest.mark.one_backend  # the loop is backend-independent; acquire runs on all
def test_run_loop(capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    result = active.run_loop(
        _build,
        (x[:10], y[:10]),
        (x[10:70], y[10:70]),
        rounds=3,
        count=5,
        strategy="batch_bald",
        fit_kwargs={"epochs": 2},
        validation_data=(x[70:], y[70:]),
        seed=0,
        samples=8,
    )
    assert result.labelled == [10, 15, 20, 25]
    assert [len(a) for a in result.acquired] == [5, 5, 5, 0]
    acquired = np.concatenate(to_numpy(result.acquired))
    assert len(set(acquired.tolist())) == 15 and acquired.max() < 60
    assert set(result.logs[0]) >= {"accuracy", "loss"}
    assert "round" in capsys.readouterr().out  # the progress bar
    again = active.run_loop(
        _build,
        (x[:10], y[:10]),
        (x[10:70], y[10:70]),
        rounds=3,
        count=5,
        strategy="random",
        seed=0,
        verbose=0,
    )
    assert again.labelled[-1] == 25
    with pytest.raises(TypeError, match="argument `pool`"):
        active.run_loop(_build, (x, y), x, rounds=1, count=1)
    with pytest.raises(ValueError, match="argument `rounds`"):
        active.run_loop(_build, (x, y), (x, y), rounds=-1, count=1)


_MEMORY_SCRIPT = textwrap.dedent(
    """
    import gc, sys, tracemalloc
    import keras, numpy as np, kerasdrop
    rows = int(sys.argv[1])
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)),
        keras.layers.Dense(16, activation="relu"), kerasdrop.layers.Dropout(0.5),
        keras.layers.Dense(4, activation="softmax")])
    pool = np.random.default_rng(0).normal(size=(rows, 8)).astype("float32")
    options = dict(samples=10, seed=0, batch_size=1024)  # default chunk_size
    strategies = ("bald", "power_bald", "batch_bald")
    # Warm-up: traces, and the caches TF and Keras fill in the first calls.
    # Both pools are whole chunks of whole batches (multiples of the default
    # chunk_size, 8192), so the measured calls trace nothing new.
    for strategy in strategies * 2:
        kerasdrop.active.acquire(model, pool[:16384], 10, strategy, **options)
    peaks = []
    tracemalloc.start()
    for strategy in strategies:  # the peak above what is held before the call
        tries = []
        for _ in range(2):  # the lower of two: one-off cache fills are noise
            gc.collect()
            start = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            kerasdrop.active.acquire(model, pool, 10, strategy, **options)
            tries.append(tracemalloc.get_traced_memory()[1] - start)
        peaks.append(min(tries))
    print("PEAKS", *peaks)
    """
)


@pytest.mark.slow
@pytest.mark.one_backend
def test_memory_independent_of_pool_size():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    peaks = {}
    for rows in (2 * 8192, 24 * 8192):
        out = subprocess.run(
            [sys.executable, "-c", _MEMORY_SCRIPT, str(rows)],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        line = [s for s in out.stdout.splitlines() if s.startswith("PEAKS")][0]
        peaks[rows] = [int(v) for v in line.split()[1:]]
    # Growth under one float32 per added pool row: no per-row array of the
    # pool (scores, probabilities) is ever held whole.
    added_rows = 24 * 8192 - 2 * 8192
    for small, large in zip(peaks[2 * 8192], peaks[24 * 8192]):
        assert large - small < 4 * added_rows, peaks
