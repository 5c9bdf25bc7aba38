"""Step time: ConcreteDropout(Dense(1024)) vs Dropout + Dense(1024) (TF, CPU).

The same MLP (784 -> 3 x 1024 -> 10, batch 256): dropout before each hidden
Dense, either stock `keras.layers.Dropout(0.5)` or the Dense wrapped in
`ConcreteDropout` (learned p, relaxed mask, regularizer). Variants alternate
in one process; medians and the per-repetition (paired) ratio are reported.
Target: concrete / dropout <= 1.3.

Run:  python benchmarks/concrete_overhead.py [--reps 11]
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


def build(kind):
    layers = [keras.Input((784,))]
    for _ in range(3):
        dense = keras.layers.Dense(1024, activation="relu")
        if kind == "concrete":
            layers.append(kerasdrop.layers.ConcreteDropout(dense, init_rate=0.5))
        else:
            dropout = (keras.layers.Dropout if kind == "keras_dropout"
                       else kerasdrop.layers.Dropout)(0.5)
            layers += [dropout, dense]
    layers.append(keras.layers.Dense(10))
    model = keras.Sequential(layers)
    model.compile(keras.optimizers.Adam(),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "concrete_overhead.json"))
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256 * args.steps, 784)).astype("float32")
    y = rng.integers(0, 10, size=len(x))
    kinds = ("keras_dropout", "kerasdrop_dropout", "concrete")
    models = {}
    for kind in kinds:
        keras.utils.set_random_seed(0)
        models[kind] = build(kind)
        models[kind].fit(x, y, batch_size=256, epochs=1, verbose=0)
    times = {k: [] for k in kinds}
    order = list(kinds)
    rnd = random.Random(0)
    for _ in range(args.reps):
        rnd.shuffle(order)
        for kind in order:
            start = time.perf_counter()
            models[kind].fit(x, y, batch_size=256, epochs=1, verbose=0)
            times[kind].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    paired = statistics.median(a / b for a, b in zip(times["concrete"], times["keras_dropout"]))
    result = {
        "benchmark": "concrete_overhead",
        "command": f"python benchmarks/concrete_overhead.py --reps {args.reps} --steps {args.steps}",
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "kerasdrop": kerasdrop.__version__,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "target": "ratio_concrete_over_dropout <= 1.3",
        "median_step_ms": {k: 1000 * v / args.steps for k, v in med.items()},
        "min_step_ms": {k: 1000 * min(v) / args.steps for k, v in times.items()},
        "epoch_times_s": times,
        "ratio_concrete_over_dropout": med["concrete"] / med["keras_dropout"],
        "ratio_paired_median": paired,
        "ratio_of_min": min(times["concrete"]) / min(times["keras_dropout"]),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    ms = result["median_step_ms"]
    print(f"keras Dropout+Dense {ms['keras_dropout']:.1f} ms/step, kerasdrop Dropout+Dense "
          f"{ms['kerasdrop_dropout']:.1f} ms/step, ConcreteDropout(Dense) {ms['concrete']:.1f} ms/step; "
          f"ratio {result['ratio_concrete_over_dropout']:.3f} (paired {paired:.3f}, "
          f"of min {result['ratio_of_min']:.3f})")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
