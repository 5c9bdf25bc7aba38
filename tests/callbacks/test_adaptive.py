"""AdaptiveDropout: rates that follow the train/validation gap or a monitored
value, with Keras' patience, cooldown and mode rules."""

import keras
import pytest
from callback_models import BATCH, model_fn, xy

from kerasdrop import callbacks as C
from kerasdrop import layers as L


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
