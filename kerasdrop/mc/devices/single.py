"""The engines that do not need TensorFlow: one device, and `keras.distribution`.

`SingleDevice` is the reference every engine equals (see
`kerasdrop.mc.devices` for how the noise of a sharded batch is cut);
`DistributionRunner` shards a batch over the batch axis of the active
`keras.distribution` (JAX); `batch_shards` counts that axis.
"""

import contextlib

import keras


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
