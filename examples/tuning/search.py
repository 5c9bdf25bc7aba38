"""Search dropout kind, rate and schedule for an MLP with KerasTuner.

Run:
    python examples/tuning/search.py --tuner bayesian --max-trials 12 --epochs 20
    python examples/tuning/search.py --dataset breast_cancer --compare-baseline

Data: scikit-learn's bundled digits (default) or breast_cancer (nothing is
downloaded), split into train / validation / test. The model is a small MLP
whose two upper Dense layers share one `kerasdrop.tuning.dropout_space`
(none, constant, scheduled or concrete dropout). The objective is
`val_accuracy`. At the end the script prints KerasTuner's results summary
and writes, into `<directory>/<project>/`:

- `best_hyperparameters.json`: the best trial's hyperparameters and score;
- `score_vs_rate.png`: validation accuracy of every trial against its rate
  (for a schedule, its peak; for Concrete Dropout, the learned rate; 0 for
  none), coloured by kind.

`--compare-baseline` trains the best configuration and the same model
without dropout on the training set, for a few seeds, and compares their
test accuracy: dropout is kept only if it measurably helps (the paired mean
gain exceeds two standard errors).

A rerun with the same `--directory`/`--project-name` resumes the search
(finished trials are not redone); `--overwrite` starts afresh. With
KerasTuner's `KERASTUNER_ORACLE_IP/PORT/TUNER_ID` set (see
`examples/tuning/distributed.py`), the same command runs as the chief or a worker.
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path

TUNERS = ("random", "bayesian", "hyperband")
DATASETS = ("digits", "breast_cancer")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tuner", choices=TUNERS, default="random")
    parser.add_argument(
        "--max-trials",
        type=int,
        default=10,
        help="trials for random/bayesian (Hyperband sets its own)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=15,
        help="epochs per trial (Hyperband: max epochs)",
    )
    parser.add_argument("--dataset", choices=DATASETS, default="digits")
    parser.add_argument("--directory", default="tuning_runs")
    parser.add_argument(
        "--project-name", default=None, help="default: <dataset>_<tuner>"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--kinds",
        default="none,constant,scheduled,concrete",
        help="comma-separated dropout kinds to search",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="start afresh instead of resuming"
    )
    parser.add_argument(
        "--compare-baseline",
        action="store_true",
        help="compare the best model with no dropout on test data",
    )
    parser.add_argument("--baseline-seeds", type=int, default=3)
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="only report on a finished (or stopped) search",
    )
    parser.add_argument("--max-retries-per-trial", type=int, default=1)
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("max_trials", "epochs", "units", "batch_size", "baseline_seeds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    args.kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    if args.project_name is None:
        args.project_name = f"{args.dataset}_{args.tuner}"
    return args


def role():
    """'local', 'chief' or 'worker' (KerasTuner's distributed environment)."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "local"
    return "chief" if "chief" in os.environ.get("KERASTUNER_TUNER_ID", "") else "worker"


# ----------------------------------------------------------------------------
# Data and model.
# ----------------------------------------------------------------------------
def load_dataset(name, seed=0):
    """`{"train": (x, y), "val": ..., "test": ..., "classes": k}`, float32."""
    if name == "digits":
        from kerasdrop.data import load_digits

        train, val, test = load_digits(seed=seed)
        classes = 10
    else:
        from sklearn.datasets import load_breast_cancer
        from sklearn.model_selection import train_test_split

        data = load_breast_cancer()
        x, y = data.data.astype("float32"), data.target.astype("int32")
        x_rest, x_test, y_rest, y_test = train_test_split(
            x, y, test_size=0.2, random_state=seed, stratify=y
        )
        x_train, x_val, y_train, y_val = train_test_split(
            x_rest, y_rest, test_size=0.1875, random_state=seed, stratify=y_rest
        )
        mean, std = x_train.mean(0), x_train.std(0) + 1e-6
        train, val, test = (
            ((x - mean) / std, y)
            for x, y in ((x_train, y_train), (x_val, y_val), (x_test, y_test))
        )
        classes = 2
    return {"train": train, "val": val, "test": test, "classes": classes}


def make_hypermodel(features, classes, n_samples, units=64, kinds=None):
    """An MLP whose two upper Dense layers share one dropout space."""
    import keras

    from kerasdrop.tuning import KINDS, DropoutHyperModel

    def build(hp, spec):
        inputs = keras.Input((features,))
        x = keras.layers.Dense(units, activation="relu")(inputs)
        x = spec.layer(keras.layers.Dense(units, activation="relu"))(x)
        outputs = spec.layer(keras.layers.Dense(classes, activation="softmax"))(x)
        model = keras.Model(inputs, outputs)
        model.compile(
            keras.optimizers.Adam(3e-3),
            "sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    space = {
        "kinds": tuple(kinds or KINDS),
        "rate": (0.0, 0.5, 0.05),
        "n_samples": int(n_samples),
    }
    return DropoutHyperModel(build, space=space)


def make_tuner(args, hypermodel, overwrite=None):
    import keras_tuner as kt

    common = dict(
        objective="val_accuracy",
        seed=args.seed,
        directory=args.directory,
        project_name=args.project_name,
        overwrite=args.overwrite if overwrite is None else overwrite,
        max_retries_per_trial=args.max_retries_per_trial,
    )
    if args.tuner == "random":
        return kt.RandomSearch(hypermodel, max_trials=args.max_trials, **common)
    if args.tuner == "bayesian":
        return kt.BayesianOptimization(
            hypermodel,
            max_trials=args.max_trials,
            num_initial_points=min(3, args.max_trials),
            **common,
        )
    return kt.Hyperband(
        hypermodel, max_epochs=args.epochs, factor=3, hyperband_iterations=1, **common
    )


# ----------------------------------------------------------------------------
# Report.
# ----------------------------------------------------------------------------
def trial_points(tuner):
    """(kind, rate, score) of every completed trial (see the module doc)."""
    points = []
    for trial in tuner.oracle.trials.values():
        if trial.status != "COMPLETED" or trial.score is None:
            continue
        values = trial.hyperparameters.values
        kind = values.get("dropout/kind", "none")
        if kind == "concrete":
            learned = [
                trial.metrics.get_best_value(name)
                for name in trial.metrics.metrics
                if name.startswith("dropout/")
            ]
            rate = sum(learned) / len(learned) if learned else float("nan")
        else:
            rate = values.get("dropout/rate", 0.0)
        points.append((kind, float(rate), float(trial.score)))
    return points


def plot_scores(points, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {
        "none": "tab:gray",
        "constant": "tab:blue",
        "scheduled": "tab:orange",
        "concrete": "tab:green",
    }
    fig, ax = plt.subplots(figsize=(6, 4))
    for kind, color in colors.items():
        xs = [r for k, r, _ in points if k == kind]
        ys = [s for k, _, s in points if k == kind]
        if xs:
            ax.scatter(xs, ys, color=color, label=kind, alpha=0.8)
    ax.set_xlabel("dropout rate (scheduled: peak, concrete: learned)")
    ax.set_ylabel("validation accuracy")
    ax.set_title(title)
    ax.legend(title="kind")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def compare_baseline(tuner, best_hp, data, args):
    """Test accuracy of the best config vs the same model without dropout."""
    import keras
    import numpy as np

    baseline_hp = best_hp.copy()
    baseline_hp.values = {
        k: v for k, v in best_hp.values.items() if not k.startswith("dropout/")
    }
    baseline_hp.values["dropout/kind"] = "none"
    (x, y), (xt, yt) = data["train"], data["test"]
    scores = {"best": [], "no dropout": []}
    for seed in range(args.seed, args.seed + args.baseline_seeds):
        for label, hp in (("best", best_hp), ("no dropout", baseline_hp)):
            keras.utils.set_random_seed(seed)
            model = tuner.hypermodel.build(hp)
            tuner.hypermodel.fit(
                hp,
                model,
                x,
                y,
                epochs=args.epochs,
                batch_size=args.batch_size,
                verbose=0,
            )
            scores[label].append(float(model.evaluate(xt, yt, verbose=0)[1]))
            keras.backend.clear_session()
    diff = np.array(scores["best"]) - np.array(scores["no dropout"])
    se = (
        float(diff.std(ddof=1) / math.sqrt(len(diff)))
        if len(diff) > 1
        else float("inf")
    )
    gain = float(diff.mean())
    helped = best_hp.values.get("dropout/kind") != "none" and gain > 2 * se
    return {
        "test_accuracy": scores,
        "mean_gain": gain,
        "standard_error": se,
        "dropout_helped": bool(helped),
    }


def report(tuner, args, data):
    """Prints the summary, writes the JSON and the plot; returns the results."""
    tuner.results_summary(num_trials=5)
    out_dir = Path(tuner.project_dir)
    best_trial = tuner.oracle.get_best_trials(1)
    if not best_trial:
        raise SystemExit("No completed trial: nothing to report.")
    best_trial = best_trial[0]
    best_hp = best_trial.hyperparameters
    points = trial_points(tuner)
    results = {
        "tuner": args.tuner,
        "dataset": args.dataset,
        "objective": "val_accuracy",
        "best_score": best_trial.score,
        "best_trial_id": best_trial.trial_id,
        "best_hyperparameters": best_hp.values,
        "completed_trials": len(points),
        "trials": {t.trial_id: t.status for t in tuner.oracle.trials.values()},
    }
    plot_scores(
        points, out_dir / "score_vs_rate.png", f"{args.dataset}, {args.tuner} search"
    )
    if args.compare_baseline:
        cmp = compare_baseline(tuner, best_hp, data, args)
        results["baseline"] = cmp
        best, base = cmp["test_accuracy"]["best"], cmp["test_accuracy"]["no dropout"]
        print(
            f"\nTest accuracy over {len(best)} seeds: best config "
            f"{sum(best) / len(best):.4f}, no dropout {sum(base) / len(base):.4f}; "
            f"paired gain {cmp['mean_gain']:+.4f} "
            f"+- {cmp['standard_error']:.4f} (s.e.)."
        )
        if best_hp.values.get("dropout/kind") == "none":
            print("The best configuration already uses no dropout.")
        elif cmp["dropout_helped"]:
            print("Dropout measurably helped (gain > 2 s.e.): keep it.")
        else:
            print(
                "Dropout did not measurably help (gain <= 2 s.e.): "
                "prefer the model without dropout."
            )
    path = out_dir / "best_hyperparameters.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True))
    print(f"\nBest hyperparameters: {json.dumps(best_hp.values, sort_keys=True)}")
    print(f"Wrote {path} and {out_dir / 'score_vs_rate.png'}")
    return results


def main(argv=None):
    args = parse_args(argv)
    import keras

    keras.utils.set_random_seed(args.seed)
    data = load_dataset(args.dataset, args.seed)
    (x, y), (xv, yv) = data["train"], data["val"]
    hypermodel = make_hypermodel(
        x.shape[1], data["classes"], len(x), units=args.units, kinds=args.kinds
    )
    where = role()
    if where != "local" and args.overwrite:
        # A worker's overwrite would delete the chief's trials: the launcher
        # (examples/tuning/distributed.py) clears the directory before starting them.
        args.overwrite = False
    if args.report_only:
        if not (Path(args.directory) / args.project_name).exists():
            raise SystemExit(f"No search in {args.directory}/{args.project_name}.")
        tuner = make_tuner(args, hypermodel, overwrite=False)
        if not tuner.oracle.trials:
            # The tuner reloads from its own `<tuner id>.json`, which a worker
            # killed in its first trial never wrote: read the oracle's files.
            tuner.oracle.reload()
        return report(tuner, args, data)
    tuner = make_tuner(args, hypermodel)
    if where == "local":
        tuner.search_space_summary()
    tuner.search(
        x,
        y,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_data=(xv, yv),
        verbose=args.verbose,
    )
    if where == "worker":
        return None  # the chief (or the launcher) reports
    return report(tuner, args, data)


if __name__ == "__main__":
    main(sys.argv[1:])
