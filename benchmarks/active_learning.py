"""Active learning on scikit-learn digits: random, entropy, BALD, BatchBALD.

Run:  python benchmarks/active_learning.py [--seeds 5] [--rounds 15]

Protocol (Gal et al. 2017, Kirsch et al. 2019, at digits scale): the digits
are split 80/20 into pool and test set (stratified, per seed); 20 labelled
examples (2 per class) start, and each of `--rounds` rounds trains a fresh
MLP 64-128-128-10 with two kerasdrop Dropout(0.5) layers on all labels so
far (`--epochs` epochs over the labels repeated to at least 512 rows, batch
32: 160 steps), measures test accuracy (one deterministic pass) and acquires `--count`
pool rows with `kerasdrop.active.run_loop`. Reported: test accuracy per
round, mean and standard error over seeds, and per strategy the labels it
needs for its mean curve to reach random's final mean accuracy (linear
interpolation between rounds; None if it never does). Writes
benchmarks/results/active_learning.json.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerasdrop  # noqa: E402
from _timing import machine, set_threads  # noqa: E402

STRATEGIES = ("random", "entropy", "bald", "batch_bald")
TILE = 512


def split(seed):
    """Pool and test set (80/20, stratified) and 2 labelled rows per class."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int32")
    x_pool, x_test, y_pool, y_test = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y
    )
    rng = np.random.default_rng(seed)
    start = np.concatenate(
        [rng.choice(np.flatnonzero(y_pool == c), 2, replace=False) for c in range(10)]
    )
    rest = np.setdiff1d(np.arange(len(y_pool)), start)
    return (
        (x_pool[start], y_pool[start]),
        (x_pool[rest], y_pool[rest]),
        (x_test, y_test),
    )


def build():
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu"),
            kerasdrop.layers.Dropout(0.5),
            keras.layers.Dense(128, activation="relu"),
            kerasdrop.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(1e-3),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    plain_fit = model.fit

    def fit(x, y, **kwargs):
        # One epoch = the labels repeated to >= TILE rows: a few long epochs
        # instead of hundreds of short ones (Keras' per-epoch overhead).
        reps = -(-TILE // len(y))
        return plain_fit(np.tile(x, (reps, 1)), np.tile(y, reps), **kwargs)

    model.fit = fit
    return model


def run(strategy, seed, args):
    keras.utils.set_random_seed(seed)
    labelled, pool, test = split(seed)
    result = kerasdrop.active.run_loop(
        build,
        labelled,
        pool,
        rounds=args.rounds,
        count=args.count,
        strategy=strategy,
        fit_kwargs={"epochs": args.epochs, "batch_size": 32},
        validation_data=test,
        seed=seed,
        verbose=0,
        samples=args.samples,
    )
    return result.labelled, [logs["accuracy"] for logs in result.logs]


def labels_to_reach(labels, curve, target):
    """Labels at which `curve` first reaches `target` (interpolated)."""
    for i, value in enumerate(curve):
        if value >= target:
            if i == 0:
                return float(labels[0])
            a, b = curve[i - 1], value
            return float(
                labels[i - 1] + (target - a) / (b - a) * (labels[i] - labels[i - 1])
            )
    return None


def summarize(curves, labels):
    out = {}
    random_final = float(np.mean(curves["random"], axis=0)[-1])
    for name, runs in curves.items():
        runs = np.asarray(runs)
        mean = runs.mean(axis=0)
        se = (
            runs.std(axis=0, ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else 0 * mean
        )
        need = labels_to_reach(labels, mean, random_final)
        out[name] = {
            "accuracy_mean": [round(float(v), 4) for v in mean],
            "accuracy_se": [round(float(v), 4) for v in se],
            "accuracy_per_seed": runs.round(4).tolist(),
            "labels_to_reach_random_final": None if need is None else round(need, 1),
            "label_saving_vs_random": None
            if need is None
            else round(1 - (need - labels[0]) / (labels[-1] - labels[0]), 3),
        }
    return out, random_final


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "results" / "active_learning.json"))
    args = parser.parse_args(argv)
    set_threads(args.threads)
    curves, labels, started = {s: [] for s in STRATEGIES}, None, time.time()
    for seed in range(args.seeds):
        for strategy in STRATEGIES:
            labels, accuracy = run(strategy, seed, args)
            curves[strategy].append(accuracy)
            print(f"seed {seed} {strategy:10s} final {accuracy[-1]:.4f}", flush=True)
    results, random_final = summarize(curves, labels)
    result = {
        "command": "python benchmarks/active_learning.py "
        + " ".join(argv or sys.argv[1:]),
        "machine": machine(args.threads),
        "setup": {
            "data": "sklearn digits, 80/20 pool/test split per seed (stratified)",
            "start_labels": labels[0],
            "count": args.count,
            "rounds": args.rounds,
            "seeds": args.seeds,
            "epochs": args.epochs,
            "samples": args.samples,
            "model": "MLP 64-128-128-10, Dropout(0.5) x2, Adam 1e-3, batch 32, "
            f"labels tiled to >= {TILE} rows per epoch, a fresh model per round",
        },
        "labels": labels,
        "random_final_accuracy": round(random_final, 4),
        "strategies": results,
        "seconds": round(time.time() - started, 1),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for name, r in results.items():
        final = f"{r['accuracy_mean'][-1]:.4f} ± {r['accuracy_se'][-1]:.4f}"
        print(
            f"{name:10s} final {final}"
            f"  labels to reach random's final: {r['labels_to_reach_random_final']}"
        )


if __name__ == "__main__":
    main()
