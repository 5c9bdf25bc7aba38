"""Epoch time: no dropout vs keras.layers.Dropout vs kerasdrop.layers.Dropout.

Same MLP (3 x Dense(1024), batch 256) and a small CNN, TF backend on CPU.
Variants are alternated in one process (shuffled order each repetition,
after a warm-up epoch each) and the median epoch time is reported, with

    ratio      = kerasdrop / keras           (target <= 1.00)
    overhead_x = time(x) - time(no dropout)
    overhead_reduction = 1 - overhead_kerasdrop / overhead_keras

Run:  python benchmarks/dropout_overhead.py [--reps 7] [--out benchmarks/results/dropout_overhead.json]
"""

import argparse
import json
import os
import platform
import random
import statistics
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerasdrop  # noqa: E402


def dropout_factory(kind):
    if kind == "none":
        return None
    if kind == "keras":
        return lambda rate: keras.layers.Dropout(rate, seed=1)
    if kind == "kerasdrop":
        return lambda rate: kerasdrop.layers.Dropout(rate, seed=1)
    if kind == "kerasdrop_scheduled":
        return lambda rate: kerasdrop.layers.Dropout(
            kerasdrop.schedules.Linear(0.0, rate, steps=1000), seed=1
        )
    raise ValueError(kind)


def mlp(kind):
    make = dropout_factory(kind)
    layers = [keras.Input((784,))]
    for _ in range(3):
        layers.append(keras.layers.Dense(1024, activation="relu"))
        if make:
            layers.append(make(0.5))
    layers.append(keras.layers.Dense(10))
    return keras.Sequential(layers)


def cnn(kind):
    make = dropout_factory(kind)
    layers = [keras.Input((32, 32, 3))]
    for filters in (32, 64):
        layers += [
            keras.layers.Conv2D(filters, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
        ]
        if make:
            layers.append(make(0.25))
    layers += [keras.layers.Flatten(), keras.layers.Dense(128, activation="relu")]
    if make:
        layers.append(make(0.5))
    layers.append(keras.layers.Dense(10))
    return keras.Sequential(layers)


def bench(builder, x, y, kinds, reps, batch_size):
    models = {}
    for kind in kinds:
        keras.utils.set_random_seed(0)
        model = builder(kind)
        model.compile(
            keras.optimizers.SGD(0.01),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)  # warm-up
        models[kind] = model
    times = {kind: [] for kind in kinds}
    order = list(kinds)
    rng = random.Random(0)
    for _ in range(reps):
        rng.shuffle(order)
        for kind in order:
            start = time.perf_counter()
            models[kind].fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
            times[kind].append(time.perf_counter() - start)
    med = {kind: statistics.median(t) for kind, t in times.items()}
    best = {kind: min(t) for kind, t in times.items()}
    # Ratio within each repetition (variants ran back to back), then median:
    # robust to the slow drifts of a shared machine.
    paired = statistics.median(
        a / b for a, b in zip(times["kerasdrop"], times["keras"])
    )
    over_keras = med["keras"] - med["none"]
    over_kd = med["kerasdrop"] - med["none"]
    return {
        "median_epoch_s": med,
        "epoch_times_s": times,
        "min_epoch_s": best,
        "ratio_kerasdrop_over_keras": med["kerasdrop"] / med["keras"],
        "ratio_paired_median": paired,
        "ratio_of_min": best["kerasdrop"] / best["keras"],
        "ratio_scheduled_over_keras": med["kerasdrop_scheduled"] / med["keras"],
        "overhead_s": {"keras": over_keras, "kerasdrop": over_kd},
        "overhead_reduction": (1 - over_kd / over_keras) if over_keras > 0 else None,
        "steps_per_epoch": int(np.ceil(len(x) / batch_size)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--steps", type=int, default=16, help="batches per epoch")
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results" / "dropout_overhead.json"),
    )
    args = parser.parse_args(argv)
    batch = 256
    rng = np.random.default_rng(0)
    n = batch * args.steps
    kinds = ("none", "keras", "kerasdrop", "kerasdrop_scheduled")
    results = {
        "benchmark": "dropout_overhead",
        "command": "python benchmarks/dropout_overhead.py --reps %d --steps %d"
        % (args.reps, args.steps),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "kerasdrop": kerasdrop.__version__,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "batch_size": batch,
        "reps": args.reps,
        "target": "ratio_kerasdrop_over_keras <= 1.00",
    }
    x = rng.normal(size=(n, 784)).astype("float32")
    y = rng.integers(0, 10, size=n)
    results["mlp_3x1024"] = bench(mlp, x, y, kinds, args.reps, batch)
    x = rng.normal(size=(n // 2, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, size=n // 2)
    results["small_cnn"] = bench(cnn, x, y, kinds, args.reps, batch)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    for name in ("mlp_3x1024", "small_cnn"):
        r = results[name]
        med = r["median_epoch_s"]
        print(
            f"{name}: none {med['none']:.3f}s  keras {med['keras']:.3f}s  "
            f"kerasdrop {med['kerasdrop']:.3f}s  scheduled {med['kerasdrop_scheduled']:.3f}s  "
            f"ratio {r['ratio_kerasdrop_over_keras']:.3f} (paired {r['ratio_paired_median']:.3f}, "
            f"of min {r['ratio_of_min']:.3f})  "
            f"overhead reduction {r['overhead_reduction']}"
        )
    print(f"wrote {out}")
    return results


if __name__ == "__main__":
    main()
