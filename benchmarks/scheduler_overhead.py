"""Epoch time with a per-batch DropoutScheduler vs no callback (TF backend).

Two models: the foundation benchmark's MLP (3 x Dense(1024), batch 256) and a
small MLP (Dense(256) x 2 on 64 features, batch 64) whose short steps make
any per-batch Python cost visible. A third variant puts the same schedule in
the layers (`Dropout(schedule)`, evaluated in-graph): the zero-Python-cost
way to change the rate every step, which `DropoutScheduler(unit="batch")` of a
`Schedule` also takes (it lends the schedule to its layers). Protocol of
`_timing.py`; headline: overhead = median paired ratio - 1 (target <= 3%).

Run:  python benchmarks/scheduler_overhead.py [--reps 21] [--threads 1]
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
    models, callbacks = (
        {},
        {
            "plain": lambda: [],
            "per_batch_scheduler": lambda: [
                kerasdrop.callbacks.DropoutScheduler(schedule, unit="batch")
            ],
            "in_graph_schedule": lambda: [],
        },
    )
    for variant in callbacks:
        keras.utils.set_random_seed(0)
        rate = schedule if variant == "in_graph_schedule" else 0.3
        models[variant] = build(width, depth, features, rate)
    runs = {
        v: (
            lambda v=v: models[v].fit(
                x, y, batch_size=batch, epochs=1, verbose=0, callbacks=callbacks[v]()
            )
        )
        for v in callbacks
    }
    result = summarize(alternate(runs, reps), "plain")
    paired = result["paired_ratio_to_plain"]
    result.update(
        model=name,
        batch_size=batch,
        steps_per_epoch=steps,
        median_step_ms={v: 1000 * m / steps for v, m in result["median_s"].items()},
        overhead=paired["per_batch_scheduler"] - 1,
        overhead_in_graph_schedule=paired["in_graph_schedule"] - 1,
    )
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=21)
    parser.add_argument(
        "--threads", type=int, default=1, help="TF threads (0: default)"
    )
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results" / "scheduler_overhead.json"),
    )
    args = parser.parse_args(argv)
    set_threads(args.threads)
    results = {
        "benchmark": "scheduler_overhead",
        "command": f"python benchmarks/scheduler_overhead.py --reps {args.reps} "
        f"--threads {args.threads}",
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "kerasdrop": kerasdrop.__version__,
        "machine": machine(args.threads),
        "target": "overhead <= 0.03",
        "runs": [
            bench("mlp_3x1024", 1024, 3, 784, 256, 8, args.reps),
            bench("small_mlp_2x256", 256, 2, 64, 64, 64, args.reps),
        ],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    for run in results["runs"]:
        ms = run["median_step_ms"]
        print(
            f"{run['model']}: median {ms['plain']:.2f} ms/step plain, "
            f"{ms['per_batch_scheduler']:.2f} per-batch scheduler, "
            f"{ms['in_graph_schedule']:.2f} in-graph | paired overhead: scheduler "
            f"{100 * run['overhead']:+.1f}%, "
            f"in-graph {100 * run['overhead_in_graph_schedule']:+.1f}%"
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
