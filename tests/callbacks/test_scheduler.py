"""DropoutScheduler (and the recipes built on it) in `fit`: exact rate
trajectories, layer selection, callable schedules, refusals."""

import keras
import numpy as np
import pytest
from callback_models import BATCH, STEPS, Trace, model_fn, xy

import kerasdrop
from kerasdrop import callbacks as C
from kerasdrop import layers as L
from kerasdrop import recipes
from kerasdrop import schedules as S
from helpers import assert_no_retrace, to_numpy


@pytest.mark.parametrize("unit", ["epoch", "batch"])
@pytest.mark.parametrize("mode", ["set", "scale"])
def test_exact_trajectory_per_unit_mode_and_layer(unit, mode):
    model = model_fn()
    sched = S.Linear(0.9, 0.1, steps=20)
    trace = Trace()
    model.fit(
        *xy(),
        batch_size=BATCH,
        epochs=5,
        verbose=0,
        callbacks=[C.DropoutScheduler(sched, unit=unit, mode=mode), trace],
    )
    assert len(trace.rates) == 5 * STEPS
    for i, seen in enumerate(trace.rates):
        index = i if unit == "batch" else i // STEPS
        for name, base in (("input_drop", 0.1), ("inner_drop", 0.5)):
            expected = sched(index) * (base if mode == "scale" else 1.0)
            assert seen[name] == pytest.approx(expected, abs=1e-6), (i, name)
    assert_no_retrace(trace.traces)


def test_per_layer_schedules_and_selection():
    model = model_fn()
    cb = C.DropoutScheduler(
        {"input_.*": S.Constant(0.2), "inner_drop": S.Linear(0.0, 0.4, 4)}
    )
    trace = Trace()
    model.fit(*xy(), batch_size=BATCH, epochs=3, verbose=0, callbacks=[cb, trace])
    assert [r["input_drop"] for r in trace.rates] == pytest.approx([0.2] * 12)
    assert [r["inner_drop"] for r in trace.rates[::STEPS]] == pytest.approx(
        [0.0, 0.1, 0.2]
    )
    # Selection by name and by class; unselected layers keep their rate.
    model = model_fn()
    model.fit(
        *xy(),
        batch_size=BATCH,
        epochs=1,
        verbose=0,
        callbacks=[C.DropoutScheduler(S.Constant(0.3), layers="inner_drop")],
    )
    assert model.get_layer("input_drop").rate == 0.1
    assert model.get_layer("block").get_layer("inner_drop").rate == 0.3
    model.fit(
        *xy(),
        batch_size=BATCH,
        epochs=1,
        verbose=0,
        callbacks=[C.DropoutScheduler(S.Constant(0.35), layers=[L.Dropout])],
    )
    assert model.get_layer("input_drop").rate == 0.35


def test_callable_schedule_like_learning_rate_scheduler():
    model = model_fn()
    cb = C.DropoutScheduler(
        lambda epoch, rate: min(0.8, rate + 0.1), layers="input_drop"
    )
    history = model.fit(*xy(), batch_size=BATCH, epochs=3, verbose=0, callbacks=[cb])
    assert history.history["dropout/input_drop"] == pytest.approx([0.2, 0.3, 0.4])


def test_recipes_follow_the_papers():
    early = recipes.early_dropout(300)
    assert early.schedule == S.Early(0.1, 50) and early.unit == "epoch"
    assert recipes.early_dropout(30, mode="linear").schedule == S.Early(
        0.1, 5, mode="linear"
    )
    assert recipes.late_dropout(300).schedule == S.Late(0.1, 50)
    cur = recipes.curriculum_dropout(1000)
    assert cur.schedule == S.Curriculum(0.5, 0.01) and cur.unit == "batch"
    assert recipes.annealed_dropout(20).schedule == S.Annealed(0.5, 20)
    model = model_fn()
    history = model.fit(
        *xy(),
        batch_size=BATCH,
        epochs=3,
        verbose=0,
        callbacks=[recipes.early_dropout(3, rate=0.2, cutoff=2)],
    )
    assert history.history["dropout/input_drop"] == pytest.approx([0.2, 0.2, 0.0])
    with pytest.raises(ValueError, match="epochs=0"):
        recipes.early_dropout(0)


def test_stock_keras_model_gets_convert_advice():
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dropout(0.2), keras.layers.Dense(1)]
    )
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"kerasdrop.convert\(model\)"):
        model.fit(
            *xy(), epochs=1, verbose=0, callbacks=[C.DropoutScheduler(S.Constant(0.1))]
        )
    converted = kerasdrop.convert(model)
    converted.compile("sgd", "mse")
    converted.fit(
        *xy(), epochs=1, verbose=0, callbacks=[C.DropoutScheduler(S.Constant(0.1))]
    )


@pytest.mark.parametrize("bad", [float("nan"), 1.0, -0.2])
def test_bad_schedule_value_fails_at_its_step_with_state_intact(bad):
    model = model_fn()
    weights_before = None

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            nonlocal weights_before
            weights_before = [np.array(to_numpy(w)) for w in self.model.get_weights()]

    cb = C.DropoutScheduler(lambda epoch, rate: 0.3 if epoch < 2 else bad)
    with pytest.raises(
        ValueError, match=r"at epoch 2; a rate must be a float in \[0, 1\)"
    ):
        model.fit(
            *xy(), batch_size=BATCH, epochs=4, verbose=0, callbacks=[Snapshot(), cb]
        )
    assert model.get_layer("input_drop").rate == 0.3
    assert model.get_layer("block").get_layer("inner_drop").rate == 0.3
    for a, b in zip(weights_before, model.get_weights()):
        np.testing.assert_array_equal(to_numpy(a), np.array(to_numpy(b)))


def test_scheduler_refuses_a_layer_with_its_own_schedule_and_verbose_prints(capsys):
    inputs = keras.Input((8,))
    h = L.Dropout(S.Linear(0.0, 0.5, 10), name="own")(inputs)
    h = L.Dropout(0.2, name="plain")(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="'own' follows its own schedule"):
        model.fit(
            *xy(), epochs=1, verbose=0, callbacks=[C.DropoutScheduler(S.Constant(0.1))]
        )
    model.fit(
        *xy(),
        epochs=2,
        verbose=0,
        callbacks=[
            C.DropoutScheduler(S.Linear(0.3, 0.1, 1), layers="plain", verbose=1)
        ],
    )
    out = capsys.readouterr().out
    assert "Epoch 1: DropoutScheduler set the rate of 'plain' to 0.3" in out
    assert "Epoch 2: DropoutScheduler set the rate of 'plain' to 0.1" in out


def test_same_layer_name_in_a_nested_model_is_scheduled_separately():
    inner_in = keras.Input((8,))
    inner = keras.Model(inner_in, L.Dropout(0.4, name="drop")(inner_in), name="inner")
    inputs = keras.Input((8,))
    h = L.Dropout(0.1, name="drop")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(inner(h)))
    model.compile("sgd", "mse")
    model.fit(
        *xy(),
        batch_size=BATCH,
        epochs=2,
        verbose=0,
        callbacks=[
            C.DropoutScheduler(S.Linear(0.9, 0.5, 1), unit="batch", mode="scale")
        ],
    )
    assert model.get_layer("drop").rate == pytest.approx(0.05)
    assert inner.get_layer("drop").rate == pytest.approx(0.2)
