"""Train-step time of a small CNN: DropBlock2D vs SpatialDropout2D vs none.

Conv(32) -> [dropout] -> Conv(32) -> [dropout] -> pool -> Dense(10) on
32x32x3 inputs, batch 64, TF backend on CPU, with the protocol of
`_timing.py` (alternated in one process; headline: medians of
per-repetition paired ratios to "none"). Variants:

    none               no dropout
    spatial            keras.layers.SpatialDropout2D(0.1)
    kerasdrop_spatial  kerasdrop.layers.SpatialDropout2D(0.1)
    dropblock          kerasdrop.layers.DropBlock2D(0.1, block_size=5)

Issue 25's target: dropblock <= 1.25x none. DropBlock draws half a uniform
per position of the map padded by block_size - 1 (two seeds per uniform,
by comparisons only) and grows the blocks with a boolean window "any", one
axis at a time, per channel.

Run:  python benchmarks/drop_block.py [--reps 15] [--threads 1]
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

import kerasdrop  # noqa: E402

HERE = Path(__file__).parent
RATE, BATCH, STEPS = 0.1, 64, 20
VARIANTS = {
    "none": lambda: keras.layers.Identity(),
    "spatial": lambda: keras.layers.SpatialDropout2D(RATE),
    "kerasdrop_spatial": lambda: kerasdrop.layers.SpatialDropout2D(RATE),
    "dropblock": lambda: kerasdrop.layers.DropBlock2D(RATE, block_size=5),
}


def build(make):
    inputs = keras.Input((32, 32, 3))
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    h = make()(h)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = make()(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inputs, keras.layers.Dense(10)(h))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "results" / "drop_block.json"))
    args = parser.parse_args(argv)
    set_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.random((BATCH * STEPS, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, BATCH * STEPS)
    models = {name: build(make) for name, make in VARIANTS.items()}
    runs = {
        name: (lambda m=m: m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0))
        for name, m in models.items()
    }
    result = {
        "benchmark": "drop_block",
        "command": " ".join(
            [
                "python benchmarks/drop_block.py",
                *(argv if argv is not None else sys.argv[1:]),
            ]
        ),
        "setup": {
            "batch": BATCH,
            "steps_per_epoch": STEPS,
            "rate": RATE,
            "block_size": 5,
            "input": [32, 32, 3],
        },
        "machine": machine(args.threads),
        **summarize(alternate(runs, args.reps), "none"),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for name, ratio in result["paired_ratio_to_none"].items():
        print(
            f"{name:18s} {result['median_s'][name]:.3f} s/epoch  x{ratio:.3f} vs none"
        )


if __name__ == "__main__":
    main()
