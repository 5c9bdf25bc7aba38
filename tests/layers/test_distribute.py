"""tf.distribute.MirroredStrategy on two logical CPU devices (see conftest)."""

import numpy as np
import pytest

import keras

from kerasdrop import layers as L
from kerasdrop import schedules as S
from helpers import to_numpy

pytestmark = pytest.mark.tf_only


def test_training_under_mirrored_strategy_with_assigned_rates(mirrored_strategy):
    import tensorflow as tf

    strat = mirrored_strategy
    assert strat.num_replicas_in_sync == 2
    with strat.scope():
        inputs = keras.Input((64,))
        h = keras.layers.Dense(32, activation="relu")(inputs)
        h = L.Dropout(0.1, seed=0, name="drop")(h)
        h = L.Dropout(S.Linear(0.0, 0.4, steps=6), name="sched")(h)
        model = keras.Model(inputs, keras.layers.Dense(1)(h))
        model.compile("adam", "mse")

    class SetRate(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.get_layer("drop").rate = [0.1, 0.6, 0.3][epoch]

    x = np.random.default_rng(0).normal(size=(96, 64)).astype("float32")
    y = x[:, :1] * 2
    history = model.fit(x, y, batch_size=32, epochs=3, callbacks=[SetRate()], verbose=0)
    assert np.isfinite(to_numpy(history.history["loss"])).all()

    drop = model.get_layer("drop")
    sched = model.get_layer("sched")
    assert drop.rate == pytest.approx(0.3)
    # The schedule advanced once per global step (3 epochs x 3 steps).
    assert sched.step == 9
    assert sched.rate == pytest.approx(S.Linear(0.0, 0.4, 6)(8))

    # Every replica holds the assigned rate...
    drop.rate = 0.45
    per_replica = strat.experimental_local_results(drop.rate_variable.value)
    assert len(per_replica) == 2
    assert [float(v) for v in per_replica] == pytest.approx([0.45, 0.45])

    # ... and drops at it inside a replica context.
    @tf.function
    def replica_zero_fraction():
        def fn():
            out = drop(tf.ones((64, 500)), training=True)
            return tf.reduce_mean(tf.cast(tf.equal(out, 0.0), tf.float32))

        return strat.run(fn)

    fractions = strat.experimental_local_results(replica_zero_fraction())
    for f in fractions:
        assert abs(float(f) - 0.45) < 5 * np.sqrt(0.45 * 0.55 / 32000)
