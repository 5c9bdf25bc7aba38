"""Monte-Carlo DropConnect: `mc.predict` vs T compiled passes without it.

`kerasdrop.mc.predict(model, x, samples=T)` on a model whose layers are
wrapped in `DropConnect` (one weight mask per MC sample) against the
compute limit: T compiled inference passes (`predict_on_batch`) of the same
model without DropConnect (`kerasdrop.strip_dropout`), on the same batches.
Issue 25's target: <= 1.5x. Next to them, the implementation before it
(one wrapped-layer call per sample of the chunk, in the graph), for the
before/after figure. Two networks:

    mlp  Input(64) -> DC(Dense(256, relu)) x 2 -> Dense(10)
    cnn  Input(16x16x3) -> DC(Conv2D(16, 3)) -> DC(Conv2D(32, 3, stride 2))
         -> GlobalAveragePooling2D -> Dense(10)

DropConnect rate 0.3, T = 50 samples, 256 inputs in one batch; the protocol
of `_timing.py` (alternated in one process, paired ratios).

Run:  python benchmarks/drop_connect.py [--reps 5] [--threads 1] [--samples 50]
      (KERAS_BACKEND=jax or torch for the other backends)
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _timing import alternate, machine, set_threads, summarize  # noqa: E402
from keras import ops  # noqa: E402

import kerasdrop  # noqa: E402
from kerasdrop.layers.mc_state import mc_sample_groups  # noqa: E402

HERE = Path(__file__).parent
RATE, BATCH = 0.3, 256


class LoopedDropConnect(kerasdrop.layers.DropConnect):
    """The implementation before issue 25: one call per sample of the chunk."""

    def drop(self, inputs, rate):
        groups = mc_sample_groups()
        count = 1 if groups is None else groups.groups
        kernel = self.layer.kernel.value
        noise = self.noise((count,) + tuple(kernel.shape), per_sample=True)
        scale = ops.cast(1.0 / (1.0 - rate), kernel.dtype)
        kernels = ops.where(ops.greater_equal(noise, rate), kernel * scale, 0.0)
        rows = ops.shape(inputs)[0] // count
        return ops.concatenate(
            [
                self._with_kernel(inputs[g * rows : (g + 1) * rows], kernels[g])
                for g in range(count)
            ],
            axis=0,
        )


def network(kind, wrapper):
    keras.utils.set_random_seed(0)
    if kind == "mlp":
        inputs = keras.Input((64,))
        h = wrapper(keras.layers.Dense(256, activation="relu"), RATE)(inputs)
        h = wrapper(keras.layers.Dense(256, activation="relu"), RATE)(h)
    else:
        inputs = keras.Input((16, 16, 3))
        conv = keras.layers.Conv2D
        h = wrapper(conv(16, 3, padding="same", activation="relu"), RATE)(inputs)
        h = wrapper(conv(32, 3, strides=2, padding="same", activation="relu"), RATE)(h)
        h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(10)(h))


def measure(kind, args):
    T = args.samples
    shape = (64,) if kind == "mlp" else (16, 16, 3)
    x = np.random.default_rng(0).normal(size=(BATCH,) + shape).astype("float32")
    model = network(kind, kerasdrop.layers.DropConnect)
    looped = network(kind, LoopedDropConnect)
    plain = kerasdrop.strip_dropout(model)

    def predict(m):
        return kerasdrop.mc.predict(
            m, x, samples=T, batch_size=BATCH, task="regression", verbose=0
        )

    def compiled_passes():
        for _ in range(T):
            plain.predict_on_batch(x)

    runs = {
        "mc_predict": lambda: predict(model),
        "looped_before": lambda: predict(looped),
        "compiled_passes": compiled_passes,
    }
    summary = summarize(alternate(runs, args.reps), "compiled_passes")
    ratios = summary["paired_ratio_to_compiled_passes"]
    print(
        f"{kind}: mc.predict x{ratios['mc_predict']:.2f}, before "
        f"x{ratios['looped_before']:.2f} the T compiled passes"
    )
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--nets", nargs="+", default=["mlp", "cnn"])
    args = parser.parse_args(argv)
    set_threads(args.threads)
    backend = keras.backend.backend()
    nets = {kind: measure(kind, args) for kind in args.nets}
    out = HERE / "results" / "drop_connect.json"
    result = json.loads(out.read_text()) if out.exists() else {}
    result.update(
        {
            "benchmark": "drop_connect",
            "setup": {"rate": RATE, "samples": args.samples, "inputs": BATCH},
            "target": "mc_predict <= 1.5x compiled_passes",
        }
    )
    command = " ".join(["python benchmarks/drop_connect.py", *sys.argv[1:]])
    if argv is not None:
        command = " ".join(["python benchmarks/drop_connect.py", *argv])
    if backend != "tensorflow":
        command = f"KERAS_BACKEND={backend} {command}"
    result.setdefault("backends", {})[backend] = {
        "command": command,
        "machine": machine(args.threads),
        "nets": nets,
    }
    result["command"] = "\n".join(run["command"] for run in result["backends"].values())
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
