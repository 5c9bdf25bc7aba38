"""`mc.predict` at its edges: a prefix split that falls back to the whole
model, NaN/inf inputs and outputs named by row, seeded calls from several
threads at once, the `samples` bound and the progress bar of long runs."""

import logging
import threading

import keras
import numpy as np
import pytest
from keras import ops

import kerasdrop
from kerasdrop import mc
from kerasdrop.mc import guards
from kerasdrop.mc import prediction
from helpers import to_numpy


class _Outer(keras.layers.Layer):
    """`(B, L) -> (B, L, L)`, declared `(None, None)` (as XLNet's layers)."""

    def call(self, x):
        return ops.einsum("bi,bj->bij", x, x)

    def compute_output_spec(self, x):
        return keras.KerasTensor((None, None), dtype=x.dtype)


class _RowMean(keras.layers.Layer):
    """`(B, L, L) -> (B, L)`, declared from the wrong `(None, None)` input."""

    def call(self, x):
        return ops.mean(x, axis=-1)

    def compute_output_spec(self, x):
        return keras.KerasTensor((None, 6), dtype=x.dtype)


def _misdeclared():
    inputs = keras.Input((6,))
    h = _Outer()(keras.layers.Dense(6)(inputs))
    h = kerasdrop.layers.Dropout(0.3)(h)
    outputs = keras.layers.Dense(2)(_RowMean()(h))
    return keras.Model(inputs, outputs, name="misdeclared")


def _notes(caplog):
    return [r for r in caplog.records if "deterministic prefix" in r.getMessage()]


def test_prefix_split_on_wrong_declared_shapes_falls_back(caplog):
    model = _misdeclared()
    x = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    options = dict(samples=6, seed=3, task="regression", batch_size=2)
    with caplog.at_level(logging.DEBUG, logger="kerasdrop"):
        split = mc.predict(model, x, **options)
        again = mc.predict(model, x, **options)
    whole = mc.predict(model, x, reuse_prefix=False, **options)
    np.testing.assert_array_equal(to_numpy(split.mean), to_numpy(whole.mean))
    np.testing.assert_array_equal(to_numpy(again.variance), to_numpy(whole.variance))
    assert np.all(split.variance > 0)
    [note] = _notes(caplog)  # once per model, at debug level
    assert note.levelno == logging.DEBUG and "misdeclared" in note.getMessage()
    assert prediction._plan(model, True) is prediction._plan(model, False)


def test_prefix_fallback_keeps_user_errors():
    model = _misdeclared()
    with pytest.raises(ValueError, match="argument `x`"):
        mc.predict(model, np.ones((3, 5)), samples=2, task="regression")


@pytest.mark.slow
@pytest.mark.one_backend  # 4 s on TF, 19 s on JAX; `_misdeclared` is on both
def test_xlnet_backbone_samples_by_default():
    keras_hub = pytest.importorskip("keras_hub")
    backbone = keras_hub.models.XLNetBackbone(
        vocabulary_size=20,
        num_layers=1,
        num_heads=2,
        hidden_dim=4,
        intermediate_dim=8,
        dropout=0.2,
    )
    model = kerasdrop.convert(backbone)
    tokens = np.arange(36).reshape(3, 12) % 20
    x = {
        "token_ids": tokens.astype("int32"),
        "padding_mask": np.ones((3, 12), "int32"),
        "segment_ids": np.zeros((3, 12), "int32"),
    }
    reused = mc.predict(model, x, samples=4, seed=0, task="regression")
    whole = mc.predict(
        model, x, samples=4, seed=0, task="regression", reuse_prefix=False
    )
    assert reused.mean.shape == (3, 12, 4)
    np.testing.assert_array_equal(to_numpy(reused.mean), to_numpy(whole.mean))


class _Poison(keras.layers.Layer):
    """Adds `0 * sqrt(x[:, :1])`: NaN outputs where `x[:, 0] < 0`."""

    def call(self, inputs):
        logits, x = inputs
        return logits + 0.0 * ops.sqrt(x[:, :1])


def poisoned(classes=3):
    """A softmax classifier whose outputs are NaN where `x[:, 0] < 0`."""
    inputs = keras.Input((4,))
    h = kerasdrop.layers.Dropout(0.3)(keras.layers.Dense(8)(inputs))
    logits = _Poison()([keras.layers.Dense(classes)(h), inputs])
    outputs = keras.layers.Activation("softmax")(logits)
    return keras.Model(inputs, outputs, name="poisoned")


def _finite_rows(n=9):
    return np.abs(to_numpy(np.random.default_rng(1).normal(size=(n, 4)))).astype(
        "float32"
    )


@pytest.mark.parametrize("consistent", [False, True])
def test_non_finite_outputs_name_the_first_row(consistent):
    model, x = poisoned(), _finite_rows()
    x[[5, 7], 0] = -1.0
    with pytest.raises(guards.NonFiniteError) as caught:
        mc.predict(model, x, samples=3, batch_size=2, consistent=consistent)
    message = str(caught.value)
    assert "argument `model`" in message and "row 5 of `x`" in message
    assert "inputs are finite" in message
    assert caught.value.row == 5 and not caught.value.inputs
    assert isinstance(caught.value, ValueError)
    drop = next(x for x in model.layers if isinstance(x, kerasdrop.layers.Dropout))
    state = np.array(to_numpy(drop.seed_generator.state))
    with pytest.raises(guards.NonFiniteError):  # unseeded: streams put back
        mc.predict(model, x, samples=3, batch_size=2, consistent=consistent)
    np.testing.assert_array_equal(
        np.array(to_numpy(drop.seed_generator.state)), to_numpy(state)
    )
    mc.predict(model, np.abs(to_numpy(x)), samples=3, batch_size=2)  # finite: fine


def test_non_finite_inputs_name_the_first_row():
    model, x = poisoned(), _finite_rows()
    x[6, 2], x[8, 1] = np.inf, np.nan
    with pytest.raises(ValueError, match="argument `x`.*at row 6") as caught:
        mc.predict(model, x, samples=3, batch_size=4)
    assert caught.value.inputs
    moved = caught.value.moved("pool", lambda row: 100 + row)
    assert "argument `pool`" in str(moved) and "row 106" in str(moved)


def _stacked():
    inputs = keras.Input((4,))
    h = kerasdrop.layers.Dropout(0.5)(keras.layers.Dense(16)(inputs))
    h = kerasdrop.layers.Dropout(0.5)(keras.layers.Dense(16)(h))
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))


@pytest.mark.parametrize("consistent", [False, True])
def test_seeded_calls_from_threads_are_bit_identical(consistent):
    model = _stacked()
    x = np.random.default_rng(2).normal(size=(24, 4)).astype("float32")
    # Several batches and chunks per call: many draws to interleave.
    options = dict(
        samples=12, seed=11, batch_size=8, memory_budget=4096, consistent=consistent
    )
    reference = mc.predict(model, x, **options)
    barrier, results = threading.Barrier(4), [None] * 4

    def work(index):
        barrier.wait()
        results[index] = [mc.predict(model, x, **options) for _ in range(2)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in (r for pair in results for r in pair):
        np.testing.assert_array_equal(to_numpy(result.mean), to_numpy(reference.mean))
        np.testing.assert_array_equal(
            to_numpy(result.variance), to_numpy(reference.variance)
        )


def test_samples_bound():
    model = _stacked()
    with pytest.raises(ValueError, match=r"samples=1000000000"):
        mc.predict(model, np.ones((2, 4)), samples=10**9)
    assert prediction.MAX_SAMPLES == 10**6


def test_progress_bar_for_many_sampled_rows(monkeypatch, capsys):
    model, x = _stacked(), np.ones((8, 4), "float32")
    mc.predict(model, x, samples=5)  # 40 sampled rows: quiet
    assert "sample" not in capsys.readouterr().out
    monkeypatch.setattr(prediction, "PROGRESS_SAMPLES", 40)
    mc.predict(model, x, samples=5, verbose=0)
    assert "sample" not in capsys.readouterr().out
    mc.predict(model, x, samples=5)
    assert "40/40" in capsys.readouterr().out


def test_first_call_runs_the_model_only_traced():
    # Keras' JAX `predict_on_batch` first runs an unbuilt model eagerly (op
    # by op, each op compiled): the sampler is built, so the sampled part
    # runs only in the compiled call. The counter counts Python calls of a
    # layer after the dropout: tracing (or, on torch, running) once.
    calls = []

    class Count(keras.layers.Layer):
        def call(self, x):
            calls.append(1)
            return x

    inputs = keras.Input((4,))
    h = kerasdrop.layers.Dropout(0.5)(keras.layers.Dense(4)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(Count()(h)))
    calls.clear()
    mc.predict(model, np.ones((3, 4), "float32"), samples=4, seed=0, verbose=0)
    assert len(calls) == 1
