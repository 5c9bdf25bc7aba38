"""Epoch time with a per-batch DropoutScheduler vs no callback (TF backend).

Two models: the foundation benchmark's MLP (3 x Dense(1024), batch 256) and a
small MLP (Dense(256) x 2 on 64 features, batch 64) whose short steps make
any per-batch Python cost visible. Variants alternate in one process
(shuffled each repetition, after a warm-up epoch); medians are reported with
overhead = scheduled / plain - 1 (target <= 3%). A third variant puts the
same schedule in the layers (`Dropout(schedule)`, evaluated in-graph): the
zero-Python-cost way to change the rate every step.

Run:  python benchmarks/scheduler_overhead.py [--reps 9]
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


def build(width, depth, features, rate=0.3):
    layers = [keras.Input((features,))]
    for i in range(depth):
        layers += [
            keras.layers.Dense(width, activation="relu"),
            kerasdrop.layers.Dropout(rate, seed=i, name=f"drop{i}"),
        ]
    layers.append(keras.layers.Dense(10))
    model = keras.Sequential(layers)
    model.compile(
        keras.optimizers.SGD(0.01),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def bench(name, width, depth, features, batch, steps, reps):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch * steps, features)).astype("float32")
    y = rng.integers(0, 10, size=len(x))
    schedule = kerasdrop.schedules.Cosine(0.5, 0.1, steps=steps * (reps + 1))
    variants = {
        "plain": lambda: [],
        "per_batch_scheduler": lambda: [
            kerasdrop.callbacks.DropoutScheduler(schedule, unit="batch")
        ],
        "in_graph_schedule": lambda: [],  # Dropout(schedule): no callback
    }
    models = {}
    for variant in variants:
        keras.utils.set_random_seed(0)
        rate = schedule if variant == "in_graph_schedule" else 0.3
        models[variant] = build(width, depth, features, rate)
        models[variant].fit(x, y, batch_size=batch, epochs=1, verbose=0,
                            callbacks=variants[variant]())
    times = {v: [] for v in variants}
    order = list(variants)
    rnd = random.Random(0)
    for _ in range(reps):
        rnd.shuffle(order)
        for variant in order:
            callbacks = variants[variant]()
            start = time.perf_counter()
            models[variant].fit(x, y, batch_size=batch, epochs=1, verbose=0,
                                callbacks=callbacks)
            times[variant].append(time.perf_counter() - start)
    med = {v: statistics.median(t) for v, t in times.items()}
    best = {v: min(t) for v, t in times.items()}
    # Within one repetition the variants ran back to back: their ratio is
    # robust to the slow drifts (and two-speed phases) of a shared machine.
    paired = {
        v: statistics.median(a / b for a, b in zip(times[v], times["plain"]))
        for v in variants
    }
    return {
        "model": name,
        "batch_size": batch,
        "steps_per_epoch": steps,
        "median_epoch_s": med,
        "epoch_times_s": times,
        "per_step_ms": {v: 1000 * m / steps for v, m in med.items()},
        "min_epoch_s": best,
        "overhead": med["per_batch_scheduler"] / med["plain"] - 1,
        "overhead_in_graph_schedule": med["in_graph_schedule"] / med["plain"] - 1,
        "overhead_of_min": best["per_batch_scheduler"] / best["plain"] - 1,
        "overhead_paired_median": paired["per_batch_scheduler"] - 1,
        "overhead_in_graph_paired_median": paired["in_graph_schedule"] - 1,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results" / "scheduler_overhead.json"),
    )
    args = parser.parse_args(argv)
    results = {
        "benchmark": "scheduler_overhead",
        "command": f"python benchmarks/scheduler_overhead.py --reps {args.reps}",
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "kerasdrop": kerasdrop.__version__,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "target": "overhead <= 0.03",
        "runs": [
            bench("mlp_3x1024", 1024, 3, 784, 256, 16, args.reps),
            bench("small_mlp_2x256", 256, 2, 64, 64, 64, args.reps),
        ],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    for run in results["runs"]:
        ms = run["per_step_ms"]
        print(
            f"{run['model']}: plain {ms['plain']:.2f} ms/step, per-batch scheduler "
            f"{ms['per_batch_scheduler']:.2f} ms/step ({100 * run['overhead']:+.1f}%), "
            f"in-graph schedule {ms['in_graph_schedule']:.2f} ms/step "
            f"({100 * run['overhead_in_graph_schedule']:+.1f}%); paired: scheduler "
            f"{100 * run['overhead_paired_median']:+.1f}%, in-graph "
            f"{100 * run['overhead_in_graph_paired_median']:+.1f}%; of min: "
            f"{100 * run['overhead_of_min']:+.1f}%"
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
