"""`DropoutBase.attach_driver`/`release_driver`: a schedule lent to a layer."""

import keras
import numpy as np
import pytest

import kerasdrop
from kerasdrop import layers as L
from kerasdrop import schedules
from helpers import to_numpy


def test_attach_and_release():
    layer = L.Dropout(0.1, seed=0)
    assert layer.driver is None
    driver = schedules.Linear(0.0, 0.4, steps=4)
    layer.attach_driver(driver)
    assert layer.driver is driver
    other = schedules.Constant(0.2)
    layer.attach_driver(other)  # replaces the previous one
    assert layer.driver is other
    layer.release_driver()
    assert layer.driver is None
    layer.release_driver()  # nothing lent: nothing to do


def test_driver_is_read_only_and_not_in_the_config():
    layer = L.Dropout(0.1, seed=0)
    config = layer.get_config()
    layer.attach_driver(schedules.Constant(0.3))
    assert layer.get_config() == config
    with pytest.raises(AttributeError):
        layer.driver = schedules.Constant(0.2)


def test_training_calls_follow_the_driver_inference_does_not():
    layer = L.Dropout(0.0, seed=3)
    layer.attach_driver(schedules.Linear(0.0, 0.5, steps=5))
    x = np.ones((4, 6), "float32")
    np.testing.assert_array_equal(
        to_numpy(layer(x)), to_numpy(x)
    )  # inference: no step, no drop
    assert (layer.step, layer.rate) == (0, 0.0)
    for _ in range(3):
        layer(x, training=True)
    assert (layer.step, layer.rate) == (3, 0.2)
    layer.release_driver()
    layer(x, training=True)
    assert (layer.step, layer.rate) == (3, 0.2)  # stays where it was left


def test_fit_traced_with_a_driver_schedules_per_batch():
    model = keras.Sequential(
        [keras.Input((2,)), L.Dropout(0.0, seed=1, name="drop"), keras.layers.Dense(1)]
    )
    drop = model.get_layer("drop")
    drop.attach_driver(schedules.Linear(0.0, 0.6, steps=6))
    model.compile("sgd", "mse")
    x, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
    model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0)
    assert (drop.step, drop.rate) == (4, 0.3)  # rate of the 4th batch (step 3)


@pytest.mark.parametrize(
    "driver, kind",
    [(0.3, TypeError), (lambda step: 0.3, TypeError), (None, TypeError)],
)
def test_a_driver_is_a_schedule(driver, kind):
    layer = L.Dropout(0.1)
    with pytest.raises(kind) as info:
        layer.attach_driver(driver)
    assert str(info.value).startswith(
        "Invalid value received for argument `driver`. Expected a "
        "`kerasdrop.schedules.Schedule`. Received: driver="
    )
    assert layer.driver is None


def test_layers_with_their_own_schedule_or_a_learned_rate_refuse():
    scheduled = L.Dropout(schedules.Constant(0.2))
    with pytest.raises(ValueError, match="follows its own schedule") as info:
        scheduled.attach_driver(schedules.Constant(0.1))
    assert str(info.value).startswith(
        "Invalid value received for argument `driver`. Expected no driver for layer"
    )
    learned = L.ConcreteDropout(keras.layers.Dense(2))
    with pytest.raises(ValueError, match="follows a learned rate"):
        learned.attach_driver(schedules.Constant(0.1))
    assert scheduled.driver is None and learned.driver is None


def test_the_scheduler_lends_and_takes_back_through_the_public_pair():
    model = keras.Sequential(
        [keras.Input((2,)), L.Dropout(0.1, name="drop"), keras.layers.Dense(1)]
    )
    model.compile("sgd", "mse")
    drop = model.get_layer("drop")
    seen = []

    class Watch(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(drop.driver)

    schedule = schedules.Linear(0.0, 0.4, steps=4)
    scheduler = kerasdrop.callbacks.DropoutScheduler(schedule, unit="batch")
    x, y = np.ones((4, 2), "float32"), np.ones((4, 1), "float32")
    model.fit(x, y, batch_size=2, callbacks=[scheduler, Watch()], verbose=0)
    assert seen == [schedule, schedule]
    assert drop.driver is None and drop.step == 0
