"""Scheduled rates inside the compiled step: hundreds of per-batch changes
without a retrace or a Python write per batch, also under tf.distribute and
JAX DataParallel."""

import keras
import pytest
from callback_models import BATCH, STEPS, Trace, model_fn, xy
from helpers import CountingDropout, assert_no_retrace, traces_python_once

import kerasdrop
from kerasdrop import callbacks as C
from kerasdrop import schedules as S

BACKEND = keras.backend.backend()


def test_hundreds_of_changes_never_retrace():
    model = model_fn()
    trace = Trace()
    cb = C.DropoutScheduler(S.Cosine(0.6, 0.0, steps=50), unit="batch")
    x, y = xy(50 * BATCH)
    model.fit(x, y, batch_size=BATCH, epochs=6, verbose=0, callbacks=[cb, trace])
    assert len(trace.rates) == 300
    assert len({round(r["input_drop"], 6) for r in trace.rates}) > 40
    assert_no_retrace(trace.traces)


def test_batch_schedule_runs_in_graph_with_no_python_write_per_batch(monkeypatch):
    model = model_fn()
    model.fit(
        *xy(), batch_size=BATCH, epochs=1, verbose=0
    )  # Keras' own step traced first
    writes = []
    for layer in kerasdrop.graph.dropout_layers(model):
        original = layer.assign_rate
        monkeypatch.setattr(
            layer, "assign_rate", lambda v, f=original: writes.append(v) or f(v)
        )
    sched = S.Linear(0.9, 0.1, steps=20)
    cb = C.DropoutScheduler(sched, unit="batch", mode="scale", layers="inner_drop")
    trace = Trace()
    model.fit(*xy(), batch_size=BATCH, epochs=2, verbose=0, callbacks=[cb, trace])
    assert writes == []
    inner = model.get_layer("block").get_layer("inner_drop")
    assert [r["inner_drop"] for r in trace.rates] == pytest.approx(
        [0.5 * sched(i) for i in range(2 * STEPS)], abs=1e-6
    )
    assert [r["input_drop"] for r in trace.rates] == pytest.approx([0.1] * 2 * STEPS)
    # After fit: the last rate stays, the step and the config are the layer's own.
    assert inner.rate == pytest.approx(0.5 * sched(2 * STEPS - 1), abs=1e-6)
    assert (
        inner.step == 0 and inner.driver is None and inner.get_config()["rate"] == 0.5
    )
    # A second fit with the same schedule traces nothing new; one without it
    # runs the model's own train step (the rate stays put).
    traces = CountingDropout.traces
    model.fit(
        *xy(),
        batch_size=BATCH,
        epochs=1,
        verbose=0,
        callbacks=[
            C.DropoutScheduler(sched, unit="batch", mode="scale", layers="inner_drop")
        ],
    )
    if traces_python_once():
        assert CountingDropout.traces == traces
    inner.rate = 0.3
    model.fit(*xy(), batch_size=BATCH, epochs=1, verbose=0)
    assert inner.rate == pytest.approx(0.3) and inner.step == 0


@pytest.mark.tf_only
def test_scheduler_under_mirrored_strategy(mirrored_strategy):
    strategy = mirrored_strategy
    with strategy.scope():
        model = model_fn()
    trace = Trace()
    model.fit(
        *xy(),
        batch_size=BATCH,
        epochs=3,
        verbose=0,
        callbacks=[C.DropoutScheduler(S.Linear(0.5, 0.1, 2), unit="epoch"), trace],
    )
    assert [r["input_drop"] for r in trace.rates[::STEPS]] == pytest.approx(
        [0.5, 0.3, 0.1]
    )
    values = strategy.experimental_local_results(
        model.get_layer("input_drop").rate_variable.value
    )
    assert [float(v) for v in values] == pytest.approx([0.1, 0.1])


@pytest.mark.skipif(
    BACKEND != "jax",
    reason="keras.distribution.DataParallel runs on the JAX backend here",
)
def test_scheduler_under_jax_data_parallel():
    import jax

    devices = jax.devices("cpu")
    assert len(devices) >= 2, "conftest sets two virtual CPU devices"
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=devices[:2])
    )
    try:
        model = model_fn()
        trace = Trace()
        model.fit(
            *xy(),
            batch_size=BATCH,
            epochs=3,
            verbose=0,
            callbacks=[C.DropoutScheduler(S.Linear(0.0, 0.8, 12), unit="batch"), trace],
        )
        expected = [S.Linear(0.0, 0.8, 12)(i) for i in range(12)]
        assert [r["input_drop"] for r in trace.rates] == pytest.approx(
            expected, abs=1e-6
        )
    finally:
        keras.distribution.set_distribution(None)
