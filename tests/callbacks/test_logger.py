"""DropoutLogger and the rates in `fit`'s logs: history, CSV, progress bar,
TensorBoard."""

import csv

import keras
import pytest
from callback_models import BATCH, model_fn, xy

from kerasdrop import callbacks as C
from kerasdrop import schedules as S


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
    assert history.history["dropout/block/inner_drop"] == pytest.approx([0.5, 0.1])
    rows = list(csv.DictReader(open(path)))
    assert [float(r["dropout/input_drop"]) for r in rows] == pytest.approx([0.5, 0.1])
    assert "dropout/block/inner_drop: 0.1000" in capsys.readouterr().out


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
    key = next(tag for tag in tags if "dropout/block/inner_drop" in tag)
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
    assert history.history["dropout/block/inner_drop"] == pytest.approx([0.5])
