"""`kerasdrop demo`: four ways to train one MLP, judged on calibration and OOD.

On scikit-learn's bundled 8x8 digits (nothing is downloaded), the digits
0-8 are the in-distribution task and every image of the digit 9, never seen
in training, is the out-of-distribution (OOD) set. The same MLP
(64 -> 128 -> 128 -> 9, ReLU, softmax) is trained four ways:

- `no dropout`;
- `constant`: `kerasdrop.layers.Dropout(0.3)` after each hidden layer;
- `scheduled`: the same layers started at 0 and driven per batch by
  `kerasdrop.recipes.curriculum_dropout` (Morerio et al. 2017) to 0.3;
- `concrete`: `ConcreteDropout` wrappers on the same two places, their rates
  learned, regularizers from `concrete_regularizers(n_train)`.

Each is evaluated on the test digits with one deterministic pass and with
MC dropout (`kerasdrop.mc.predict`; not applicable without dropout), with
`kerasdrop.metrics`: accuracy, NLL, ECE, adaptive (equal-mass) ECE, Brier
score, AURC and AUGRC (selective prediction by the max probability); and
telling the unseen digit 9 from test digits by predictive entropy and by
mutual information: AUROC, FPR at 95% TPR, AUPR-in and AUPR-out. The
dropout variant with the best MC validation NLL is exported with
`kerasdrop.export(..., mc_samples=T)`, verified on the test digits
(`kerasdrop.export` loads the SavedModel back and runs both signatures).
A report folder gets `report.md`, `report.html` (images embedded: one file,
viewable offline; rendered by `kerasdrop.apps.report`), `results.json`,
five PNG plots and the exported SavedModel.

Example:

>>> from kerasdrop.apps import demo
>>> results = demo.run("/tmp/kerasdrop-demo", quick=True,
...                    verbose=0)  # doctest: +SKIP
>>> results["best"]  # doctest: +SKIP
'concrete'
"""

import contextlib
import json
import logging
import math
import os
import sys
import time

import numpy as np

from kerasdrop import _checks
from kerasdrop.serving import artifacts
from kerasdrop.apps import report

#: Where `kerasdrop demo` writes its report when `--out` is not given
#: (relative to the working directory).
DEFAULT_OUT = "kerasdrop-demo-report"
OOD_CLASS = 9
VARIANTS = ("no dropout", "constant", "scheduled", "concrete")
RATE = 0.3
HIDDEN = 128
PLOTS = {
    "rates": "rates.png",
    "curves": "curves.png",
    "reliability": "reliability.png",
    "uncertainty": "uncertainty.png",
    "risk_coverage": "risk_coverage.png",
}
REPORT_FILES = ("report.md", "report.html", "results.json") + tuple(PLOTS.values())
MODEL_DIR = "model"
#: In-distribution figures of a prediction (the first table).
TEST_METRICS = ("accuracy", "nll", "ece", "ace", "brier", "aurc", "augrc")
#: OOD detection figures, each per uncertainty score (the second table).
OOD_METRICS = ("auroc", "fpr95", "aupr_in", "aupr_out")
OOD_SCORES = {"entropy": "predictive entropy", "mi": "mutual information"}
#: Every figure of a prediction in `results.json`: `auroc_mi` and the other
#: mutual-information figures need samples (None without them).
METRICS = TEST_METRICS + tuple(f"{m}_{s}" for s in OOD_SCORES for m in OOD_METRICS)
#: The tolerances `kerasdrop.export` checks the served outputs with.
EXPORT_RTOL, EXPORT_ATOL = 1e-5, 1e-6


# ----------------------------------------------------------------------------
# The output folder, checked before any work.
# ----------------------------------------------------------------------------
def check_out_dir(out):
    """Creates `out` (with parents) and proves it writable; returns its Path.

    Raises a `ValueError` naming the problem (an existing file, a path under
    a file, no permission, ...) before anything is trained, a `TypeError`
    for a value that is not a path. An existing directory is reused: the
    demo's own files in it are replaced.

    Example:

    >>> import tempfile
    >>> check_out_dir(tempfile.mkdtemp() + "/new/report").is_dir()
    True
    >>> check_out_dir("/proc/report")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...argument `out`. Expected a writable directory; ...
    """  # noqa: E501
    path = artifacts.as_path(out, name="out").expanduser()
    if path.exists() and not path.is_dir():
        raise _checks.value_error(
            "out",
            f"a directory (new or existing), but '{path}' is an existing file",
            str(out),
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".kerasdrop-write-probe-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as err:
        raise _checks.value_error(
            "out",
            f"a writable directory; cannot create or write '{path}': "
            f"{err.strerror or err}",
            str(out),
        ) from None
    return path


# ----------------------------------------------------------------------------
# Data.
# ----------------------------------------------------------------------------
def load_data(seed=0):
    """Digits 0-8 split train/validation/test; every 9 is the OOD set.

    Returns a dict of float32 pixel arrays in [0, 1] and int32 labels:
    `x_train`, `y_train`, `x_val`, `y_val`, `x_test`, `y_test`, `x_ood`.

    Example:

    >>> data = load_data()
    >>> int(data["y_train"].max()), data["x_ood"].shape
    (8, (180, 64))
    """
    from kerasdrop.data import load_digits

    splits = load_digits(seed=seed)
    data, ood = {}, []
    for name, (x, y) in zip(("train", "val", "test"), splits):
        keep = y != OOD_CLASS
        data["x_" + name], data["y_" + name] = x[keep], y[keep]
        ood.append(x[~keep])
    data["x_ood"] = np.concatenate(ood, axis=0)
    return data


# ----------------------------------------------------------------------------
# Models.
# ----------------------------------------------------------------------------
def _dense(units, name, activation="relu"):
    import keras

    return keras.layers.Dense(units, activation=activation, name=name)


def _dropout_head(h, variant, total_steps, seed):
    """Hidden layer 2 and the softmax, with dropout unless "no dropout"."""
    import kerasdrop

    if variant == "no dropout":
        h = _dense(HIDDEN, "hidden_2")(h)
        return _dense(OOD_CLASS, "probs", "softmax")(h), None
    rate = RATE if variant == "constant" else 0.0
    h = kerasdrop.layers.Dropout(rate, seed=seed + 1, name="drop_1")(h)
    h = _dense(HIDDEN, "hidden_2")(h)
    h = kerasdrop.layers.Dropout(rate, seed=seed + 2, name="drop_2")(h)
    outputs = _dense(OOD_CLASS, "probs", "softmax")(h)
    if variant == "scheduled":
        curriculum = kerasdrop.recipes.curriculum_dropout
        return outputs, curriculum(total_steps, final_rate=RATE)
    return outputs, kerasdrop.callbacks.DropoutLogger()


def _concrete_head(h, n_train, seed):
    """Hidden layer 2 and the softmax, each wrapped in `ConcreteDropout`."""
    import kerasdrop
    from kerasdrop.layers import ConcreteDropout, concrete_regularizers

    wr, dr = concrete_regularizers(n_train, loss="cross_entropy")

    def wrap(layer, name, layer_seed):
        return ConcreteDropout(
            layer,
            weight_regularizer=wr,
            dropout_regularizer=dr,
            init_rate=0.1,
            seed=layer_seed,
            name=name,
        )

    h = wrap(_dense(HIDDEN, "hidden_2"), "concrete_1", seed + 1)(h)
    outputs = wrap(_dense(OOD_CLASS, "probs", "softmax"), "concrete_2", seed + 2)(h)
    return outputs, kerasdrop.callbacks.DropoutLogger()


def build_model(variant, n_train, total_steps, seed=0):
    """The MLP for one variant, compiled, and the callbacks its fit needs.

    `variant` is one of `VARIANTS`; `total_steps` (batches of the whole run)
    sets the curriculum of "scheduled".

    Example:

    >>> model, callbacks = build_model("concrete", n_train=970, total_steps=500)
    >>> [layer.name for layer in model.layers if "concrete" in layer.name]
    ['concrete_1', 'concrete_2']
    >>> type(callbacks[0]).__name__
    'DropoutLogger'
    """
    import keras

    _checks.check_choice("variant", variant, VARIANTS)
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((64,), name="pixels")
    h = _dense(HIDDEN, "hidden_1")(inputs)
    if variant == "concrete":
        outputs, callback = _concrete_head(h, n_train, seed)
    else:
        outputs, callback = _dropout_head(h, variant, total_steps, seed)
    model = keras.Model(inputs, outputs, name=variant.replace(" ", "_"))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model, [] if callback is None else [callback]


# ----------------------------------------------------------------------------
# Evaluation.
# ----------------------------------------------------------------------------
def _ood_scores(name, pair):
    """OOD figures of one uncertainty score `(in, out)`; None without it."""
    from kerasdrop import metrics

    functions = {
        "auroc": metrics.ood_auroc,
        "fpr95": metrics.fpr_at_tpr,
        "aupr_in": metrics.aupr_in,
        "aupr_out": metrics.aupr_out,
    }
    return {
        f"{m}_{name}": None if pair is None else functions[m](*pair)
        for m in OOD_METRICS
    }


def _scores(y, probs, entropy, mi=None):
    """`METRICS` of one prediction; `entropy` and `mi` are `(in, out)`
    uncertainty scores (test digits, unseen 9s)."""
    from kerasdrop import metrics

    scores = {
        "accuracy": float(np.mean(np.argmax(probs, axis=-1) == y)),
        "nll": metrics.negative_log_likelihood(y, probs),
        "ece": metrics.expected_calibration_error(y, probs),
        "ace": metrics.adaptive_calibration_error(y, probs),
        "brier": metrics.brier_score(y, probs),
        "aurc": metrics.aurc(y, probs),
        "augrc": metrics.augrc(y, probs),
    }
    return {**scores, **_ood_scores("entropy", entropy), **_ood_scores("mi", mi)}


def _normalized(probs):
    probs = np.asarray(probs, dtype="float64")
    return probs / probs.sum(axis=-1, keepdims=True)


def evaluate(model, data, samples, seed=0, mc_applicable=True):
    """Deterministic and MC figures of one trained model.

    Returns `(figures, arrays)`: `figures["deterministic"]` and
    `figures["mc"]` (None when `mc_applicable` is False) hold `METRICS`;
    `figures["val_nll"]` is the validation NLL of the prediction the model
    would be served with (MC when applicable); `arrays` keeps the test
    probabilities and the in/OOD uncertainty scores for the plots.
    """
    from kerasdrop import mc, metrics

    y_test, y_val = data["y_test"], data["y_val"]
    # One array, split afterwards: one compiled shape per model (JAX
    # compiles each new input shape).
    parts = [data["x_test"], data["x_ood"], data["x_val"]]
    cuts = np.cumsum([len(p) for p in parts])[:-1]
    x_all = np.concatenate(parts, axis=0)
    det, det_ood, det_val = np.split(
        _normalized(model.predict(x_all, batch_size=len(x_all), verbose=0)), cuts
    )
    h_in = metrics.predictive_entropy(det)
    h_out = metrics.predictive_entropy(det_ood)
    figures = {"deterministic": _scores(y_test, det, (h_in, h_out)), "mc": None}
    arrays = {
        "deterministic": {"probs": det, "entropy": (h_in, h_out)},
        "mc": None,
    }
    if not mc_applicable:
        figures["val_nll"] = metrics.negative_log_likelihood(y_val, det_val)
        return figures, arrays
    # task given: a softmax Dense wrapped in ConcreteDropout hides its
    # activation from the automatic detection.
    result = mc.predict(
        model,
        x_all,
        samples=samples,
        seed=seed,
        batch_size=len(x_all),
        verbose=0,
        task="classification",
    )
    probs, probs_ood, probs_val = np.split(_normalized(result.mean), cuts)
    entropy = np.split(result.predictive_entropy, cuts)[:2]
    mi = np.split(result.mutual_information, cuts)[:2]
    figures["mc"] = _scores(y_test, probs, entropy, mi)
    figures["val_nll"] = metrics.negative_log_likelihood(y_val, probs_val)
    arrays["mc"] = {
        "probs": probs,
        "entropy": (entropy[0], entropy[1]),
        "mi": (mi[0], mi[1]),
    }
    return figures, arrays


# ----------------------------------------------------------------------------
# Export.
# ----------------------------------------------------------------------------
def _declared_signatures(path):
    """Signature name -> output names, as `saved_model.pb` declares them
    (what `saved_model_cli show` prints; nothing is loaded or run). The
    internal `__saved_model_init_op` is left out, as `.signatures` does."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    signatures = proto.meta_graphs[0].signature_def
    return {
        name: sorted(sig.outputs)
        for name, sig in signatures.items()
        if not name.startswith("__")
    }


def export_best(model, path, samples, x):
    """`kerasdrop.export` with an `mc` signature, verified on `x`.

    `kerasdrop.export` loads the SavedModel back before it returns, checks
    that `serving_default` matches `model(x, training=False)` on `x` (within
    `EXPORT_RTOL`, `EXPORT_ATOL`) and that the `mc` signature is finite on
    `x`, and raises if not. Returns what the report states: the path, the
    rows verified, the tolerances, and the signatures and `mc` outputs that
    `saved_model.pb` declares.
    """
    import kerasdrop

    target = kerasdrop.export(
        model,
        path,
        mc_samples=samples,
        overwrite=True,
        classifier="softmax",
        sample_inputs=x,
        rtol=EXPORT_RTOL,
        atol=EXPORT_ATOL,
    )
    signatures = _declared_signatures(target)
    return {
        "path": str(target),
        "signatures": sorted(signatures),
        "mc_samples": samples,
        "mc_outputs": signatures["mc"],
        "verified_on": len(x),
        "rtol": EXPORT_RTOL,
        "atol": EXPORT_ATOL,
    }


def _export_step(model, out, results, x, stream):
    """Exports the best model; a failure is recorded, not raised."""
    _say(stream, f"\nExporting '{results['best']}' (best MC validation NLL) ...")
    t0 = time.perf_counter()
    try:
        info = export_best(model, out / MODEL_DIR, results["mc_samples"], x)
        info["error"] = None
        _say(
            stream,
            f"SavedModel verified: {info['path']} (signatures "
            f"{', '.join(info['signatures'])}; kerasdrop.export reloaded it: "
            f"serving_default matches the model on the {info['verified_on']} "
            f"test digits to rtol={info['rtol']:g}, atol={info['atol']:g}).",
        )
    except Exception as err:  # reported, and the exit status says so
        info = {"path": str(out / MODEL_DIR), "error": f"{type(err).__name__}: {err}"}
        _say(stream, f"Export FAILED: {info['error']}")
    info["seconds"] = round(time.perf_counter() - t0, 2)
    return info


# ----------------------------------------------------------------------------
# The run.
# ----------------------------------------------------------------------------
def _count(name, value, minimum, default):
    return default if value is None else _checks.check_int(name, value, minimum=minimum)


def _say(stream, text=""):
    print(text, file=stream, flush=True)


def run(
    out=DEFAULT_OUT,
    epochs=None,
    quick=False,
    seed=0,
    samples=None,
    batch_size=64,
    export_model=True,
    verbose=1,
    stream=None,
):
    """Runs the demo and writes the report folder; returns the results dict.

    Args:
        out: report directory (created; checked writable before training).
        epochs: epochs per variant (default 30, or 3 with `quick`).
        quick: a smoke test: 3 epochs, 10 MC samples.
        seed: seeds data split, initialisation and dropout masks.
        samples: MC dropout samples (default 50, or 10 with `quick`).
        batch_size: training batch size.
        export_model: export and verify the best model.
        verbose: Keras `fit` verbosity (1: progress bars).
        stream: where to print (default `sys.stdout`).

    Returns:
        The dict written to `results.json`; `results["export"]["error"]` is
        set when the export failed (the rest of the report is still
        written).
    """
    epochs = _count("epochs", epochs, 1, 3 if quick else 30)
    samples = _count("samples", samples, 2, 10 if quick else 50)
    batch_size = _count("batch_size", batch_size, 1, 64)
    settings = {
        "epochs": epochs,
        "batch_size": batch_size,
        "mc_samples": samples,
        "seed": seed,
        "quick": bool(quick),
    }
    out = check_out_dir(out)
    with _quiet_retracing():
        return _run(out, settings, export_model, verbose, stream or sys.stdout)


@contextlib.contextmanager
def _quiet_retracing():
    """Mutes TensorFlow's "N out of the last N calls ... triggered
    tf.function retracing" warning for the demo's duration: it counts
    functions across the four models, each traced once, so here it is a
    false alarm that buried the demo's own output. Other TensorFlow
    warnings still show; the filter is removed afterwards."""
    logger = logging.getLogger("tensorflow")

    def not_retracing(record):
        return "triggered tf.function retracing" not in record.getMessage()

    logger.addFilter(not_retracing)
    try:
        yield
    finally:
        logger.removeFilter(not_retracing)


def _describe_data(data, results, stream):
    """Puts the split sizes into `results` and prints the opening line."""
    results["data"] = {
        "train": len(data["x_train"]),
        "validation": len(data["x_val"]),
        "test": len(data["x_test"]),
        "ood": len(data["x_ood"]),
        "ood_class": OOD_CLASS,
    }
    d = results["data"]
    _say(
        stream,
        f"kerasdrop demo ({results['backend']} backend): digits 0-8, "
        f"{d['train']} train / {d['validation']} validation / {d['test']} "
        f"test; out of distribution: the {d['ood']} images of digit "
        f"{OOD_CLASS} (never trained on). {results['epochs']} epochs per "
        f"variant, {results['mc_samples']} MC samples.",
    )


def _rates_from_history(history):
    prefix = "dropout/"
    return {
        key[len(prefix) :]: [float(v) for v in values]
        for key, values in history.items()
        if key.startswith(prefix)
    }


def _train(variant, data, results, verbose):
    """Builds and fits one variant: `(model, history, rates per epoch,
    seconds fitting)`, the rates starting with each layer's rate before
    training."""
    from kerasdrop import graph

    batch_size, epochs = results["batch_size"], results["epochs"]
    steps = -(-len(data["x_train"]) // batch_size)
    model, callbacks = build_model(
        variant, len(data["x_train"]), steps * epochs, results["seed"]
    )
    initial = {layer.name: layer.rate for layer in graph.dropout_layers(model)}
    t0 = time.perf_counter()
    history = model.fit(
        data["x_train"],
        data["y_train"],
        validation_data=(data["x_val"], data["y_val"]),
        epochs=epochs,
        batch_size=batch_size,
        callbacks=callbacks,
        verbose=verbose,
    ).history
    seconds = time.perf_counter() - t0
    rates = {
        name: [initial[name]] + values
        for name, values in _rates_from_history(history).items()
    }
    return model, history, rates, seconds


def _plot_data(y_test, arrays):
    """One variant's reliability diagrams, risk-coverage curves and in/OOD
    uncertainty scores."""
    from kerasdrop import metrics

    det, mc = arrays["deterministic"], arrays["mc"]
    modes = {"deterministic": det["probs"]}
    if mc is not None:
        modes["MC dropout"] = mc["probs"]
    uncertainty = {
        "predictive entropy": det["entropy"] if mc is None else mc["entropy"],
        "mutual information": None if mc is None else mc["mi"],
    }
    return {
        "reliability": {
            mode: metrics.reliability_diagram(y_test, probs)
            for mode, probs in modes.items()
        },
        "risk_coverage": {
            mode: metrics.risk_coverage_curve(y_test, probs)
            for mode, probs in modes.items()
        },
        "uncertainty": uncertainty,
    }


def _run_variant(variant, data, results, verbose, stream):
    """Trains and evaluates one variant, records its figures in `results`;
    returns its model and what the plots show of it."""
    _say(stream, f"\n== {variant} ==")
    model, history, rates, fit_seconds = _train(variant, data, results, verbose)
    t0 = time.perf_counter()
    figures, arrays = evaluate(
        model,
        data,
        results["mc_samples"],
        results["seed"],
        mc_applicable=variant != "no dropout",
    )
    eval_seconds = time.perf_counter() - t0
    results["variants"][variant] = {
        **figures,
        "final_rates": {k: v[-1] for k, v in rates.items()},
        "fit_seconds": round(fit_seconds, 2),
        "eval_seconds": round(eval_seconds, 2),
    }
    det, mcf = figures["deterministic"], figures["mc"]
    line = f"{variant}: deterministic acc {det['accuracy']:.3f} NLL {det['nll']:.3f}"
    if mcf is not None:
        line += f"; MC acc {mcf['accuracy']:.3f} NLL {mcf['nll']:.3f}"
    _say(stream, line)
    return model, {
        "rates": rates,
        "curves": history,
        **_plot_data(data["y_test"], arrays),
    }


def _run(out, settings, export_model, verbose, stream):
    start = time.perf_counter()
    import keras

    results = {"backend": keras.backend.backend(), **settings}
    data = load_data(settings["seed"])
    _describe_data(data, results, stream)
    results["variants"] = {}
    models, shown = {}, {}
    for variant in VARIANTS:
        models[variant], shown[variant] = _run_variant(
            variant, data, results, verbose, stream
        )
    candidates = [v for v in VARIANTS if v != "no dropout"]
    best = min(candidates, key=lambda v: results["variants"][v]["val_nll"])
    results["best"] = best
    results["export"] = None
    if export_model:
        results["export"] = _export_step(
            models[best], out, results, data["x_test"], stream
        )
    _plot(shown, out)
    results["seconds"] = round(time.perf_counter() - start, 1)
    _write_report(results, out, stream)
    return results


def _plot(shown, out):
    """The PNG plots, from what `_run_variant` kept of each variant."""
    from kerasdrop import plots

    def of(kind):
        return {variant: kept[kind] for variant, kept in shown.items()}

    plots.plot_rates(of("rates"), out / PLOTS["rates"], first_epoch=0)
    plots.plot_curves(of("curves"), out / PLOTS["curves"])
    plots.plot_reliability(of("reliability"), out / PLOTS["reliability"])
    plots.plot_uncertainty(of("uncertainty"), out / PLOTS["uncertainty"])
    plots.plot_risk_coverage(of("risk_coverage"), out / PLOTS["risk_coverage"])


def _write_report(results, out, stream):
    """results.json, report.md and report.html; prints the table."""
    (out / "results.json").write_text(json.dumps(_jsonable(results), indent=2))
    blocks = report_blocks(results)
    (out / "report.md").write_text(report.render_markdown(blocks))
    (out / "report.html").write_text(report.render_html(blocks, out))
    tables = [b for b in blocks if b[0] == "table"]
    _say(stream, "\n" + report.render_markdown(tables[:1]))
    if "no dropout" in results["variants"]:
        _say(stream, against_baseline(results))
    _say(stream, "\nOOD detection (unseen 9s vs test digits):\n")
    _say(stream, report.render_markdown(tables[1:]))
    _say(stream, f"Report: {(out / 'report.html').resolve()}")
    _say(stream, f"        {(out / 'report.md').resolve()}  ({results['seconds']} s)")


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


# ----------------------------------------------------------------------------
# The report's content: one list of blocks (`kerasdrop.apps.report`).
# ----------------------------------------------------------------------------


#: Decimals shown per figure (AURC and AUGRC of a 97%-accurate model are
#: a few thousandths): 3 unless listed.
DECIMALS = {"aurc": 4, "augrc": 4}


def _fmt(value, decimals=3):
    if value is None:
        return "n/a"
    return f"{value:.{decimals}f}" if math.isfinite(value) else str(value)


MODES = (("deterministic", "deterministic"), ("mc", "MC dropout"))


def results_table(results):
    """Header and rows of the results table on the test digits (one row
    per variant and mode; `TEST_METRICS`).

    Example:

    >>> figures = dict(zip(TEST_METRICS, [0.9, 0.3, 0.05, 0.04, 0.1, 0.02, 0.01]))
    >>> header, rows = results_table(
    ...     {"variants": {"none": {"deterministic": figures, "mc": None}}})
    >>> rows[0]
    ['none', 'deterministic', '0.900', '0.300', '0.050', '0.040', '0.100', '0.0200', '0.0100']
    >>> rows[1][2:] == ["n/a"] * len(TEST_METRICS)
    True
    """  # noqa: E501
    header = ["variant", "prediction", "accuracy", "NLL", "ECE", "adaptive ECE"]
    header += ["Brier", "AURC", "AUGRC"]
    rows = []
    for variant, figures in results["variants"].items():
        for mode, label in MODES:
            values = figures[mode]
            if values is None:
                rows.append([variant, label] + ["n/a"] * len(TEST_METRICS))
            else:
                rows.append(
                    [variant, label]
                    + [_fmt(values[m], DECIMALS.get(m, 3)) for m in TEST_METRICS]
                )
    return header, rows


def ood_table(results):
    """Header and rows of the OOD detection table: one row per variant,
    mode and uncertainty score that applies (`OOD_METRICS`).

    Example:

    >>> figures = {"auroc_entropy": 0.93, "fpr95_entropy": 0.41,
    ...            "aupr_in_entropy": 0.97, "aupr_out_entropy": 0.8}
    >>> figures.update(dict.fromkeys(["auroc_mi", "fpr95_mi", "aupr_in_mi",
    ...                               "aupr_out_mi"]))
    >>> ood_table({"variants": {"none": {"deterministic": figures, "mc": None}}})[1]
    [['none', 'deterministic', 'predictive entropy', '0.930', '0.410', '0.970', '0.800']]
    """  # noqa: E501
    header = ["variant", "prediction", "score", "AUROC", "FPR at 95% TPR"]
    header += ["AUPR-in", "AUPR-out"]
    rows = []
    for variant, figures in results["variants"].items():
        for mode, label in MODES:
            if figures[mode] is None:
                continue
            for key, name in OOD_SCORES.items():
                values = [figures[mode][f"{m}_{key}"] for m in OOD_METRICS]
                if values[0] is not None:
                    rows.append([variant, label, name] + [_fmt(v) for v in values])
    return header, rows


def against_baseline(results, baseline="no dropout", keys=("nll", "brier")):
    """Which variant and mode beats the baseline's deterministic figures.

    Computed from the table, so the report never claims more than it shows.

    Example:

    >>> f = lambda nll, brier: {"nll": nll, "brier": brier}
    >>> against_baseline({"variants": {
    ...     "no dropout": {"deterministic": f(0.15, 0.05), "mc": None},
    ...     "constant": {"deterministic": f(0.13, 0.04), "mc": f(0.14, 0.06)}}})
    'Against no dropout (deterministic), lower NLL and Brier: constant (deterministic). Lower NLL only: constant (MC dropout).'
    """  # noqa: E501
    base = results["variants"][baseline]["deterministic"]
    groups = {}
    for variant, figures in results["variants"].items():
        for mode, label in MODES:
            if variant == baseline or figures[mode] is None:
                continue
            better = tuple(k for k in keys if figures[mode][k] < base[k])
            groups.setdefault(better, []).append(f"{variant} ({label})")
    names = {"nll": "NLL", "brier": "Brier"}
    parts = []
    for better in sorted(groups, key=len, reverse=True):
        head = "lower on neither"
        if better:
            head = "lower " + " and ".join(names.get(k, k) for k in better)
            head += " only" if len(better) < len(keys) else ""
        parts.append(f"{head}: {', '.join(groups[better])}")
    text = f"Against {baseline} (deterministic), " + ". ".join(parts) + "."
    return text.replace(". lower", ". Lower")


def _intro_blocks(results):
    """Title, data, model and the four variants."""
    d = results["data"]
    return [
        ("h1", "kerasdrop demo report"),
        (
            "p",
            (
                f"Data: scikit-learn's bundled 8x8 digits. In distribution: digits "
                f"0-8 ({d['train']} train, {d['validation']} validation, "
                f"{d['test']} test). Out of distribution (OOD): all {d['ood']} "
                f"images of the digit {d['ood_class']}, which no model saw in "
                "training."
            ),
        ),
        (
            "p",
            (
                f"Model: 64 -> Dense({HIDDEN}, relu) -> Dense({HIDDEN}, relu) -> "
                f"Dense(9, softmax), dropout on both hidden outputs; Adam 1e-3, "
                f"batch {results['batch_size']}, {results['epochs']} epochs, seed "
                f"{results['seed']}, {results['backend']} backend; MC dropout with "
                f"{results['mc_samples']} samples (`kerasdrop.mc.predict`)."
            ),
        ),
        (
            "ul",
            [
                "**no dropout**: the plain MLP (MC dropout does not apply).",
                f"**constant**: `kerasdrop.layers.Dropout({RATE})`.",
                "**scheduled**: the same layers from rate 0, driven per batch by "
                "`kerasdrop.recipes.curriculum_dropout(total_steps, "
                f"final_rate={RATE})`.",
                "**concrete**: `ConcreteDropout` wrappers, rates learned "
                "(regularizers from `concrete_regularizers(n_train, "
                'loss="cross_entropy")`, initial p = 0.1).',
            ],
        ),
    ]


def _results_blocks(results):
    """The tables, how to read them, the comparison and the final rates."""
    header, rows = results_table(results)
    ood_header, ood_rows = ood_table(results)
    blocks = [
        ("h2", "Results on the test digits"),
        ("table", header, rows),
        (
            "p",
            "Lower is better for every column but accuracy: NLL (nats); ECE "
            "(15 equal-width bins) and adaptive ECE (15 bins of equal count, "
            "Nixon et al. 2019); Brier; AURC, the mean error rate of the "
            "accepted digits when the most confident (max probability) are "
            "accepted first, over every coverage (Geifman & El-Yaniv 2017); and "
            "AUGRC, the same area with the fraction of all digits that are "
            "accepted and wrong (Traub et al. 2024).",
        ),
    ]
    if "no dropout" in results["variants"]:
        blocks.append(("p", against_baseline(results)))
    blocks += [
        ("h2", "Telling the unseen 9s from test digits"),
        ("table", ood_header, ood_rows),
        (
            "p",
            "A higher uncertainty score flags a digit as out of distribution. "
            "AUROC: the probability that an unseen 9 scores higher than a test "
            "digit (0.5: chance). FPR at 95% TPR: the fraction of test digits "
            "flagged when the threshold catches 95% of the 9s (lower is "
            "better). AUPR-in and AUPR-out: average precision of finding the "
            "test digits (by a low score), respectively the 9s (Hendrycks & "
            "Gimpel 2017). Mutual information needs samples, so it has no "
            "deterministic row.",
        ),
    ]
    rates = {
        v: ", ".join(f"{k} {r:.3f}" for k, r in f["final_rates"].items()) or "none"
        for v, f in results["variants"].items()
    }
    blocks.append(
        (
            "p",
            "Dropout rates at the end of training: "
            + "; ".join(f"{v}: {r}" for v, r in rates.items())
            + ".",
        )
    )
    return blocks


def _export_text(results):
    """What the export of the best model did, or why there is none."""
    info = results.get("export")
    if info is None:
        return "Export skipped (`--no-export`)."
    if info.get("error"):
        return (
            f"The best variant, **{results['best']}**, could not be exported: "
            f"{info['error']}"
        )
    return (
        f"The best dropout variant by MC validation NLL, "
        f"**{results['best']}**, was exported with "
        f"`kerasdrop.export(model, '{MODEL_DIR}', mc_samples="
        f"{info['mc_samples']}, sample_inputs=x_test)` to `{info['path']}`, "
        f"which loaded it back with `tf.saved_model.load` and checked it on "
        f"the {info['verified_on']} test digits: `serving_default` (dropout "
        f"stripped, deterministic) matches `model(x, training=False)` to "
        f"rtol={info['rtol']:g}, atol={info['atol']:g}, and the `mc` "
        f"signature returns finite values. Signatures: "
        f"{', '.join(info['signatures'])}; `mc` returns "
        f"{', '.join(info['mc_outputs'])}."
    )


def _plot_blocks():
    """The plots, each with its heading and caption."""
    return [
        ("h2", "Plots"),
        ("h3", "Dropout rate per epoch"),
        (
            "p",
            "Scheduled rates as set by the recipe, learned Concrete rates "
            "as logged by `DropoutLogger` (end of each epoch).",
        ),
        ("img", PLOTS["rates"], "dropout rate per epoch"),
        ("h3", "Training and validation curves"),
        ("p", "Training loss includes the Concrete Dropout regularizer."),
        ("img", PLOTS["curves"], "training and validation curves"),
        ("h3", "Reliability diagrams (test digits)"),
        ("img", PLOTS["reliability"], "reliability diagrams"),
        ("h3", "Risk-coverage curves (test digits)"),
        (
            "p",
            "Error rate of the accepted digits when only the most confident "
            "(max probability) are accepted, against the fraction accepted; "
            "the legend gives each curve's AURC.",
        ),
        ("img", PLOTS["risk_coverage"], "risk-coverage curves"),
        ("h3", "Uncertainty in and out of distribution"),
        (
            "p",
            "MC dropout scores for the dropout variants, the deterministic "
            "entropy for the model without dropout.",
        ),
        ("img", PLOTS["uncertainty"], "uncertainty histograms"),
    ]


def report_blocks(results):
    """The report as a list of blocks (see `kerasdrop.apps.report`):
    `("h1", text)`, `("p", text)`, `("ul", items)`,
    `("table", header, rows)`, `("img", file, alt)`."""
    return (
        _intro_blocks(results)
        + _results_blocks(results)
        + [("h2", "Exported model"), ("p", _export_text(results))]
        + _plot_blocks()
        + [("p", f"Generated by `kerasdrop demo` in {results['seconds']} s.")]
    )
