"""Active learning on scikit-learn digits, Gal, Islam & Ghahramani 2017's protocol.

Run:  KERAS_BACKEND=jax python benchmarks/active_learning.py [--seeds 10] [--rounds 30]
      [--jobs 2]   (seeds in worker processes; --resummarize recomputes the
      summaries from the JSON's curves)
      Variants, summarized into the same JSON's `variants` (run after the
      main run, which rewrites the JSON):
      ... --strategies random,bald --samples 100 --variant bald_T100
      ... --strategies random,bald --subset 300 --variant bald_subset300

Protocol (the paper's, at digits scale, offline), all through
`kerasdrop.active.run_loop(..., protocol=kerasdrop.active.Protocol(...))`:
- per seed, a stratified 80/20 split of the 1797 digits (8x8) into a pool
  (1437) and a test set (360); from the pool, 2 labels per class
  (`initial_per_class=2`: 20 labels) and a fixed labelled validation set of
  100 rows (`validation_size=100`), never acquired;
- a small CNN as in the paper, sized for 8x8: conv(16, 3x3)-relu-conv(16,
  3x3)-relu-maxpool(2)-Dropout(0.25)-dense(64)-relu-Dropout(0.5)-softmax(10),
  Adam 1e-3, batch 32;
- every round the model is retrained from scratch (the one compiled model
  re-initialised: fresh weights and optimizer, no retracing) until early
  stopping on the validation loss (`early_stopping=5`, best weights kept,
  at most `--epochs` epochs of the labels repeated to >= 256 rows; with 40
  epochs the validation loss still improves at the end of most fits, so
  the cap, not the patience, ends them: 39-40 epochs on average);
- weight decay scaled by the labels as in the paper: L2 `c / N` on every
  kernel (`N` labels), done as a fixed L2 `c` with every row weighted `N`
  (the same objective times `N`, which Adam's updates do not see; nothing
  retraced when N changes). `c = --decay` = 0.5: the paper's code's 3.5
  left this CNN at chance (test accuracy 0.10) at 20 labels; 0, 0.05 and
  0.5 train alike (random, 2 seeds, 20 to 320 labels: 0.95-0.97 at 320);
- T = 20 MC dropout samples; 10 acquired per round, for `--rounds` rounds,
  from a fresh random subset of 1000 unlabelled rows each round
  (`pool_subset=1000`; the paper draws 2000 of MNIST's 60,000; digits' pool
  holds 1317 rows, so 1000 is a subset every round, 1017 being left after
  30 rounds, and every round scores the same shape: nothing retraced);
- strategies: random, max entropy, variation ratios, mean STD, BALD,
  BatchBALD (acquisition size 10) and PowerBALD (beta = 1).

Reported per strategy: test accuracy (deterministic pass) per round, mean
and SE over seeds; the labels (start set included, as the paper counts
them) its mean curve needs to reach random's final mean accuracy and to
reach `--target` accuracy (linear interpolation between rounds; None if
never), with the per-seed mean ± SE of the same (a seed that never reaches
counts as the last label count: a lower bound, and the number of such
seeds is given); the saving against random on the mean curves (1 -
labels / random's labels) and per seed, paired on the same split and start
set (random's labels minus the strategy's: mean, SE, mean / SE); seconds
per strategy and per seed. Writes
benchmarks/results/active_learning.json (after every seed, so a cut run
keeps what it did, with its seed count), then the charts and the docs
tables (`benchmarks/tables.py --docs`).
"""

import argparse
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerasdrop  # noqa: E402
from _results import ACTIVE_STRATEGIES  # noqa: E402
from _timing import machine, set_threads  # noqa: E402

MIN_ROWS, BATCH = 256, 32
VALIDATION, PER_CLASS = 100, 2


def split(seed):
    """Pool and test set of digits (80/20, stratified), images 8x8x1."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target.astype("int32")
    x_pool, x_test, y_pool, y_test = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y
    )
    return (x_pool, y_pool), (x_test, y_test)


class PaperCNN(keras.Sequential):
    """The paper's CNN for 8x8 inputs, whose `fit` applies the paper's
    weight decay per label: N labels each weighted N under a fixed L2
    `decay`, which is the paper's objective (mean loss + decay / N * |w|^2)
    times N (Adam's updates do not see the factor; nothing retraced when N
    changes). One epoch is the labels in a random order, repeated to a
    multiple of the batch >= MIN_ROWS rows (one input shape every round)."""

    def __init__(self, decay, **kwargs):
        l2 = keras.regularizers.L2(decay) if decay else None
        conv = {"padding": "same", "activation": "relu", "kernel_regularizer": l2}
        super().__init__(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Conv2D(16, 3, **conv),
                keras.layers.Conv2D(16, 3, **conv),
                keras.layers.MaxPooling2D(2),
                kerasdrop.layers.Dropout(0.25),
                keras.layers.Flatten(),
                keras.layers.Dense(64, activation="relu", kernel_regularizer=l2),
                kerasdrop.layers.Dropout(0.5),
                keras.layers.Dense(10, activation="softmax", kernel_regularizer=l2),
            ],
            **kwargs,
        )
        self.compile(
            keras.optimizers.Adam(1e-3),
            "sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        self.rows_rng = np.random.default_rng(0)

    def fit(self, x, y, validation_data=None, **kwargs):
        n = len(y)
        rows = -(-max(n, MIN_ROWS) // BATCH) * BATCH
        order = np.resize(self.rows_rng.permutation(n), rows)
        weight = np.full(rows, float(n), "float32")
        vx, vy = validation_data
        val = (vx, vy, np.full(len(vy), float(n), "float32"))
        return super().fit(
            x[order], y[order], sample_weight=weight, validation_data=val, **kwargs
        )


def run(model, strategy, seed, args):
    pool, test = split(seed)
    model.rows_rng = np.random.default_rng(seed)
    result = kerasdrop.active.run_loop(
        model,
        None,
        pool,
        rounds=args.rounds,
        count=args.count,
        strategy=strategy,
        fit_kwargs={"epochs": args.epochs, "batch_size": BATCH},
        validation_data=test,
        seed=seed,
        verbose=0,
        protocol=kerasdrop.active.Protocol(
            initial_per_class=PER_CLASS,
            validation_size=VALIDATION,
            early_stopping=args.patience,
            pool_subset=args.subset,
        ),
        samples=args.samples,
    )
    accuracy = [logs["accuracy"] for logs in result.logs]
    return result.labelled, accuracy, result


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


def _se(values):
    values = np.asarray(values, dtype="float64")
    if len(values) < 2:
        return 0 * values[0]
    return values.std(axis=0, ddof=1) / np.sqrt(len(values))


def _per_seed(labels, runs, target):
    """Labels each seed's curve needs to reach `target`; a seed that never
    does counts as the last label count (a lower bound), flagged."""
    per_seed = [labels_to_reach(labels, run, target) for run in runs]
    return [labels[-1] if v is None else v for v in per_seed], per_seed


def reach(labels, runs, target):
    """Labels to reach `target`: on the mean curve, and per seed (mean, SE,
    seeds that never reach, counted at the last label count)."""
    mean_curve = labels_to_reach(labels, np.mean(runs, axis=0), target)
    values, per_seed = _per_seed(labels, runs, target)
    return {
        "mean_curve": None if mean_curve is None else round(mean_curve, 1),
        "per_seed_mean": round(float(np.mean(values)), 1),
        "per_seed_se": round(float(_se(values)), 1),
        "seeds_never": sum(v is None for v in per_seed),
    }


def paired_saving(labels, runs, random_runs, target):
    """Per seed (same split, same start), random's labels to reach `target`
    minus the strategy's: mean, SE, and mean / SE (the difference is
    claimed only beyond 2)."""
    ours, _ = _per_seed(labels, runs, target)
    theirs, _ = _per_seed(labels, random_runs, target)
    diff = np.asarray(theirs) - np.asarray(ours)
    se = float(_se(diff))
    return {
        "mean": round(float(diff.mean()), 1),
        "se": round(se, 1),
        "in_se": None if se == 0 else round(float(diff.mean()) / se, 1),
    }


def summarize(curves, labels, target, seconds):
    """Per strategy: the curves (mean, SE, per seed), labels to reach
    random's final mean accuracy and `target`, and the saving: total labels
    (start included, as Gal et al. 2017 count them) on the mean curves, 1 -
    strategy / random, and per seed paired with random."""
    # Accuracies as stored (4 decimals), so a resummarized JSON gives the
    # same numbers; float32's 342/360 (0.94999999) then reaches 0.95.
    curves = {
        name: np.round(np.asarray(runs, "float64"), 4) for name, runs in curves.items()
    }
    out = {}
    random_runs = curves["random"]
    random_final = float(random_runs.mean(axis=0)[-1])
    random_need = reach(labels, random_runs, random_final)["mean_curve"]
    for name, runs in curves.items():
        to_random = reach(labels, runs, random_final)
        need = to_random["mean_curve"]
        out[name] = {
            "accuracy_mean": [round(float(v), 4) for v in runs.mean(axis=0)],
            "accuracy_se": [round(float(v), 4) for v in _se(runs)],
            "accuracy_per_seed": runs.round(4).tolist(),
            "labels_to_reach_random_final": need,
            "reach_random_final": to_random,
            "reach_target": reach(labels, runs, target),
            "label_saving_vs_random": None
            if need is None or not random_need
            else round(1 - need / random_need, 3),
            "labels_saved_per_seed": paired_saving(
                labels, runs, random_runs, random_final
            ),
            "seconds": round(float(np.sum(seconds[name])), 1),
            "seconds_per_seed": [round(float(v), 1) for v in seconds[name]],
        }
    return out, random_final


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument(
        "--subset", type=int, default=1000, help="pool rows scored per round"
    )
    parser.add_argument("--decay", type=float, default=0.5)
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--strategies", default=",".join(ACTIVE_STRATEGIES))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--jobs", type=int, default=2, help="worker processes (seeds in parallel)"
    )
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument(
        "--variant",
        help="name of a variant run (e.g. another --samples): summarized "
        "into --out's `variants`, not written over it",
    )
    parser.add_argument(
        "--resummarize",
        action="store_true",
        help="recompute the summaries of --out from its curves; run nothing",
    )
    parser.add_argument("--out", default=str(HERE / "results" / "active_learning.json"))
    return parser.parse_args(argv)


def write(args, argv, curves, seconds, labels, started, order):
    """The JSON, rewritten after every seed (`order`: the seeds done, in the
    order of the per-seed lists)."""
    seeds_done = len(order)
    results, random_final = summarize(curves, labels, args.target, seconds)
    result = {
        "command": "KERAS_BACKEND=jax python benchmarks/active_learning.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(args.threads),
        "backend": keras.backend.backend(),
        "setup": {
            "data": "sklearn digits 8x8, 80/20 pool/test split per seed (stratified)",
            "start_labels": labels[0],
            "per_class": PER_CLASS,
            "validation": VALIDATION,
            "pool_subset": args.subset,
            "count": args.count,
            "rounds": args.rounds,
            "seeds": seeds_done,
            "seeds_asked": args.seeds,
            "epochs": args.epochs,
            "patience": args.patience,
            "samples": args.samples,
            "decay": args.decay,
            "target_accuracy": args.target,
            "model": "conv16-relu-conv16-relu-maxpool-Dropout(0.25)-dense64-relu-"
            "Dropout(0.5)-softmax10 (3x3 kernels), Adam 1e-3, batch 32, L2 "
            f"{args.decay}/labels, early stopping on 100 validation rows "
            f"(patience {args.patience}), retrained from scratch each round",
        },
        "labels": labels,
        "random_final_accuracy": round(random_final, 4),
        "seed_order": list(order),
        "strategies": results,
        "seconds": round(time.time() - started, 1),
    }
    if args.variant:
        merge_variant(args.variant, result, Path(args.out))
    else:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return results


#: What a variant keeps of each strategy's summary.
VARIANT_KEYS = (
    "labels_to_reach_random_final",
    "label_saving_vs_random",
    "labels_saved_per_seed",
    "reach_target",
)


def merge_variant(name, result, path):
    """A variant run (another T, another pool subset; its own random),
    summarized into the main JSON at `path` under `variants[name]`."""
    main = json.loads(path.read_text())
    main.setdefault("variants", {})[name] = {
        "command": result["command"],
        "samples": result["setup"]["samples"],
        "pool_subset": result["setup"]["pool_subset"],
        "seeds": result["setup"]["seeds"],
        "random_final_accuracy": result["random_final_accuracy"],
        "strategies": {
            strategy: {key: summary[key] for key in VARIANT_KEYS}
            for strategy, summary in result["strategies"].items()
        },
        "seconds": result["seconds"],
    }
    path.write_text(json.dumps(main, indent=2) + "\n")


_MODEL = {}


def run_seed(seed, args):
    """Every strategy on one seed (in a worker process: one model per
    process, reused across its seeds): per strategy, the labels, the test
    accuracy per round, the seconds and the mean epochs per fit."""
    set_threads(args.threads)
    if args.decay not in _MODEL:
        _MODEL[args.decay] = PaperCNN(args.decay)
    out = {}
    for strategy in args.strategies.split(","):
        tick = time.time()
        labels, accuracy, res = run(_MODEL[args.decay], strategy, seed, args)
        out[strategy] = (labels, accuracy, time.time() - tick, np.mean(res.epochs))
    return seed, out


def resummarize(args):
    """Recomputes the summaries of `--out` from its per-seed curves (after a
    change to what is summarized; nothing is rerun)."""
    path = Path(args.out)
    result = json.loads(path.read_text())
    strategies = result["strategies"]
    curves = {n: s["accuracy_per_seed"] for n, s in strategies.items()}
    seconds = {
        n: s.get("seconds_per_seed", [s["seconds"]]) for n, s in strategies.items()
    }
    target = result["setup"]["target_accuracy"]
    summary, random_final = summarize(curves, result["labels"], target, seconds)
    result.update(strategies=summary, random_final_accuracy=round(random_final, 4))
    path.write_text(json.dumps(result, indent=2) + "\n")


def main(argv=None):
    args = parse(argv)
    strategies = args.strategies.split(",")
    curves = {s: [] for s in strategies}
    seconds = {s: [] for s in strategies}
    if args.resummarize:
        return resummarize(args)
    started, order, results = time.time(), [], None
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
        futures = [pool.submit(run_seed, seed, args) for seed in range(args.seeds)]
        for future in as_completed(futures):
            seed, out = future.result()
            for strategy, (_, accuracy, took, epochs) in out.items():
                seconds[strategy].append(took)
                curves[strategy].append(accuracy)
                print(
                    f"seed {seed} {strategy:16s} acc {accuracy[0]:.3f} -> "
                    f"{accuracy[-1]:.3f}  epochs {epochs:.1f}  {took:.0f}s",
                    flush=True,
                )
            labels = out[strategies[0]][0]
            order.append(seed)
            results = write(args, argv, curves, seconds, labels, started, order)
    for name, r in results.items():
        final = f"{r['accuracy_mean'][-1]:.4f} ± {r['accuracy_se'][-1]:.4f}"
        print(f"{name:16s} final {final}  to random's final {r['reach_random_final']}")
    if not args.no_docs:
        import tables

        for path in tables.write_docs():
            print(f"wrote {path.relative_to(tables.ROOT)}")


if __name__ == "__main__":
    main()
