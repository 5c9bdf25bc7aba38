"""DropoutScheduler, AdaptiveDropout, DropoutLogger and recipes in `fit`."""

import contextlib
import copy
import csv

import keras
import numpy as np
import pytest

from helpers import CountingDropout

import kerasdrop
from kerasdrop import callbacks as C
from kerasdrop import layers as L
from kerasdrop import recipes
from kerasdrop import schedules as S

BACKEND = keras.backend.backend()
STEPS = 4  # batches per epoch
BATCH = 8


def model_fn(rates=(0.1, 0.5), nested=True):
    CountingDropout.traces = 0
    keras.utils.set_random_seed(0)
    inner_in = keras.Input((16,))
    inner = keras.Model(
        inner_in,
        CountingDropout(rates[1], name="inner_drop")(keras.layers.Dense(16)(inner_in)),
        name="block",
    )
    inputs = keras.Input((8,))
    h = CountingDropout(rates[0], name="input_drop")(inputs)
    h = keras.layers.Dense(16, activation="relu")(h)
    h = inner(h) if nested else h
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile(keras.optimizers.SGD(0.01), "mse")
    return model


def xy(n=STEPS * BATCH, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, x[:, :1] * 0.5


class Trace(keras.callbacks.Callback):
    """Records the live rate of each layer at each batch, and trace counts."""

    def __init__(self):
        super().__init__()
        self.rates, self.traces = [], []

    def on_train_batch_end(self, batch, logs=None):
        model = self.model
        self.rates.append(
            {layer.name: layer.rate for layer in kerasdrop.graph.dropout_layers(model)}
        )
        self.traces.append(CountingDropout.traces)


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
    assert len(set(trace.traces)) == 1


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


def test_hundreds_of_changes_never_retrace():
    model = model_fn()
    trace = Trace()
    cb = C.DropoutScheduler(S.Cosine(0.6, 0.0, steps=50), unit="batch")
    x, y = xy(50 * BATCH)
    model.fit(x, y, batch_size=BATCH, epochs=6, verbose=0, callbacks=[cb, trace])
    assert len(trace.rates) == 300
    assert len({round(r["input_drop"], 6) for r in trace.rates}) > 40
    assert len(set(trace.traces)) == 1


def test_rates_reach_history_csv_and_progress_bar(tmp_path, capsys):
    model = model_fn()
    path = tmp_path / "log.csv"
    history = model.fit(
        *xy(),
        batch_size=BATCH,
        epochs=2,
        verbose=2,
        callbacks=[
            C.DropoutScheduler(S.Linear(0.5, 0.1, 1)),
            keras.callbacks.CSVLogger(str(path)),
        ],
    )
    assert history.history["dropout/input_drop"] == pytest.approx([0.5, 0.1])
    assert history.history["dropout/inner_drop"] == pytest.approx([0.5, 0.1])
    rows = list(csv.DictReader(open(path)))
    assert [float(r["dropout/input_drop"]) for r in rows] == pytest.approx([0.5, 0.1])
    assert "dropout/inner_drop: 0.1000" in capsys.readouterr().out


@pytest.mark.tf_only
def test_tensorboard_event_file_holds_the_rates(tmp_path):
    import tensorflow as tf

    model = model_fn()
    model.fit(
        *xy(),
        batch_size=BATCH,
        epochs=2,
        verbose=0,
        callbacks=[C.DropoutLogger(), keras.callbacks.TensorBoard(str(tmp_path))],
    )
    tags = {}
    for event_file in tmp_path.rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                if "dropout" not in value.tag:
                    continue
                tensor = (
                    tf.make_ndarray(value.tensor)
                    if value.HasField("tensor")
                    else value.simple_value
                )
                tags.setdefault(value.tag, []).append(float(tensor))
    assert any("dropout/input_drop" in tag for tag in tags), sorted(tags)
    key = next(tag for tag in tags if "dropout/inner_drop" in tag)
    assert tags[key] == pytest.approx([0.5, 0.5])


def test_logger_per_batch_and_learned_rates_style_keys():
    model = model_fn()
    seen = []

    class Grab(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(dict(logs))

    history = model.fit(
        *xy(),
        batch_size=BATCH,
        epochs=1,
        verbose=0,
        callbacks=[C.DropoutLogger(per_batch=True), Grab()],
    )
    assert all(s["dropout/input_drop"] == pytest.approx(0.1) for s in seen)
    assert history.history["dropout/inner_drop"] == pytest.approx([0.5])


def run_resumable(tmp_path, crash_at=None):
    """Per-batch schedule + BackupAndRestore; optionally crash after an epoch."""
    model = model_fn()
    trace = Trace()

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if crash_at is not None and epoch == crash_at:
                raise RuntimeError("simulated crash")

    callbacks = [
        keras.callbacks.BackupAndRestore(str(tmp_path / "backup")),
        C.DropoutScheduler(
            S.Linear(0.0, 0.8, steps=20), unit="batch", layers="input_drop"
        ),
        C.DropoutScheduler(
            S.Cosine(0.5, 0.05, steps=5), unit="epoch", layers="inner_drop"
        ),
        trace,
        Crash(),
    ]
    model.fit(*xy(), batch_size=BATCH, epochs=6, verbose=0, callbacks=callbacks)
    return trace.rates


def test_crash_and_resume_continues_the_schedule(tmp_path):
    reference = run_resumable(tmp_path / "ref")
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_resumable(tmp_path / "run", crash_at=2)
    resumed = run_resumable(tmp_path / "run")  # a fresh model and callbacks
    assert len(resumed) == 3 * STEPS  # epochs 3..5 only
    assert resumed == reference[3 * STEPS :]
    assert len(reference) == 6 * STEPS


def test_in_graph_layer_schedule_resumes_too(tmp_path):
    def run(crash):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((8,))
        h = L.Dropout(S.Linear(0.0, 0.5, steps=24), name="sched")(inputs)
        model = keras.Model(inputs, keras.layers.Dense(1)(h))
        model.compile("sgd", "mse")
        trace = Trace()

        class Crash(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if crash and epoch == 1:
                    raise RuntimeError("crash")

        model.fit(
            *xy(),
            batch_size=BATCH,
            epochs=5,
            verbose=0,
            callbacks=[
                keras.callbacks.BackupAndRestore(str(tmp_path / "b")),
                trace,
                Crash(),
            ],
        )
        return trace.rates

    with pytest.raises(RuntimeError):
        run(True)
    resumed = run(False)
    expected = [S.Linear(0.0, 0.5, 24)(t) for t in range(2 * STEPS, 5 * STEPS)]
    assert [r["sched"] for r in resumed] == pytest.approx(expected, abs=1e-6)


class CrashAfter(keras.callbacks.Callback):
    """Raises after batch `at[1]` of epoch `at[0]`, as a killed job would stop."""

    def __init__(self, at=None):
        super().__init__()
        self.at, self.epoch = at, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise RuntimeError("simulated crash")


def fit_with_backup(model, data, backup, callbacks=(), crash=None):
    """Rates seen at each batch of a 4-epoch fit (`backup` first), up to the
    simulated crash after batch `crash[1]` of epoch `crash[0]`, if given."""
    trace = Trace()
    expect_crash = pytest.raises(RuntimeError, match="simulated crash")
    with expect_crash if crash else contextlib.nullcontext():
        model.fit(
            *data,
            epochs=4,
            verbose=0,
            shuffle=False,
            callbacks=[backup, *callbacks, trace, CrashAfter(crash)],
        )
    return [r[next(iter(r))] for r in trace.rates]


def test_in_graph_schedule_resumes_exactly_from_a_mid_epoch_checkpoint(tmp_path):
    # save_freq=3: the last checkpoint before the crash is after batch 1 of
    # epoch 1, and Keras replays epoch 1 from batch 0. keras' own callback
    # leaves the step 2 ahead for the rest of the run; kerasdrop's moves it
    # back, so every batch sees the rate of an uninterrupted run.
    sched = S.Linear(0.0, 0.5, steps=24)
    expected = [sched(t) for t in range(4 * STEPS)]

    def run(crash=None):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((8,))
        h = L.Dropout(sched, name="sched")(inputs)
        model = keras.Model(inputs, keras.layers.Dense(1)(h))
        model.compile("sgd", "mse")
        backup = C.BackupAndRestore(str(tmp_path), save_freq=3)
        return fit_with_backup(model, (*xy(), BATCH), backup, crash=crash)

    assert run(crash=(1, 2)) == pytest.approx(expected[: STEPS + 3], abs=1e-6)
    assert run() == pytest.approx(expected[STEPS:], abs=1e-6)  # epochs 1-3


@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_batch_schedule_on_unknown_length_dataset_resumes_exactly(tmp_path):
    import tensorflow as tf

    sched = S.Linear(0.0, 0.8, steps=20)
    expected = [sched(i) for i in range(4 * STEPS)]  # one index per batch
    x, y = xy()
    # After `.filter` tf.data cannot know the number of batches.
    data = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .filter(lambda a, b: True)
        .batch(BATCH),
    )

    def run(backup_class, crash=None):
        model = model_fn(nested=False)
        scheduler = C.DropoutScheduler(sched, unit="batch", layers="input_drop")
        backup = backup_class(str(tmp_path), save_freq=3)
        return fit_with_backup(model, data, backup, [scheduler], crash=crash)

    # Epochs 0, 1 and three batches of epoch 2 (checkpoint after batch 1).
    assert run(C.BackupAndRestore, crash=(2, 2)) == pytest.approx(
        expected[: 2 * STEPS + 3], abs=1e-6
    )
    # keras' callback keeps no batch count: a clear error before any batch,
    # and the checkpoint stays for a resume that can be exact.
    with pytest.raises(
        ValueError, match="starts at epoch 2 on a dataset of unknown length"
    ):
        run(keras.callbacks.BackupAndRestore)
    assert run(C.BackupAndRestore) == pytest.approx(expected[2 * STEPS :], abs=1e-6)


def test_deep_copy_of_every_callback():
    cbs = [
        C.DropoutScheduler(
            {"input.*": S.Linear(0.1, 0.3, 3)}, unit="batch", mode="scale"
        ),
        C.DropoutScheduler(lambda i, r: 0.2),
        C.AdaptiveDropout(patience=1),
        C.DropoutLogger(per_batch=True),
        recipes.early_dropout(12),
        recipes.late_dropout(12),
        recipes.curriculum_dropout(100),
        recipes.annealed_dropout(10),
    ]
    for cb in cbs:
        clone = copy.deepcopy(cb)
        assert type(clone) is type(cb)
        assert clone.get_config() == cb.get_config() or callable(
            cb.get_config().get("schedule")
        )
        model = model_fn()
        model.fit(*xy(), batch_size=BATCH, epochs=1, verbose=0, callbacks=[clone])
        copy.deepcopy(cb)  # the original never saw a model


def test_adaptive_raises_rate_when_gap_widens_and_lowers_on_underfit():
    model = model_fn()
    cb = C.AdaptiveDropout(
        patience=2,
        factor=2.0,
        max_rate=0.6,
        layers="input_drop",
        lower_on_underfit=True,
    )
    cb.set_model(model)
    cb.on_train_begin()
    logs = [
        {"loss": 1.0, "val_loss": 1.1},  # gap .1 best
        {"loss": 0.8, "val_loss": 1.0},  # .2 wait 1
        {"loss": 0.6, "val_loss": 1.0},  # .4 wait 2 -> raise 0.1 -> 0.2
        {"loss": 0.5, "val_loss": 1.0},  # .5 wait 1
        {"loss": 0.4, "val_loss": 1.0},  # .6 wait 2 -> 0.4
        {"loss": 0.3, "val_loss": 1.0},
        {"loss": 0.2, "val_loss": 1.0},  # -> 0.6 (bounded by max_rate)
        {"loss": 0.1, "val_loss": 1.0},
        {"loss": 0.1, "val_loss": 1.1},  # stays at max_rate
    ]
    rates = []
    for epoch, entry in enumerate(logs):
        entry = dict(entry)
        cb.on_epoch_end(epoch, entry)
        rates.append(entry["dropout/input_drop"])
    assert rates == pytest.approx([0.1, 0.1, 0.2, 0.2, 0.4, 0.4, 0.6, 0.6, 0.6])
    for epoch, entry in enumerate([{"loss": 0.5, "val_loss": 0.45}] * 4):
        cb.on_epoch_end(epoch, dict(entry))
    assert model.get_layer("input_drop").rate == pytest.approx(0.15)  # 0.6 / 2 / 2
    assert model.get_layer("block").get_layer("inner_drop").rate == 0.5


def test_adaptive_monitor_stall_cooldown_and_missing_value():
    model = model_fn(rates=(0.0, 0.5))
    cb = C.AdaptiveDropout(
        monitor="val_loss", patience=1, cooldown=2, start_rate=0.1, layers="input_drop"
    )
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, v in enumerate([1.0, 1.0, 1.0, 1.0, 1.0, 1.0]):
        cb.on_epoch_end(epoch, {"val_loss": v})
    # ReduceLROnPlateau's cooldown semantics: a stall at epoch 1 -> 0.1;
    # epoch 2 in cooldown; changes again at epochs 3 (0.15) and 5 (0.225).
    assert model.get_layer("input_drop").rate == pytest.approx(0.225)
    with pytest.warns(UserWarning, match="'val_auc' is not in the logs"):
        C.AdaptiveDropout(monitor="val_auc")._current({"loss": 1.0})
    with pytest.warns(UserWarning, match="'val_loss' is not in the logs"):
        model.fit(
            *xy(),
            batch_size=BATCH,
            epochs=1,
            verbose=0,
            callbacks=[C.AdaptiveDropout()],
        )


def test_adaptive_in_fit_with_validation():
    model = model_fn()
    history = model.fit(
        *xy(),
        validation_data=xy(seed=1),
        batch_size=BATCH,
        epochs=3,
        verbose=0,
        callbacks=[C.AdaptiveDropout(patience=1)],
    )
    assert "dropout/input_drop" in history.history


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


def test_bad_inputs():
    with pytest.raises(ValueError, match="unit='step'"):
        C.DropoutScheduler(S.Constant(0.1), unit="step")
    with pytest.raises(ValueError, match="mode='add'"):
        C.DropoutScheduler(S.Constant(0.1), mode="add")
    with pytest.raises(TypeError, match="schedule='linear'"):
        C.DropoutScheduler("linear")
    with pytest.raises(TypeError, match="layers=3"):
        C.DropoutScheduler(S.Constant(0.1), layers=3)
    with pytest.raises(ValueError, match="factor=0.5"):
        C.AdaptiveDropout(factor=0.5)
    with pytest.raises(ValueError, match="max_rate=1.0"):
        C.AdaptiveDropout(max_rate=1.0)
    with pytest.raises(ValueError, match="patience=-1"):
        C.AdaptiveDropout(patience=-1)
    model = model_fn()
    with pytest.raises(ValueError, match=r"available: \['input_drop', 'inner_drop'\]"):
        model.fit(
            *xy(),
            epochs=1,
            verbose=0,
            callbacks=[C.DropoutScheduler(S.Constant(0.1), layers="nope")],
        )
    with pytest.raises(ValueError, match=r"\['missing'\] match no"):
        model.fit(
            *xy(),
            epochs=1,
            verbose=0,
            callbacks=[C.DropoutScheduler({"missing": S.Constant(0.1)})],
        )


# Constructor arguments that used to pass, or fail with a bare or misnamed
# error: each now gets the Keras-style error naming the argument.
BAD_CONSTRUCTOR_ARGS = [
    (C.DropoutScheduler, {"schedule": lambda index: 0.1}, TypeError, "schedule"),
    (C.DropoutScheduler, {"schedule": lambda i, r, extra: 0.1}, TypeError, "schedule"),
    (C.DropoutScheduler, {"schedule": {"drop": lambda: 0.1}}, TypeError, "schedule"),
    (C.DropoutScheduler, {"schedule": 1.5}, ValueError, "schedule"),
    (C.DropoutScheduler, {"schedule": float("nan")}, ValueError, "schedule"),
    (C.DropoutScheduler, {"schedule": {"drop": -0.1}}, ValueError, "schedule"),
    (C.DropoutScheduler, {"schedule": 0.1, "layers": []}, ValueError, "layers"),
    (C.DropoutScheduler, {"schedule": 0.1, "verbose": -1}, ValueError, "verbose"),
    (C.AdaptiveDropout, {"underfit_gap": "x"}, TypeError, "underfit_gap"),
    (C.AdaptiveDropout, {"underfit_gap": None}, TypeError, "underfit_gap"),
    (C.AdaptiveDropout, {"underfit_gap": True}, TypeError, "underfit_gap"),
    (C.AdaptiveDropout, {"underfit_gap": float("nan")}, ValueError, "underfit_gap"),
    (C.AdaptiveDropout, {"underfit_gap": float("inf")}, ValueError, "underfit_gap"),
    (C.AdaptiveDropout, {"factor": "x"}, TypeError, "factor"),
    (C.AdaptiveDropout, {"factor": None}, TypeError, "factor"),
    (C.AdaptiveDropout, {"patience": 2.5}, TypeError, "patience"),
    (C.AdaptiveDropout, {"patience": "3"}, TypeError, "patience"),
    (C.AdaptiveDropout, {"cooldown": None}, TypeError, "cooldown"),
    (C.AdaptiveDropout, {"min_delta": float("inf")}, ValueError, "min_delta"),
    (C.AdaptiveDropout, {"min_delta": "x"}, TypeError, "min_delta"),
    (C.AdaptiveDropout, {"monitor": ""}, ValueError, "monitor"),
    (C.AdaptiveDropout, {"layers": ()}, ValueError, "layers"),
    (C.AdaptiveDropout, {"verbose": -2}, ValueError, "verbose"),
    (C.DropoutLogger, {"layers": []}, ValueError, "layers"),
]


@pytest.mark.parametrize("cls, kwargs, error, name", BAD_CONSTRUCTOR_ARGS)
def test_constructor_errors_name_the_argument(cls, kwargs, error, name):
    with pytest.raises(error) as info:
        cls(**kwargs)
    assert type(info.value) is error
    message = str(info.value)
    assert f"Invalid value received for argument `{name}`" in message
    assert f"Received: {name}=" in message


def test_callable_schedules_that_take_index_and_rate_are_accepted():
    def with_default(index, rate, extra=1):
        return 0.1

    class Callable:
        def __call__(self, *args):
            return 0.1

    for schedule in (
        with_default,
        Callable(),
        lambda *a: 0.1,
        max,
    ):  # max: no signature
        assert C.DropoutScheduler(schedule).schedule is schedule


@pytest.mark.parametrize("bad", [float("nan"), 1.0, -0.2])
def test_bad_schedule_value_fails_at_its_step_with_state_intact(bad):
    model = model_fn()
    weights_before = None

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            nonlocal weights_before
            weights_before = [np.array(w) for w in self.model.get_weights()]

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
        np.testing.assert_array_equal(a, np.array(b))


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


def test_callbacks_round_trip_their_config():
    for cb in (
        C.DropoutScheduler({"a.*": S.Linear(0.1, 0.3, 3)}, unit="batch", mode="scale"),
        C.AdaptiveDropout(monitor="val_accuracy", patience=3),
        C.DropoutLogger(layers=["x", "y"], per_batch=True),
    ):
        clone = type(cb)(**cb.get_config())
        assert clone.get_config() == cb.get_config()
    plain = C.DropoutScheduler(S.Cosine(0.5, 0.1, 10))
    assert C.DropoutScheduler.from_config(plain.get_config()).schedule == plain.schedule


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


def precision_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8,))
    h = L.Dropout(0.1, name="drop")(keras.layers.Dense(8, activation="relu")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(h))
    model.compile("sgd", "binary_crossentropy", metrics=[keras.metrics.Precision()])
    x, _ = xy()
    model.fit(
        x, (x[:, :1] > 0).astype("float32"), epochs=1, verbose=0
    )  # builds metrics
    return model


@pytest.mark.parametrize("mode", ["auto", "max"])
def test_adaptive_val_precision_higher_is_better(mode):
    # Keras' rule: a compiled Precision metric goes up; the old substring
    # guess ("acc"/"auc") treated val_precision as lower-is-better.
    model = precision_model()
    cb = C.AdaptiveDropout(monitor="val_precision", mode=mode, patience=1, factor=2.0)
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, value in enumerate([0.5, 0.6, 0.7, 0.8]):  # improving: no change
        cb.on_epoch_end(epoch, {"val_precision": value})
    assert model.get_layer("drop").rate == pytest.approx(0.1)
    cb.on_epoch_end(4, {"val_precision": 0.7})  # worse: raised
    assert model.get_layer("drop").rate == pytest.approx(0.2)


def test_adaptive_mode_is_checked_and_round_trips():
    for bad in ("up", None, 1):
        with pytest.raises(
            ValueError,
            match=r"Invalid value received for argument `mode`. "
            r"Expected one of \('auto', 'min', 'max'\)",
        ):
            C.AdaptiveDropout(monitor="val_loss", mode=bad)
    with pytest.raises(ValueError, match="argument `mode`"):
        C.AdaptiveDropout(monitor="gap", mode="max")
    cb = C.AdaptiveDropout(monitor="val_precision", mode="max")
    assert C.AdaptiveDropout(**cb.get_config()).get_config()["mode"] == "max"
    # mode="auto" on a key Keras cannot place: Keras' own error, asking for mode.
    model = model_fn()
    cb = C.AdaptiveDropout(monitor="custom_score")
    cb.set_model(model)
    with pytest.raises(ValueError, match="Pass `mode='max'`"):
        cb.on_epoch_end(0, {"custom_score": 1.0})


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
    assert CountingDropout.traces == traces
    inner.rate = 0.3
    model.fit(*xy(), batch_size=BATCH, epochs=1, verbose=0)
    assert inner.rate == pytest.approx(0.3) and inner.step == 0
