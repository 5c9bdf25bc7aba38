"""Step time: ConcreteDropout(Dense(1024)) vs Dropout + Dense(1024) (TF, CPU).

The same MLP (784 -> 3 x 1024 -> 10, batch 256): dropout before each hidden
Dense, either stock `keras.layers.Dropout(0.5)` or the Dense wrapped in
`ConcreteDropout` (learned p, relaxed mask, regularizer). Variants alternate
in one process (protocol of `_timing.py`); headline: the median paired
ratio. Target: concrete / dropout <= 1.3.

Run:  python benchmarks/concrete_overhead.py [--reps 21] [--threads 1]
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


def build(kind):
    layers = [keras.Input((784,))]
    for _ in range(3):
        dense = keras.layers.Dense(1024, activation="relu")
        if kind == "concrete":
            layers.append(kerasdrop.layers.ConcreteDropout(dense, init_rate=0.5))
        else:
            dropout = (
                keras.layers.Dropout
                if kind == "keras_dropout"
                else kerasdrop.layers.Dropout
            )(0.5)
            layers += [dropout, dense]
    layers.append(keras.layers.Dense(10))
    model = keras.Sequential(layers)
    model.compile(
        keras.optimizers.Adam(),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=21)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument(
        "--threads", type=int, default=1, help="TF threads (0: default)"
    )
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results" / "concrete_overhead.json"),
    )
    args = parser.parse_args(argv)
    set_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256 * args.steps, 784)).astype("float32")
    y = rng.integers(0, 10, size=len(x))
    runs = {}
    for kind in ("keras_dropout", "kerasdrop_dropout", "concrete"):
        keras.utils.set_random_seed(0)
        model = build(kind)
        runs[kind] = lambda m=model: m.fit(x, y, batch_size=256, epochs=1, verbose=0)
    summary = summarize(alternate(runs, args.reps), "keras_dropout")
    paired = summary["paired_ratio_to_keras_dropout"]
    result = {
        "benchmark": "concrete_overhead",
        "command": f"python benchmarks/concrete_overhead.py --reps {args.reps} "
        f"--steps {args.steps} --threads {args.threads}",
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "kerasdrop": kerasdrop.__version__,
        "machine": machine(args.threads),
        "target": "ratio_concrete_over_dropout <= 1.3",
        "median_step_ms": {
            k: 1000 * v / args.steps for k, v in summary["median_s"].items()
        },
        "ratio_concrete_over_dropout": paired["concrete"],
        "ratio_kerasdrop_dropout_over_keras_dropout": paired["kerasdrop_dropout"],
        **summary,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    ms = result["median_step_ms"]
    print(
        f"median: keras Dropout+Dense {ms['keras_dropout']:.1f} ms/step, "
        f"kerasdrop Dropout+Dense {ms['kerasdrop_dropout']:.1f} ms/step, "
        f"ConcreteDropout(Dense) {ms['concrete']:.1f} ms/step | "
        f"paired ratio concrete/dropout {paired['concrete']:.3f}, "
        f"kerasdrop/keras dropout {paired['kerasdrop_dropout']:.3f}"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
