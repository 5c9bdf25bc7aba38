"""`kerasdrop.mc.predict` over several devices: which engine, and how.

`mc.predict` shards its batches exactly when `model.predict` would, on the
engine Keras itself uses, so that code written for one device runs
unchanged (acquisition included, which calls `mc.predict`):

- TensorFlow: the `tf.distribute` strategy the model was created under
  (`model.distribute_strategy`), `MirroredStrategy` or
  `MultiWorkerMirroredStrategy` (`kerasdrop.mc.devices.tf_strategy`);
- JAX: the active `keras.distribution` (`set_distribution` or inside its
  `scope()`): `DataParallel`, or the batch axis of a `ModelParallel` mesh;
- otherwise one device (`SingleDevice`, the reference).

**Equal to one device, for the same seed.** Batches and chunks of samples
are cut as on one device (`batch_size` rows, chunks sized by
`memory_budget` for the whole batch), then each batch is split into equal
slices of rows, one per device (padded by repeating its last row when its
size does not divide). The masks are those of the one-device run: every
device draws the noise of the *whole* batch from the same generator state
(the states are mirrored and advance together) and keeps the rows it holds
(`kerasdrop.layers.mc_state.shard_noise`), so a row's masks do not depend
on the device it lands on; consistent masks (`consistent=True`) do not
depend on rows at all. Per-row statistics are then gathered in row order
and merged exactly as on one device. On JAX, one global-view compiled call
runs on the sharded batch: XLA's random numbers do not depend on the
sharding, and the noise is only re-cut (`shard_noise`) when the padded
batch differs from the one-device batch.

**Cost:** under `tf.distribute` each device generates (and holds) the
random numbers of the whole batch, so the noise work, not the matrix
products, is repeated on every device (`R` devices: `R` times the
one-device noise work in all); the extra rows of a padded batch are
computed and dropped. What is equal: the noise every kerasdrop kind draws
through `DropoutBase.noise` (a custom kind calling `keras.random` itself
draws the same noise on every replica). Layers whose output depends on
other rows of the batch (DropBlock normalises by the kept fraction of the
whole batch) are equal only up to that normalisation.

Example (one device here: the single-device runner):

>>> import keras, kerasdrop
>>> model = keras.Sequential([keras.Input((4,)), kerasdrop.layers.Dropout(0.5)])
>>> engine = runner(model)
>>> engine.shards, engine.padded(7)
(1, 7)
"""

import keras

from kerasdrop.mc.devices import single
from kerasdrop.mc.devices.single import (
    DistributionRunner,
    SingleDevice,
    batch_shards,
)

__all__ = ["DistributionRunner", "SingleDevice", "batch_shards", "runner"]


def runner(model):
    """The engine `mc.predict` runs `model` on (`SingleDevice` or one that
    shards batches over devices); a `ValueError` for a `tf.distribute`
    strategy it cannot shard on."""
    if keras.backend.backend() == "tensorflow":
        from kerasdrop.mc.devices import tf_strategy

        strategy = tf_strategy.strategy_of(model)
        if strategy is None:
            return single.SingleDevice()
        return tf_strategy.StrategyRunner(strategy)
    distribution = keras.distribution.distribution()
    if distribution is None or single.batch_shards(distribution) == 1:
        return single.SingleDevice()
    return single.DistributionRunner(distribution)
