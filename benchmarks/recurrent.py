"""Epoch time of a small LSTM text model: stock Keras RNN dropout vs kerasdrop's
variational LSTM.

Embedding(2000, 32) -> LSTM(64) -> Dense(1, sigmoid), sequences of length
50, batch 64, TF backend on CPU, with the protocol of `_timing.py`
(alternated in one process; headline: medians of per-repetition paired
ratios). Variants:

    none                  LSTM without dropout (reference)
    keras_input           keras.layers.LSTM(dropout=0.2)
    keras_both            keras.layers.LSTM(dropout=0.2, recurrent_dropout=0.2)
    kerasdrop_input       kerasdrop.layers.LSTM(dropout=0.2)
    kerasdrop_both        kerasdrop.layers.LSTM(dropout=0.2, recurrent_dropout=0.2)

Targets: kerasdrop_input / keras_input <= 1.05 (fast path kept: the input
mask is applied outside the step loop), kerasdrop_both / keras_both <= 1.00
(one fused recurrent matmul per step where Keras splits it per gate).

Run:  python benchmarks/recurrent.py [--reps 11] [--sequences 2048] [--threads 1]
"""

import argparse
import json
import os
import statistics
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _timing import alternate, machine, set_threads, summarize  # noqa: E402

import kerasdrop  # noqa: E402

VOCAB, LENGTH, UNITS, BATCH, RATE = 2000, 50, 64, 64, 0.2
VARIANTS = {
    "none": (keras.layers.LSTM, {}),
    "keras_input": (keras.layers.LSTM, {"dropout": RATE}),
    "keras_both": (keras.layers.LSTM, {"dropout": RATE, "recurrent_dropout": RATE}),
    "kerasdrop_input": (kerasdrop.layers.LSTM, {"dropout": RATE}),
    "kerasdrop_both": (
        kerasdrop.layers.LSTM,
        {"dropout": RATE, "recurrent_dropout": RATE},
    ),
}


def text_model(name):
    cls, kwargs = VARIANTS[name]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((LENGTH,), dtype="int32"),
            keras.layers.Embedding(VOCAB, 32),
            cls(UNITS, seed=1, **kwargs),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    return model


def paired(times, a, b):
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument("--sequences", type=int, default=2048)
    parser.add_argument(
        "--threads", type=int, default=1, help="TF threads (0: default)"
    )
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "recurrent.json")
    )
    args = parser.parse_args(argv)
    set_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.integers(1, VOCAB, size=(args.sequences, LENGTH)).astype("int32")
    y = rng.integers(0, 2, size=(args.sequences, 1)).astype("float32")
    runs = {}
    for name in VARIANTS:
        model = text_model(name)
        runs[name] = lambda m=model: m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    times = alternate(runs, args.reps)
    result = summarize(times, "none")
    ratios = {
        "kerasdrop_input_over_keras_input": paired(
            times, "kerasdrop_input", "keras_input"
        ),
        "kerasdrop_both_over_keras_both": paired(times, "kerasdrop_both", "keras_both"),
        "kerasdrop_both_over_keras_input": paired(
            times, "kerasdrop_both", "keras_input"
        ),
    }
    results = {
        "benchmark": "recurrent",
        "command": f"python benchmarks/recurrent.py --reps {args.reps} "
        f"--sequences {args.sequences} --threads {args.threads}",
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "kerasdrop": kerasdrop.__version__,
        "machine": machine(args.threads),
        "model": f"Embedding({VOCAB}, 32) -> LSTM({UNITS}) -> Dense(1, sigmoid); "
        f"length {LENGTH}, batch {BATCH}, rate {RATE}",
        "sequences": args.sequences,
        "steps_per_epoch": int(np.ceil(args.sequences / BATCH)),
        "reps": args.reps,
        "target": "kerasdrop_input_over_keras_input <= 1.05; "
        "kerasdrop_both_over_keras_both <= 1.00",
        "paired_ratios": ratios,
        **result,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    med = result["median_s"]
    print("median epoch: " + ", ".join(f"{k} {v:.3f}s" for k, v in med.items()))
    print("paired ratios: " + ", ".join(f"{k} {v:.3f}" for k, v in ratios.items()))
    print(f"wrote {out}")
    return results


if __name__ == "__main__":
    main()
