"""The model, pool and runs of the distributed MC tests, and their child process.

    python mc_distributed_child.py worker DIR   # one MultiWorkerMirrored worker
    python mc_distributed_child.py jax DIR      # DataParallel on 2 CPU devices

`worker`: TF_CONFIG (set by the test) names this worker; it builds `build()`
under a `MultiWorkerMirroredStrategy` with the weights of DIR/weights.npz and
writes the runs of `run_all` on DIR/x.npy to DIR/worker<INDEX>.npz. `jax`
(KERAS_BACKEND=jax, XLA_FLAGS with 2 host devices, both set by the test):
writes the runs on one device and under `keras.distribution.DataParallel`
to DIR/single.npz and DIR/sharded.npz. The test compares the files.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np

#: The pool: 37 rows, which no batch or device count used here divides.
POOL_ROWS = 37
#: MC runs compared: both mask modes; batches of 7 rows (padded to 8 to split
#: over 2 devices: the noise is cut from that of the 7 rows) and of 8.
CONFIGS = {
    "independent_7": {"consistent": False, "batch_size": 7},
    "consistent_7": {"consistent": True, "batch_size": 7},
    "independent_8": {"consistent": False, "batch_size": 8},
}
SAMPLES = 4
#: The MCResult fields compared (all of a softmax classifier's).
FIELDS = (
    "mean",
    "variance",
    "std",
    "samples",
    "predictive_entropy",
    "expected_entropy",
    "mutual_information",
    "variation_ratio",
    "max_probability",
    "predicted_class",
)


def build():
    """A tiny classifier: a deterministic prefix, then three dropout kinds
    (rows' own masks, Gaussian noise, per-sample weight masks)."""
    import keras

    import kerasdrop

    inputs = keras.Input((5,))
    h = keras.layers.Dense(12, activation="relu")(inputs)
    h = kerasdrop.layers.Dropout(0.3)(h)
    h = kerasdrop.layers.DropConnect(keras.layers.Dense(12, activation="relu"), 0.2)(h)
    h = kerasdrop.layers.GaussianDropout(0.2)(h)
    outputs = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model(inputs, outputs)


def pool():
    return np.random.default_rng(0).normal(size=(POOL_ROWS, 5)).astype("float32")


def run_all(model, x, configs=tuple(CONFIGS)):
    """`mc.predict` of the named configs (2 chunks of 2 samples per batch):
    a flat dict `"<config>/<field>" -> array`."""
    import kerasdrop

    row_bytes = kerasdrop.mc.prediction._plan(model, True).row_bytes
    arrays = {}
    for name in configs:
        config = CONFIGS[name]
        result = kerasdrop.mc.predict(
            model,
            x,
            samples=SAMPLES,
            seed=3,
            return_samples=True,
            memory_budget=row_bytes * config["batch_size"] * 2,
            verbose=0,
            **config,
        )
        for field in FIELDS:
            arrays[f"{name}/{field}"] = np.asarray(getattr(result, field))
    return arrays


def _worker(directory):
    import tensorflow as tf

    # Created first: the strategy sets up the collective runtime.
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    with strategy.scope():
        model = build()
    weights = np.load(directory / "weights.npz")
    model.set_weights([weights[f"w{i}"] for i in range(len(weights.files))])
    assert strategy.num_replicas_in_sync == 2
    arrays = run_all(model, np.load(directory / "x.npy"))
    np.savez(directory / f"worker{index}.npz", **arrays)


def _jax(directory):
    import jax
    import keras

    assert len(jax.devices()) == 2, jax.devices()
    single = build()
    configs = ("independent_7", "consistent_7")  # compiling is JAX's cost
    np.savez(directory / "single.npz", **run_all(single, pool(), configs))
    distribution = keras.distribution.DataParallel(devices=jax.devices())
    with distribution.scope():
        sharded = build()
        sharded.set_weights(single.get_weights())
        arrays = run_all(sharded, pool(), configs)
    np.savez(directory / "sharded.npz", **arrays)


if __name__ == "__main__":
    mode, directory = sys.argv[1], Path(sys.argv[2])
    {"worker": _worker, "jax": _jax}[mode](directory)
    print("ok", flush=True)
