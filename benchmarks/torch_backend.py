"""kerasdrop on the PyTorch backend: two figures, measured in one process.

1. Training step time, kerasdrop's `Dropout` vs `keras.layers.Dropout`, on
   the MLP (3 x Dense(1024)) and the small CNN of `dropout_overhead.py`
   (target: ratio <= 1.00, as on TensorFlow).
2. `kerasdrop.mc.predict(model, x, samples=T)` vs the loop users write on
   torch, T calls of `model(x, training=True)` stacked with NumPy
   (speed-up = loop time / mc time), on an MLP with two dropout layers.
Timed variants alternate in one process (protocol of `_timing.py`).

Run:  KERAS_BACKEND=torch python benchmarks/torch_backend.py [--reps 11]
"""

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _timing import alternate, machine, set_threads, summarize  # noqa: E402
from dropout_overhead import bench_models  # noqa: E402

import kerasdrop  # noqa: E402

HERE = Path(__file__).parent


def mc_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(256, activation="relu"),
            kerasdrop.layers.Dropout(0.5, seed=1),
            keras.layers.Dense(256, activation="relu"),
            kerasdrop.layers.Dropout(0.5, seed=2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def bench_mc(samples, inputs, reps):
    model = mc_model()
    x = np.random.default_rng(0).normal(size=(inputs, 64)).astype("float32")

    def loop():
        outs = [keras.ops.convert_to_numpy(model(x, training=True))]
        outs += [
            keras.ops.convert_to_numpy(model(x, training=True))
            for _ in range(samples - 1)
        ]
        return np.stack(outs).mean(axis=0)

    def mc():
        return kerasdrop.mc.predict(
            model, x, samples=samples, batch_size=inputs, verbose=0
        ).mean

    result = summarize(alternate({"loop": loop, "mc_predict": mc}, reps), "mc_predict")
    result["speedup_mc_over_loop"] = result["paired_ratio_to_mc_predict"]["loop"]
    result.update(samples=samples, inputs=inputs)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument("--steps", type=int, default=8, help="batches per epoch")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--out", default=str(HERE / "results" / "torch_backend.json"))
    args = parser.parse_args(argv)
    set_threads(args.threads)
    rng = np.random.default_rng(0)
    batch, n = 256, 256 * args.steps
    results = {
        "benchmark": "torch_backend",
        "command": "KERAS_BACKEND=torch python benchmarks/torch_backend.py "
        f"--reps {args.reps} --steps {args.steps} --threads {args.threads} "
        f"--samples {args.samples}",
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "kerasdrop": kerasdrop.__version__,
        "machine": machine(args.threads),
        "target": "step ratio kerasdrop/keras <= 1.00; mc.predict faster than loop",
    }
    results.update(bench_models(rng, n, args.reps, batch))
    results["mc_predict_vs_loop"] = bench_mc(args.samples, 256, args.reps)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    for name in ("mlp_3x1024", "small_cnn"):
        print(
            f"{name}: step ratio kerasdrop/keras "
            f"{results[name]['ratio_kerasdrop_over_keras']:.3f}"
        )
    mc = results["mc_predict_vs_loop"]
    print(
        f"mc.predict T={args.samples} on 256 inputs: "
        f"{mc['speedup_mc_over_loop']:.2f}x the loop"
    )
    print(f"wrote {out}")
    return results


if __name__ == "__main__":
    main()
