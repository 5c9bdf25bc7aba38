"""The demo's run: `run(...)`, which trains, evaluates, exports and reports.

`run` checks its arguments and the report folder before any work, then
trains and evaluates each of `VARIANTS` in turn, printing as it goes,
exports the best dropout variant (a failure is recorded, not raised), and
writes `results.json`, the plots, `report.md` and `report.html`.
"""

import contextlib
import json
import logging
import sys
import time

import numpy as np

from kerasdrop.apps import report
from kerasdrop.apps.demo import content, evaluation, exporting, models
from kerasdrop.apps.demo.settings import (
    DEFAULT_OUT,
    MODEL_DIR,
    OOD_CLASS,
    VARIANTS,
    check_count,
    check_out_dir,
)


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
    epochs = check_count("epochs", epochs, 1, 3 if quick else 30)
    samples = check_count("samples", samples, 2, 10 if quick else 50)
    batch_size = check_count("batch_size", batch_size, 1, 64)
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


def _run_variant(variant, data, results, verbose, stream):
    """Trains and evaluates one variant, records its figures in `results`;
    returns its model and what the plots show of it."""
    _say(stream, f"\n== {variant} ==")
    model, history, rates, fit_seconds = models.train(variant, data, results, verbose)
    t0 = time.perf_counter()
    figures, arrays = evaluation.evaluate(
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
        **evaluation.plot_data(data["y_test"], arrays),
    }


def _run(out, settings, export_model, verbose, stream):
    start = time.perf_counter()
    import keras

    results = {"backend": keras.backend.backend(), **settings}
    data = models.load_data(settings["seed"])
    _describe_data(data, results, stream)
    results["variants"] = {}
    trained, shown = {}, {}
    for variant in VARIANTS:
        trained[variant], shown[variant] = _run_variant(
            variant, data, results, verbose, stream
        )
    candidates = [v for v in VARIANTS if v != "no dropout"]
    best = min(candidates, key=lambda v: results["variants"][v]["val_nll"])
    results["best"] = best
    results["export"] = None
    if export_model:
        results["export"] = _export_step(
            trained[best], out, results, data["x_test"], stream
        )
    content.write_plots(shown, out)
    results["seconds"] = round(time.perf_counter() - start, 1)
    _write_report(results, out, stream)
    return results


def _write_report(results, out, stream):
    """results.json, report.md and report.html; prints the table."""
    (out / "results.json").write_text(json.dumps(_jsonable(results), indent=2))
    blocks = content.report_blocks(results)
    (out / "report.md").write_text(report.render_markdown(blocks))
    (out / "report.html").write_text(report.render_html(blocks, out))
    tables = [b for b in blocks if b[0] == "table"]
    _say(stream, "\n" + report.render_markdown(tables[:1]))
    if "no dropout" in results["variants"]:
        _say(stream, content.against_baseline(results))
    _say(stream, "\nOOD detection (unseen 9s vs test digits):\n")
    _say(stream, report.render_markdown(tables[1:]))
    _say(stream, f"Report: {(out / 'report.html').resolve()}")
    _say(stream, f"        {(out / 'report.md').resolve()}  ({results['seconds']} s)")


def _export_step(model, out, results, x, stream):
    """Exports the best model; a failure is recorded, not raised."""
    _say(stream, f"\nExporting '{results['best']}' (best MC validation NLL) ...")
    t0 = time.perf_counter()
    try:
        info = exporting.export_best(model, out / MODEL_DIR, results["mc_samples"], x)
        info["error"] = None
        _say(stream, _export_line(info))
    except Exception as err:  # reported, and the exit status says so
        info = {"path": str(out / MODEL_DIR), "error": f"{type(err).__name__}: {err}"}
        _say(stream, f"Export FAILED: {info['error']}")
    info["seconds"] = round(time.perf_counter() - t0, 2)
    return info


def _export_line(info):
    """The console line of a verified export."""
    check = (
        f"on the {info['verified_on']} test digits to rtol={info['rtol']:g}, "
        f"atol={info['atol']:g}"
    )
    if info["format"] == "onnx":
        return (
            f"ONNX verified: {info['path']} (the torch backend serves through "
            f"ONNX; onnxruntime ran it: it matches the model {check})."
        )
    return (
        f"SavedModel verified: {info['path']} (signatures "
        f"{', '.join(info['signatures'])}; kerasdrop.export reloaded it: "
        f"serving_default matches the model {check})."
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value
