"""Epoch time: no dropout vs keras.layers.Dropout vs kerasdrop.layers.Dropout.

Same MLP (3 x Dense(1024), batch 256) and a small CNN, TF backend on CPU,
with the protocol of `_timing.py` (alternated in one process; headline: the
median of per-repetition paired ratios). Reported:

    ratio              = kerasdrop / keras       (target <= 1.00)
    overhead_x         = time(x) / time(no dropout) - 1
    overhead_reduction = 1 - overhead_kerasdrop / overhead_keras   (stretch: >= 0.30)

Run:  python benchmarks/dropout_overhead.py [--reps 21] [--threads 1]
"""

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _timing import alternate, machine, set_threads, summarize  # noqa: E402

import kerasdrop  # noqa: E402

KINDS = ("none", "keras", "kerasdrop", "kerasdrop_scheduled")


def dropout_factory(kind):
    if kind == "none":
        return None
    if kind == "keras":
        return lambda rate: keras.layers.Dropout(rate, seed=1)
    if kind == "kerasdrop":
        return lambda rate: kerasdrop.layers.Dropout(rate, seed=1)
    return lambda rate: kerasdrop.layers.Dropout(
        kerasdrop.schedules.Linear(0.0, rate, steps=1000), seed=1
    )


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


def bench(builder, x, y, reps, batch_size):
    runs = {}
    for kind in KINDS:
        keras.utils.set_random_seed(0)
        model = builder(kind)
        model.compile(
            keras.optimizers.SGD(0.01),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        runs[kind] = lambda m=model: m.fit(
            x, y, batch_size=batch_size, epochs=1, verbose=0
        )
    result = summarize(alternate(runs, reps), "none")
    paired = result["paired_ratio_to_none"]
    over_keras, over_kd = paired["keras"] - 1, paired["kerasdrop"] - 1
    result.update(
        ratio_kerasdrop_over_keras=paired["kerasdrop"] / paired["keras"],
        ratio_of_medians=result["median_s"]["kerasdrop"] / result["median_s"]["keras"],
        overhead={
            "keras": over_keras,
            "kerasdrop": over_kd,
            "kerasdrop_scheduled": paired["kerasdrop_scheduled"] - 1,
        },
        overhead_reduction=(1 - over_kd / over_keras) if over_keras > 0 else None,
        steps_per_epoch=int(np.ceil(len(x) / batch_size)),
    )
    return result


def bench_models(rng, n, reps, batch):
    """Both benchmark models on random data: `n` MLP rows, `n // 2` images."""
    x = rng.normal(size=(n, 784)).astype("float32")
    y = rng.integers(0, 10, size=n)
    results = {"mlp_3x1024": bench(mlp, x, y, reps, batch)}
    x = rng.normal(size=(n // 2, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, size=n // 2)
    results["small_cnn"] = bench(cnn, x, y, reps, batch)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=21)
    parser.add_argument("--steps", type=int, default=8, help="batches per epoch")
    parser.add_argument(
        "--threads", type=int, default=1, help="TF threads (0: default)"
    )
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results" / "dropout_overhead.json"),
    )
    args = parser.parse_args(argv)
    set_threads(args.threads)
    batch = 256
    rng = np.random.default_rng(0)
    n = batch * args.steps
    results = {
        "benchmark": "dropout_overhead",
        "command": f"python benchmarks/dropout_overhead.py --reps {args.reps} "
        f"--steps {args.steps} --threads {args.threads}",
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "kerasdrop": kerasdrop.__version__,
        "machine": machine(args.threads),
        "batch_size": batch,
        "reps": args.reps,
        "target": "ratio_kerasdrop_over_keras <= 1.00; "
        "stretch overhead_reduction >= 0.30",
    }
    results.update(bench_models(rng, n, args.reps, batch))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    for name in ("mlp_3x1024", "small_cnn"):
        r = results[name]
        med, o = r["median_s"], r["overhead"]
        print(
            f"{name}: median epoch none {med['none']:.3f}s keras {med['keras']:.3f}s "
            f"kerasdrop {med['kerasdrop']:.3f}s "
            f"scheduled {med['kerasdrop_scheduled']:.3f}s | "
            f"paired overhead keras {100 * o['keras']:+.1f}% "
            f"kerasdrop {100 * o['kerasdrop']:+.1f}% "
            f"scheduled {100 * o['kerasdrop_scheduled']:+.1f}% | "
            f"ratio {r['ratio_kerasdrop_over_keras']:.3f} "
            f"| overhead reduction {r['overhead_reduction']}"
        )
    print(f"wrote {out}")
    return results


if __name__ == "__main__":
    main()
