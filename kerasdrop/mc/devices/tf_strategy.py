"""`kerasdrop.mc.predict` on a `tf.distribute` strategy (TensorFlow only).

The one module with TensorFlow-specific MC code (`kerasdrop.mc.devices`
says when it runs and why the results equal one device's). Each padded
batch is cut into one equal slice of rows per replica
(`experimental_distribute_values_from_function`, global replica order, so
`MultiWorkerMirroredStrategy` workers each feed their own replicas from the
same batch); one `tf.function` per sampler runs it in every replica with
`strategy.run` (the replica's index selects its rows of the whole batch's
noise), and `strategy.gather` collects the per-row statistics of every
replica, across workers too, in row order. Every worker gets the whole
result; all workers must call `mc.predict` on the same inputs.
"""

import weakref

import keras
import numpy as np
import tensorflow as tf

from kerasdrop import _checks
from kerasdrop.mc.devices.single import SingleDevice

#: The strategies `mc.predict` shards batches on.
SUPPORTED = (tf.distribute.MirroredStrategy, tf.distribute.MultiWorkerMirroredStrategy)

_COMPILED = weakref.WeakKeyDictionary()


def strategy_of(model):
    """The strategy `model.predict` would run on (the one `model` was
    created under, else the current one), or None for one replica."""
    strategy = getattr(model, "distribute_strategy", None)
    strategy = strategy or tf.distribute.get_strategy()
    if strategy.num_replicas_in_sync == 1:
        return None
    if not isinstance(strategy, SUPPORTED):
        raise _checks.value_error(
            "model",
            "a model created under no `tf.distribute` strategy, a "
            "`MirroredStrategy` or a `MultiWorkerMirroredStrategy` (the "
            "strategies `kerasdrop.mc.predict` shards batches on)",
            model,
            f"It was created under a {type(strategy).__name__} of "
            f"{strategy.num_replicas_in_sync} replicas.",
        )
    return strategy


class StrategyRunner(SingleDevice):
    """Shards each batch over the replicas of a Mirrored or MultiWorker
    Mirrored strategy."""

    def __init__(self, strategy):
        self.strategy = strategy
        self.shards = strategy.num_replicas_in_sync
        self.key = strategy

    def noise_rows(self, rows):
        return (rows, self.shards)

    def scope(self):
        return self.strategy.scope()

    def place(self, batch):
        rows = int(np.shape(keras.tree.flatten(batch)[0])[0]) // self.shards

        def replica_rows(context):
            start = context.replica_id_in_sync_group * rows
            return keras.tree.map_structure(
                lambda a: tf.constant(a[start : start + rows]), batch
            )

        return self.strategy.experimental_distribute_values_from_function(replica_rows)

    def prefix(self, model, inputs):
        return _compiled(self.strategy, model, sampler=False)(inputs)

    def sample(self, sampler, inputs):
        stats = _compiled(self.strategy, sampler, sampler=True)(inputs)
        stats = {key: np.asarray(value) for key, value in stats.items()}
        if "bounds" in stats:  # one (min, max, off) per replica
            bounds = stats["bounds"].reshape(-1, 3)
            stats["bounds"] = np.array(
                [bounds[:, 0].min(), bounds[:, 1].max(), bounds[:, 2].max()]
            )
        return stats


def _compiled(strategy, model, sampler):
    """The `tf.function` running `model` in every replica (kept per model
    and strategy): a chunk sampler, told its replica's index, with its
    statistics gathered; or the deterministic prefix, left per replica."""
    functions = _COMPILED.setdefault(model, {})
    key = (strategy, sampler)
    if key in functions:
        return functions[key]
    model_ref = weakref.ref(model)  # the cache must not keep the model alive

    def replica(inputs):
        if not sampler:
            return model_ref()(inputs, training=False)
        context = tf.distribute.get_replica_context()
        return model_ref()(inputs, shard=context.replica_id_in_sync_group)

    @tf.function
    def run(inputs):
        outputs = strategy.run(replica, args=(inputs,))
        if not sampler:
            return outputs
        return {
            key: strategy.gather(value, axis=1 if key == "samples" else 0)
            for key, value in outputs.items()
        }

    functions[key] = run
    return run
