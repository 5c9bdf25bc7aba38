"""Crash and resume: schedules continue where a BackupAndRestore checkpoint
left them, also from the middle of an epoch."""

import contextlib

import keras
import pytest
from callback_models import BATCH, STEPS, Trace, model_fn, xy

from kerasdrop import callbacks as C
from kerasdrop import layers as L
from kerasdrop import schedules as S


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
