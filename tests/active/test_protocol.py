"""The protocol of Gal et al. 2017 in `kerasdrop.active`: its pure helpers
(`protocol`), `run_loop`'s keywords for it, and the scores checked against
NumPy on the same MC samples."""

import keras
import numpy as np
import pytest

import kerasdrop
from helpers import assert_bad_input, to_numpy
from kerasdrop.active import protocol

Y = np.repeat(np.arange(4), 6)  # 4 classes, 6 rows each


def test_balanced_draw():
    rows = protocol.balanced_draw(Y, 2, np.random.default_rng(0))
    assert rows.dtype == np.int64 and np.all(np.diff(rows) > 0)  # sorted, no repeat
    assert np.bincount(Y[rows]).tolist() == [2, 2, 2, 2]
    again = protocol.balanced_draw(Y, 2, np.random.default_rng(0))
    np.testing.assert_array_equal(rows, again)  # same rng state, same rows
    draws = {
        tuple(protocol.balanced_draw(Y, 2, np.random.default_rng(s))) for s in range(5)
    }
    assert len(draws) > 1  # drawn, not the first rows of each class
    one_hot = np.eye(4)[Y]
    np.testing.assert_array_equal(
        protocol.balanced_draw(one_hot, 2, np.random.default_rng(0)), rows
    )
    everything = protocol.balanced_draw(Y, 6, np.random.default_rng(1))
    np.testing.assert_array_equal(everything, np.arange(24))


@pytest.mark.parametrize(
    "y, per_class, exc, name, received",
    [
        (Y, 7, ValueError, "initial_per_class", "initial_per_class=7"),
        (Y, 0, ValueError, "initial_per_class", "initial_per_class=0"),
        (Y, 1.0, TypeError, "initial_per_class", "initial_per_class=1.0"),
        (Y + 0.5, 1, ValueError, "pool", "dtype float64"),
        (Y.reshape(4, 6, 1), 1, ValueError, "pool", "shape (4, 6"),
    ],
)
def test_balanced_draw_refuses(y, per_class, exc, name, received):
    rng = np.random.default_rng(0)
    call = lambda: protocol.balanced_draw(y, per_class, rng)  # noqa: E731
    assert_bad_input(call, exc, name, received)


def test_validation_split_and_pool_subset():
    rows = np.arange(10, 30)
    rng = np.random.default_rng(0)
    held = protocol.validation_split(rows, 5, rng)
    assert held.size == 5 and set(held) <= set(rows) and np.all(np.diff(held) > 0)
    subset = protocol.pool_subset(rows, 8, rng)
    assert subset.size == 8 and set(subset) <= set(rows)
    np.testing.assert_array_equal(protocol.pool_subset(rows, 20, rng), rows)
    np.testing.assert_array_equal(protocol.pool_subset(rows, None, rng), rows)
    seen = np.concatenate([protocol.pool_subset(rows, 4, rng) for _ in range(200)])
    counts = np.bincount(seen - 10, minlength=20)
    assert counts.min() > 20 and counts.max() < 65  # uniform: 40 each on average
    assert_bad_input(
        lambda: protocol.validation_split(rows, 20, rng),
        ValueError,
        "validation_size",
        "validation_size=20",
    )
    assert_bad_input(
        lambda: protocol.validation_split(rows, 2.0, rng),
        TypeError,
        "validation_size",
        "validation_size=2.0",
    )


def _mlp(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(16, activation="relu"),
            kerasdrop.layers.Dropout(0.5),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    return model


def _numpy_scores(p):
    """The scores from MC probabilities `(T, N, C)`, in NumPy."""
    mean = p.mean(axis=0)
    ent = -np.sum(mean * np.log(np.clip(mean, 1e-30, None)), axis=-1)
    expected = -np.sum(p * np.log(np.clip(p, 1e-30, None)), axis=-1).mean(axis=0)
    votes = np.stack([np.bincount(r, minlength=p.shape[-1]) for r in p.argmax(-1).T])
    return {
        "bald": ent - expected,
        "entropy": ent,
        "variation_ratio": 1.0 - votes.max(axis=-1) / p.shape[0],
        "mean_std": p.std(axis=0).mean(axis=-1),
    }


def test_bald_on_fixed_samples_equals_numpy():
    """BALD (mutual information) on hand-made samples `(T, N, C)`: 0 where
    every sample agrees, ln 2 where confident samples split evenly between
    two classes, and the NumPy formula on random rows."""
    rng = np.random.default_rng(0)
    p = np.empty((6, 4, 3))
    p[:, 0] = [0.2, 0.3, 0.5]  # samples agree: no disagreement
    p[:, 1] = np.where(np.arange(6)[:, None] % 2, [1, 0, 0], [0, 1, 0])
    p[:, 2:] = rng.dirichlet([0.5, 0.5, 0.5], size=(6, 2))
    got = to_numpy(kerasdrop.metrics.mutual_information(p.astype("float32")))
    expected = _numpy_scores(p)["bald"]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(got[:2], [0.0, np.log(2.0)], atol=1e-5)
    assert np.all(got[2:] > 0.01)


def test_scores_equal_numpy_on_the_same_mc_samples():
    """`acquire`'s scores equal BALD, entropy, variation ratio and mean STD
    computed in NumPy from the very MC samples it draws (same seed, same
    masks: `mc.predict(..., consistent=True)`)."""
    model = _mlp()
    pool = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    mc_seed = int(np.random.default_rng(0).integers(2**31 - 1))  # acquire's
    drawn = kerasdrop.mc.predict(
        model, pool, samples=20, seed=mc_seed, consistent=True, return_samples=True
    )
    p = to_numpy(drawn.samples).astype("float64")  # (T, N, C)
    assert p.shape == (20, 40, 3)
    expected = _numpy_scores(p)
    assert np.std(expected["bald"]) > 1e-3  # rows differ: a real ranking
    for strategy, values in expected.items():
        picks = kerasdrop.active.acquire(model, pool, 40, strategy, samples=20, seed=0)
        np.testing.assert_allclose(picks.scores, values[picks.indices], atol=2e-5)
        assert np.all(np.diff(picks.scores) <= 0)  # highest first


def _data(rows=120, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(rows) % 3
    x = rng.normal(size=(rows, 4)).astype("float32") + y[:, None]
    return x, y


SETTINGS = ("initial_per_class", "validation_size", "early_stopping", "pool_subset")


def run(*args, **kwargs):
    """`run_loop` with the `Protocol` settings among `kwargs` made into its
    `protocol` (built inside the call: a bad setting raises from here)."""
    settings = {key: kwargs.pop(key) for key in SETTINGS if key in kwargs}
    protocol = kwargs.pop("protocol", None) or kerasdrop.active.Protocol(**settings)
    return kerasdrop.active.run_loop(*args, protocol=protocol, **kwargs)


PROTOCOL = {
    "initial_per_class": 2,
    "validation_size": 12,
    "early_stopping": 1,
    "pool_subset": 30,
    "fit_kwargs": {"epochs": 6, "batch_size": 8},
}


@pytest.mark.slow
@pytest.mark.one_backend  # the loop is backend-independent; acquire runs on all
def test_run_loop_protocol():
    x, y = _data()
    result = run(
        _mlp(), None, (x, y), rounds=3, count=4, seed=0, verbose=0,
        samples=4, validation_data=(x[:20], y[:20]), **PROTOCOL,
    )  # fmt: skip
    assert result.labelled == [6, 10, 14, 18]
    assert np.bincount(y[result.initial_rows]).tolist() == [2, 2, 2]
    taken = [result.initial_rows, result.validation_rows, *result.acquired]
    flat = np.concatenate(taken)
    assert flat.size == np.unique(flat).size == 6 + 12 + 12  # disjoint
    assert all(1 <= e <= 6 for e in result.epochs)
    frozen = _mlp()  # learning rate 0: val_loss never improves
    frozen.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    stopped = run(frozen, None, (x, y), 1, 4, seed=0, verbose=0, samples=4, **PROTOCOL)
    assert stopped.epochs == [2, 2]  # patience 1: the second epoch stops it
    assert [sorted(s) for s in result.seconds] == [["acquire", "evaluate", "fit"]] * 4
    assert all(v >= 0 for s in result.seconds for v in s.values())
    assert set(result.logs[0]) == {"loss"}


def test_run_loop_reused_model_is_reproducible_and_fresh():
    """A reused compiled model trains from scratch each round: a second run
    with the same seed picks what the first picked (fresh weights, seed
    states and optimizer state, seeded), another seed picks other rows,
    and a re-initialised model has a new kernel and an optimizer at step 0
    with zero moments."""
    x, y = _data()
    model = _mlp()

    def picks(seed):
        result = run(
            model, None, (x, y), 2, 4, seed=seed, verbose=0, samples=4, **PROTOCOL
        )
        assert result.model is model
        return np.concatenate(result.acquired), to_numpy(model.layers[0].kernel)

    # The first run (the model's first fit, shuffled) and a run after
    # another seed's fit exactly as any other run with the same seed.
    first, first_kernel = picks(0)
    again, again_kernel = picks(0)
    other, _ = picks(1)
    after_other, after_kernel = picks(0)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, after_other)
    np.testing.assert_array_equal(first_kernel, again_kernel)
    np.testing.assert_array_equal(first_kernel, after_kernel)
    assert not np.array_equal(first, other)
    trained = to_numpy(model.layers[0].kernel)
    fresh = protocol.Reinitializer(model)()
    assert int(to_numpy(fresh.optimizer.iterations)) == 0
    moments = [
        v
        for v in fresh.optimizer.variables
        if "momentum" in v.path or "velocity" in v.path
    ]
    assert moments and all(not np.any(to_numpy(v)) for v in moments)
    np.testing.assert_allclose(float(to_numpy(fresh.optimizer.learning_rate)), 0.01)
    kernel = to_numpy(fresh.layers[0].kernel)
    assert not np.allclose(kernel, trained) and 0.1 < kernel.std() < 1.0


@pytest.mark.slow
@pytest.mark.one_backend  # the loop is backend-independent; acquire runs on all
def test_run_loop_builder_per_round_and_progress_bar(capsys):
    x, y = _data()
    built = []

    def build():
        built.append(_mlp(len(built)))
        return built[-1]

    result = run(build, None, (x, y), 2, 4, seed=0, verbose=1, samples=4, **PROTOCOL)
    assert len(built) == 3 and result.model is built[-1]
    assert "3/3" in capsys.readouterr().out
    run(build, None, (x, y), 1, 4, seed=0, verbose=0, samples=4, **PROTOCOL)
    assert capsys.readouterr().out == ""


class _NoFit(keras.Sequential):
    def fit(self, *args, **kwargs):
        raise AssertionError("run_loop trained before refusing a bad input")


def _no_fit(compiled=True):
    model = _NoFit(
        [
            keras.Input((4,)),
            kerasdrop.layers.Dropout(0.5),
            keras.layers.Dense(3, activation="softmax"),
        ],
        name="no_fit",  # Keras' default "__no_fit" is no valid TF scope name
    )
    if compiled:
        model.compile("sgd", "sparse_categorical_crossentropy")
    return model


X, YS = _data(30)
BASE = {
    "build_model": _no_fit,
    "labelled": None,
    "pool": (X, YS),
    "rounds": 1,
    "count": 2,
    "initial_per_class": 1,
}
CASES = [
    ({"initial_per_class": 0}, ValueError, "initial_per_class", "=0"),
    ({"initial_per_class": "2"}, TypeError, "initial_per_class", "='2'"),
    ({"initial_per_class": 11}, ValueError, "initial_per_class", "=11"),
    ({"labelled": (X[:3], YS[:3])}, ValueError, "labelled", "labelled=(x, y)"),
    ({"initial_per_class": None}, ValueError, "labelled", "labelled=None"),
    ({"pool": (X, YS + 0.5)}, ValueError, "pool", "dtype float64"),
    ({"validation_size": 0}, ValueError, "validation_size", "validation_size=0"),
    ({"validation_size": 0.2}, TypeError, "validation_size", "validation_size=0.2"),
    ({"validation_size": 27}, ValueError, "validation_size", "validation_size=27"),
    ({"validation_size": 26}, ValueError, "count", "count=2"),  # 1 row left
    ({"early_stopping": -1}, ValueError, "early_stopping", "early_stopping=-1"),
    ({"early_stopping": 2}, ValueError, "early_stopping", "early_stopping=2"),
    (
        {"early_stopping": 2.0, "validation_size": 5},
        TypeError,
        "early_stopping",
        "early_stopping=2.0",
    ),
    ({"pool_subset": 0}, ValueError, "pool_subset", "pool_subset=0"),
    ({"protocol": {"pool_subset": 3}}, TypeError, "protocol", "of type dict"),
    ({"pool_subset": "all"}, TypeError, "pool_subset", "pool_subset='all'"),
    ({"build_model": _no_fit(compiled=False)}, ValueError, "build_model", "compiled"),
]


@pytest.mark.parametrize(
    "changes, exc, name, received",
    CASES,
    ids=[f"{i}-{c[2]}" for i, c in enumerate(CASES)],
)
def test_protocol_arguments_refused_before_any_fit(changes, exc, name, received):
    args = {"verbose": 0, **BASE, **changes}
    assert_bad_input(lambda: run(**args), exc, name, received)


def test_good_protocol_arguments_reach_the_first_fit():
    args = {**BASE, "validation_size": 5, "early_stopping": 0, "pool_subset": 3}
    with pytest.raises(AssertionError, match="trained before"):
        run(**args, verbose=0)
    with pytest.raises(AssertionError, match="trained before"):
        run(**{**args, "build_model": _no_fit()}, verbose=0)
