"""`kerasdrop.mc.predict` over several devices: which engine, and how.

`mc.predict` shards its batches exactly when `model.predict` would, on the
engine Keras itself uses, so that code written for one device runs
unchanged (acquisition included, which calls `mc.predict`):

- TensorFlow: the `tf.distribute` strategy the model was created under
  (`model.distribute_strategy`), `MirroredStrategy` or
  `MultiWorkerMirroredStrategy` (`kerasdrop.mc_distribute_tf`);
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

import contextlib

import keras


def runner(model):
    """The engine `mc.predict` runs `model` on (`SingleDevice` or one that
    shards batches over devices); a `ValueError` for a `tf.distribute`
    strategy it cannot shard on."""
    if keras.backend.backend() == "tensorflow":
        from kerasdrop import mc_distribute_tf

        strategy = mc_distribute_tf.strategy_of(model)
        if strategy is None:
            return SingleDevice()
        return mc_distribute_tf.StrategyRunner(strategy)
    distribution = keras.distribution.distribution()
    if distribution is None or batch_shards(distribution) == 1:
        return SingleDevice()
    return DistributionRunner(distribution)


def batch_shards(distribution):
    """Devices the batch axis of a `keras.distribution` spreads over."""
    mesh = distribution.device_mesh
    names = list(mesh.axis_names)
    if distribution.batch_dim_name not in names:
        return 1
    return int(mesh.shape[names.index(distribution.batch_dim_name)])


class SingleDevice:
    """One device: each batch runs as it is (the reference the sharded
    engines equal)."""

    #: Devices each batch is split over.
    shards = 1
    #: What separates this engine's compiled samplers from others'.
    key = None

    def padded(self, rows):
        """The rows a batch of `rows` rows is padded to: a multiple of
        `shards`."""
        return -(-rows // self.shards) * self.shards

    def noise_rows(self, rows):
        """`(rows, shards)` when the noise of a batch of `rows` rows must be
        drawn whole and cut (`shard_noise`), else None."""
        return None

    def scope(self):
        """The context `mc.predict` runs in (samplers are created in it)."""
        return contextlib.nullcontext()

    def place(self, batch):
        """A padded NumPy batch, on the devices."""
        return batch

    def prefix(self, model, inputs):
        """The deterministic prefix `model` on placed inputs, placed."""
        return model.predict_on_batch(inputs)

    def sample(self, sampler, inputs):
        """One chunk sampler on placed inputs: its statistics, NumPy, every
        row of the padded batch in order."""
        return sampler.predict_on_batch(inputs)


class DistributionRunner(SingleDevice):
    """A `keras.distribution` (JAX): each batch is placed with the
    distribution's data layout (its rows split over the mesh's batch axis)
    and runs as one global-view compiled call."""

    def __init__(self, distribution):
        self.distribution = distribution
        self.shards = batch_shards(distribution)
        self.key = distribution

    def noise_rows(self, rows):
        # Global view: only a padded batch needs its noise cut to size.
        return None if rows % self.shards == 0 else (rows, 1)

    def scope(self):
        return self.distribution.scope()

    def place(self, batch):
        def place(array):
            layout = self.distribution.get_data_layout(array.shape)
            return keras.distribution.distribute_tensor(array, layout)

        return keras.tree.map_structure(place, batch)

    def prefix(self, model, inputs):
        return self.place(model.predict_on_batch(inputs))
