"""The UCI regression benchmark of Gal & Ghahramani (2016) with MC dropout.

Reads a data folder in the layout of the paper's experiments (one folder
per data set: `data.txt`, `index_features.txt`, `index_target.txt`,
`index_train_K.txt` / `index_test_K.txt`, `n_splits.txt`, `n_hidden.txt`,
`n_epochs.txt`, `dropout_rates.txt`, `tau_values.txt`) and runs the paper's
protocol on every split:

- inputs and target standardized on the training split (std 0 -> 1);
- `Input -> Dropout(p) -> Dense(n_hidden, relu) -> Dropout(p) -> Dense(1)`,
  L2 on every Dense of `l^2 (1 - p) / (2 N tau)` with `l = 1e-2`;
- Adam, batch 32 (the paper's own 2016 per-data-set scripts; the 2018
  code's 128 misses the paper on energy), `10 x n_epochs.txt` epochs (400);
- `T = 10000` MC dropout passes (`kerasdrop.mc.predict`): RMSE of the MC
  mean and the test log-likelihood by logsumexp over samples
  (`kerasdrop.metrics.regression_log_likelihood`), in target units.

Two modes: "fixed" uses the paper's `(p, tau)` per data set; "grid" picks
`(p, tau)` from `dropout_rates.txt x tau_values.txt` by validation
log-likelihood (the last 20% of each training split), then refits on the
whole training split. Results: per split and mean +- standard error over
splits, with the paper's figures beside (`PAPER`).

Example (a quick look: 2 splits, 40 epochs, 1000 samples):

>>> from kerasdrop.apps import uci
>>> results = uci.run("path/to/bostonHousing", splits=2, epochs=40,
...                   samples=1000)  # doctest: +SKIP
>>> print(uci.markdown_table(results))  # doctest: +SKIP
"""

import contextlib
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from kerasdrop import _checks, mc, metrics
from kerasdrop import layers as kd_layers

LENGTH_SCALE = 1e-2
BATCH_SIZE = 32  # the 2016 scripts'; reproduces the paper's table
EPOCH_MULTIPLIER = 10  # n_epochs.txt holds 1/10 of the paper's epochs
MODES = ("fixed", "grid")

#: Gal & Ghahramani (2016), MC dropout column: RMSE, its standard error,
#: test LL, its standard error, and the (p, tau) the paper used.
PAPER = {
    "bostonHousing": (2.97, 0.19, -2.46, 0.06, 0.05, 0.1597),
    "concrete": (5.23, 0.12, -3.04, 0.02, 0.01, 0.0557),
    "energy": (1.66, 0.04, -1.99, 0.02, 0.05, 0.4271),
    "kin8nm": (0.10, 0.00, 0.95, 0.01, 0.05, 192.48),
    "naval-propulsion-plant": (0.01, 0.00, 3.80, 0.01, 0.05, 42173.5),
    "power-plant": (4.02, 0.04, -2.80, 0.01, 0.005, 0.0871),
    "protein-tertiary-structure": (4.36, 0.01, -2.89, 0.00, 0.005, 0.0644),
    "wine-quality-red": (0.62, 0.01, -0.93, 0.01, 0.05, 2.958),
    "yacht": (1.11, 0.09, -1.55, 0.03, 0.01, 0.5419),
}


# ----------------------------------------------------------------------
# The data folder.
# ----------------------------------------------------------------------
class UCIDataset:
    """One data set folder of the UCI layout.

    Attributes: `name`, `x` `(N, F)` float64, `y` `(N,)`, `n_splits`,
    `n_hidden`, `n_epochs` (as in the folder: 1/10 of the paper's),
    `dropout_rates`, `tau_values`; `split(k)` gives `(train, test)` row
    indices.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        if not (self.folder / "data.txt").is_file():
            raise _checks.value_error(
                "folder",
                "a UCI data set folder holding data.txt, index_*.txt and n_*.txt files",
                str(folder),
            )
        self.name = self.folder.name
        data = np.loadtxt(self.folder / "data.txt", ndmin=2)
        features = self._ints("index_features.txt")
        target = self._ints("index_target.txt")
        if len(target) != 1:
            raise ValueError(
                f"Invalid UCI folder {str(self.folder)!r}: expected one target "
                f"column in index_target.txt. Received: {target.tolist()}"
            )
        self.x = data[:, features]
        self.y = data[:, int(target[0])]
        self.n_splits = int(self._ints("n_splits.txt")[0])
        self.n_hidden = int(self._ints("n_hidden.txt")[0])
        self.n_epochs = int(self._ints("n_epochs.txt")[0])
        self.dropout_rates = self._floats("dropout_rates.txt")
        self.tau_values = self._floats("tau_values.txt")

    def _read(self, name):
        path = self.folder / name
        if not path.is_file():
            raise ValueError(f"Invalid UCI folder {str(self.folder)!r}: missing {name}")
        return np.atleast_1d(np.loadtxt(path))

    def _ints(self, name):
        return self._read(name).astype("int64")

    def _floats(self, name):
        return [float(v) for v in self._read(name)]

    def split(self, k):
        _checks.check_int(
            "split",
            k,
            minimum=0,
            maximum=self.n_splits - 1,
            expected=f"an integer in [0, {self.n_splits})",
        )
        return self._ints(f"index_train_{k}.txt"), self._ints(f"index_test_{k}.txt")

    def __repr__(self):
        return (
            f"<UCIDataset {self.name}: {self.x.shape[0]} rows, "
            f"{self.x.shape[1]} features, {self.n_splits} splits>"
        )


def find_datasets(path):
    """The data set folders under `path` (or `path` itself), sorted."""
    path = Path(path)
    if (path / "data.txt").is_file():
        return [path]
    if not path.is_dir():
        raise _checks.invalid_value(
            "data",
            "Expected a UCI data set folder or a folder of them.",
            f"data={str(path)!r} (not a folder)",
        )
    found = sorted(p for p in path.iterdir() if (p / "data.txt").is_file())
    if not found:
        raise _checks.invalid_value(
            "data",
            "Expected a UCI data set folder or a folder of them (each with data.txt).",
            f"data={str(path)!r} with none",
        )
    return found


# ----------------------------------------------------------------------
# The protocol.
# ----------------------------------------------------------------------
def _standardize(train, *others):
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std == 0, 1.0, std)
    return [(a - mean) / std for a in (train,) + others], mean, std


def build_model(n_features, n_hidden, rate, tau, n_train, seed=None):
    """The paper's network with its weight decay `l^2 (1-p) / (2 N tau)`."""
    decay = LENGTH_SCALE**2 * (1.0 - rate) / (2.0 * n_train * tau)
    regularizer = keras.regularizers.L2(decay)
    model = keras.Sequential(
        [
            keras.Input((n_features,)),
            kd_layers.Dropout(rate, seed=seed),
            keras.layers.Dense(
                n_hidden, activation="relu", kernel_regularizer=regularizer
            ),
            kd_layers.Dropout(rate, seed=None if seed is None else seed + 1),
            keras.layers.Dense(1, kernel_regularizer=regularizer),
        ]
    )
    model.compile(keras.optimizers.Adam(), loss="mse")
    return model


class _EpochBatches(keras.utils.PyDataset):
    """All `epochs` epochs as one sequence of shuffled batches.

    The paper's batching (a fresh permutation per epoch, a short last
    batch), served to a single `fit` epoch: Keras' per-epoch overhead
    dominates on data this small.
    """

    def __init__(self, x, y, epochs, batch_size, seed):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.steps = math.ceil(len(x) / batch_size)
        rng = np.random.default_rng(seed)
        self.orders = [rng.permutation(len(x)) for _ in range(epochs)]

    def __len__(self):
        return len(self.orders) * self.steps

    def __getitem__(self, index):
        epoch, batch = divmod(index, self.steps)
        rows = self.orders[epoch][
            batch * self.batch_size : (batch + 1) * self.batch_size
        ]
        return self.x[rows], self.y[rows]


def fit_and_evaluate(
    x_train,
    y_train,
    x_test,
    y_test,
    rate,
    tau,
    n_hidden,
    epochs,
    samples,
    seed,
    batch_size=BATCH_SIZE,
):
    """Trains one network and returns its test RMSE and LL (MC and plain)."""
    (x_tr, x_te), _, _ = _standardize(x_train, x_test)
    y_mean, y_std = y_train.mean(), y_train.std()
    y_std = y_std if y_std > 0 else 1.0
    keras.utils.set_random_seed(seed)
    model = build_model(x_tr.shape[1], n_hidden, rate, tau, len(x_tr), seed=seed)
    batches = _EpochBatches(
        x_tr.astype("float32"),
        ((y_train - y_mean) / y_std).astype("float32")[:, None],
        epochs,
        batch_size,
        seed,
    )
    model.fit(batches, epochs=1, verbose=0)
    x_te = x_te.astype("float32")
    deterministic = model.predict(x_te, batch_size=1024, verbose=0)[:, 0]
    result = mc.predict(
        model,
        x_te,
        samples=samples,
        batch_size=min(len(x_te), 512),
        seed=seed,
        return_samples=True,
        task="regression",
        verbose=0,
    )
    draws = result.samples[..., 0].astype("float64") * y_std + y_mean
    mc_mean = draws.mean(axis=0)
    return {
        "rmse": float(np.sqrt(np.mean((y_test - mc_mean) ** 2))),
        "ll": metrics.regression_log_likelihood(y_test, draws, tau),
        "rmse_deterministic": float(
            np.sqrt(np.mean((y_test - (deterministic * y_std + y_mean)) ** 2))
        ),
    }


def _resolve(dataset, mode, rate, tau):
    """The fixed-mode `(rate, tau)` of `dataset`, validated."""
    if mode != "fixed":
        return None, None
    paper = PAPER.get(dataset.name)
    if rate is None or tau is None:
        if paper is None:
            raise _checks.invalid_value(
                "rate",
                f"Data set '{dataset.name}' is not in the paper's table: give "
                "`rate` and `tau`, or use mode='grid'.",
                f"rate={rate!r}, tau={tau!r}",
            )
        rate = paper[4] if rate is None else rate
        tau = paper[5] if tau is None else tau
    tau = _checks.check_number(
        "tau",
        tau,
        minimum=0,
        strict=True,
        expected="a positive number (the model precision)",
    )
    return _checks.check_rate("rate", rate), tau


def run_split(
    dataset,
    k,
    mode="fixed",
    rate=None,
    tau=None,
    epochs=None,
    samples=10000,
    seed=0,
    batch_size=BATCH_SIZE,
):
    """One split of the protocol: `{"split", "rate", "tau", "rmse", "ll",
    "rmse_deterministic", "seconds"}` (grid mode adds `validation_ll`)."""
    dataset = dataset if isinstance(dataset, UCIDataset) else UCIDataset(dataset)
    start = time.perf_counter()
    rate, tau = _resolve(dataset, mode, rate, tau)
    epochs = epochs or EPOCH_MULTIPLIER * dataset.n_epochs
    train, test = dataset.split(k)
    x_train, y_train = dataset.x[train], dataset.y[train]
    chosen = {"rate": rate, "tau": tau}
    if mode == "grid":
        chosen = _grid_search(
            dataset, x_train, y_train, epochs, samples, seed + k, batch_size
        )
    scores = fit_and_evaluate(
        x_train,
        y_train,
        dataset.x[test],
        dataset.y[test],
        chosen["rate"],
        chosen["tau"],
        dataset.n_hidden,
        epochs,
        samples,
        seed + k,
        batch_size,
    )
    return {"split": k, **chosen, **scores, "seconds": time.perf_counter() - start}


def _split_job(folder, k, options):
    # Top-level, so a process pool can pickle it.
    return str(folder), run_split(str(folder), k, **options)


def _checked_options(mode, splits, epochs, samples, jobs, batch_size):
    """The protocol's options, checked: `(splits, jobs, options of run_split)`."""
    _checks.check_choice("mode", mode, MODES)
    splits = _checks.check_int("splits", splits, minimum=1, allow_none=True)
    options = {
        "mode": mode,
        "epochs": _checks.check_int("epochs", epochs, minimum=1, allow_none=True),
        "samples": _checks.check_int("samples", samples, minimum=1),
    }
    jobs = _checks.check_int("jobs", jobs, minimum=1)
    options["batch_size"] = _checks.check_int("batch_size", batch_size, minimum=1)
    return splits, jobs, options


@contextlib.contextmanager
def _one_thread_per_process():
    """TensorFlow's thread pools of one thread in the worker processes
    started inside (they read these variables when they start)."""
    env = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _run_in_processes(tasks, options, jobs, record):
    """`run_split` of every `(dataset, k)` task in `jobs` spawned processes;
    `record(folder, row)` gets each result as it comes."""
    import concurrent.futures
    import multiprocessing

    with (
        _one_thread_per_process(),
        concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("spawn")
        ) as pool,
    ):
        futures = [pool.submit(_split_job, str(d.folder), k, options) for d, k in tasks]
        for future in concurrent.futures.as_completed(futures):
            record(*future.result())


def _recorder(done, log, start):
    """`record(folder, row)`: keeps a split's row, logs one line."""

    def record(folder, row):
        done[folder].append(row)
        if log is not None:
            log(
                f"{Path(folder).name} split {row['split']}: RMSE {row['rmse']:.3f} "
                f"LL {row['ll']:.3f} (p={row['rate']}, tau={row['tau']}; "
                f"{time.perf_counter() - start:.0f} s)"
            )

    return record


def _result(dataset, rows, options):
    """One data set's entry of `run`'s list."""
    rows = sorted(rows, key=lambda r: r["split"])
    return {
        "dataset": dataset.name,
        "mode": options["mode"],
        "splits": len(rows),
        "epochs": options["epochs"] or EPOCH_MULTIPLIER * dataset.n_epochs,
        "batch_size": options["batch_size"],
        "samples": options["samples"],
        "seconds": sum(r["seconds"] for r in rows),
        "per_split": rows,
        "summary": summarize(dataset.name, rows),
    }


def run(
    data,
    mode="fixed",
    splits=None,
    epochs=None,
    samples=10000,
    rate=None,
    tau=None,
    seed=0,
    jobs=1,
    log=None,
    batch_size=BATCH_SIZE,
):
    """Runs the protocol on data set folders; returns one result per set.

    Args:
        data: a data set folder, a folder of them, or a list of folders.
        mode: "fixed" (the paper's `(p, tau)`, or `rate`/`tau` when given)
            or "grid" (chosen per split by validation log-likelihood).
        splits: run the first `splits` splits only (default: all).
        epochs: training epochs (default: 10 x n_epochs.txt, the paper's).
        samples: MC dropout passes `T` (default 10000, the paper's).
        rate: fixed-mode dropout rate for data sets the paper does not list
            (or to override it).
        tau: fixed-mode precision `tau`, likewise.
        seed: base seed; split `k` uses `seed + k`.
        jobs: worker processes (splits run in parallel; 1: in-process).
        log: optional callable receiving one progress line per split.
        batch_size: training batch size (default 32, the paper's 2016
            scripts; with 128 energy misses the paper's RMSE).

    Returns:
        A list of dicts (`dataset`, `mode`, `splits`, `epochs`,
        `batch_size`, `samples`, `seconds`, `per_split`, `summary`), one per
        data set.
    """
    splits, jobs, options = _checked_options(
        mode, splits, epochs, samples, jobs, batch_size
    )
    options.update(rate=rate, tau=tau, seed=seed)
    folders = data if isinstance(data, (list, tuple)) else find_datasets(data)
    datasets = [UCIDataset(folder) for folder in folders]
    tasks = []
    for dataset in datasets:
        _resolve(dataset, mode, rate, tau)  # fail before any training
        n = dataset.n_splits if splits is None else min(splits, dataset.n_splits)
        tasks += [(dataset, k) for k in range(n)]
    done = {str(d.folder): [] for d in datasets}
    record = _recorder(done, log, time.perf_counter())
    if jobs == 1:
        for dataset, k in tasks:
            record(str(dataset.folder), run_split(dataset, k, **options))
    else:
        _run_in_processes(tasks, options, jobs, record)
    return [_result(d, done[str(d.folder)], options) for d in datasets]


def _grid_search(dataset, x_train, y_train, epochs, samples, seed, batch_size):
    """Best `(p, tau)` by log-likelihood on the last 20% of the training rows."""
    cut = int(round(0.8 * len(x_train)))
    best = None
    for rate in dataset.dropout_rates:
        for tau in dataset.tau_values:
            scores = fit_and_evaluate(
                x_train[:cut],
                y_train[:cut],
                x_train[cut:],
                y_train[cut:],
                rate,
                tau,
                dataset.n_hidden,
                epochs,
                samples,
                seed,
                batch_size,
            )
            if best is None or scores["ll"] > best[0]:
                best = (scores["ll"], rate, tau)
    return {"rate": best[1], "tau": best[2], "validation_ll": best[0]}


def _mean_se(values):
    values = np.asarray(values, dtype="float64")
    se = (
        values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    )
    return float(values.mean()), float(se)


def summarize(name, per_split):
    """Mean +- standard error over splits, and the gap to the paper in
    combined standard errors."""
    rmse, rmse_se = _mean_se([s["rmse"] for s in per_split])
    ll, ll_se = _mean_se([s["ll"] for s in per_split])
    summary = {"rmse": rmse, "rmse_se": rmse_se, "ll": ll, "ll_se": ll_se}
    paper = PAPER.get(name)
    if paper is not None:
        summary["paper"] = {
            "rmse": paper[0],
            "rmse_se": paper[1],
            "ll": paper[2],
            "ll_se": paper[3],
            "rate": paper[4],
            "tau": paper[5],
        }
        for key, index in (("rmse", 0), ("ll", 2)):
            combined = math.hypot(summary[key + "_se"], paper[index + 1])
            gap = abs(summary[key] - paper[index])
            summary[key + "_gap_in_se"] = (
                gap / combined if combined > 0 else float("inf")
            )
            summary[key + "_within_2se"] = bool(gap <= 2 * combined)
    return summary


def markdown_table(results):
    """One row per data set: ours and the paper's RMSE and LL."""
    lines = [
        "| data set | mode | splits | epochs | batch | T | RMSE (ours) "
        "| RMSE (paper) | LL (ours) | LL (paper) | within 2 SE (RMSE / LL) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["summary"]
        p = s.get("paper")
        paper_rmse = f"{p['rmse']:.2f} ± {p['rmse_se']:.2f}" if p else "–"
        paper_ll = f"{p['ll']:.2f} ± {p['ll_se']:.2f}" if p else "–"
        within = (
            f"{'yes' if s['rmse_within_2se'] else 'no'} ({s['rmse_gap_in_se']:.1f}) / "
            f"{'yes' if s['ll_within_2se'] else 'no'} ({s['ll_gap_in_se']:.1f})"
            if p
            else "–"
        )
        lines.append(
            f"| {r['dataset']} | {r['mode']} | {r['splits']} | {r['epochs']} | "
            f"{r.get('batch_size', BATCH_SIZE)} | "
            f"{r['samples']} | {s['rmse']:.2f} ± {s['rmse_se']:.2f} | {paper_rmse} | "
            f"{s['ll']:.2f} ± {s['ll_se']:.2f} | {paper_ll} | {within} |"
        )
    return "\n".join(lines)


def select(data, names=None):
    """Data set folders under `data`, filtered by a comma-separated list."""
    folders = find_datasets(data)
    if not names:
        return folders
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    by_name = {f.name: f for f in folders}
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise _checks.value_error("datasets", f"names among {sorted(by_name)}", names)
    return [by_name[n] for n in wanted]


def write(results, out, command=None, stem="uci"):
    """Writes `<stem>.json` and `<stem>.md` into the folder `out`."""
    import json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"command": command, "results": results}
    (out / f"{stem}.json").write_text(json.dumps(payload, indent=2) + "\n")
    text = markdown_table(results)
    if command:
        text = f"`{command}`\n\n{text}"
    (out / f"{stem}.md").write_text(text + "\n")
    return out
