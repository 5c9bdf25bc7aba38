"""`kerasdrop demo`: the report folder, its plots and numbers, bad `--out`."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from kerasdrop.apps import cli
from kerasdrop.apps import demo as demo_lib
from kerasdrop.apps.demo import models as demo_models
from kerasdrop.apps import report

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _command():
    """The installed console script when there is one, else `python -m`."""
    exe = shutil.which("kerasdrop")
    return [exe] if exe else [sys.executable, "-m", "kerasdrop"]


def _finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


@pytest.mark.slow
@pytest.mark.one_backend  # the demo's library parts are tested on every backend
def test_quick_demo_writes_the_whole_report(tmp_path):
    out = tmp_path / "report"
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.run(
        _command() + ["demo", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    # Keras progress bars, and where the report is.
    assert "Epoch 3/3" in run.stdout
    assert f"Report: {(out / 'report.html').resolve()}" in run.stdout
    # No TensorFlow retracing false alarm buries the demo's own lines.
    assert "retracing" not in run.stdout + run.stderr
    # The reading is computed from the table, printed and in the report.
    assert "Against no dropout (deterministic), lower" in run.stdout
    assert (
        "Against no dropout (deterministic), lower" in (out / "report.md").read_text()
    )

    for name in demo_lib.REPORT_FILES:
        assert (out / name).is_file(), name
    for name in demo_lib.PLOTS.values():
        data = (out / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE, name
        assert len(data) > 5_000, name
        import matplotlib.image

        pixels = matplotlib.image.imread(out / name)
        height, width = pixels.shape[:2]
        assert width > 200 and height > 200, (name, pixels.shape)
        assert pixels[..., :3].std() > 0.01, name  # not a blank canvas

    results = json.loads((out / "results.json").read_text())
    assert list(results["variants"]) == list(demo_lib.VARIANTS)
    for variant, figures in results["variants"].items():
        assert set(figures["deterministic"]) == set(demo_lib.METRICS)
        for metric, value in figures["deterministic"].items():
            if metric.endswith("_mi"):  # mutual information needs samples
                assert value is None
            else:
                assert _finite(value), (variant, metric, value)
        assert _finite(figures["val_nll"])
        if variant == "no dropout":
            assert figures["mc"] is None and figures["final_rates"] == {}
        else:
            assert all(_finite(v) for v in figures["mc"].values()), variant
            assert set(figures["mc"]) == set(demo_lib.METRICS)
            assert figures["final_rates"] and all(
                0.0 < r < 1.0 for r in figures["final_rates"].values()
            ), variant
        acc = figures["deterministic"]["accuracy"]
        assert 0.5 < acc <= 1.0, (variant, acc)  # 3 epochs learn something
        for mode in ("deterministic", "mc"):
            f = figures[mode]
            if f is None:
                continue
            # AUGRC <= AURC (generalized risk = risk x coverage); both below
            # the error rate of a useful confidence; rates in [0, 1].
            assert 0 <= f["augrc"] <= f["aurc"] <= 1 - f["accuracy"] + 1e-9
            assert 0 <= f["ace"] <= 1 and 0 <= f["fpr95_entropy"] <= 1
            assert 0 < f["aupr_in_entropy"] <= 1 and 0 < f["aupr_out_entropy"] <= 1

    # The exported best model: kerasdrop.export reloaded it and ran both
    # signatures on the test digits, serving_default within 1e-4 of predict.
    export = results["export"]
    assert export["error"] is None
    assert results["best"] in demo_lib.VARIANTS[1:]
    assert export["verified_on"] == results["data"]["test"]
    assert export["atol"] + export["rtol"] < 1e-4  # probabilities <= 1
    if keras.backend.backend() == "torch":  # Keras writes no SavedModel there
        assert export["format"] == "onnx" and export["signatures"] == []
        assert "ONNX verified:" in run.stdout
        assert (out / (demo_lib.MODEL_DIR + ".onnx")).is_file()
        assert (
            "exported with `kerasdrop.export(model, 'model.onnx'"
            in (out / "report.md").read_text()
        )
    else:
        assert export["format"] == "tf_saved_model"
        assert {"serving_default", "mc"} <= set(export["signatures"])
        assert {"output_0_mean", "output_0_std", "output_0_entropy"} <= set(
            export["mc_outputs"]
        )
        assert "SavedModel verified:" in run.stdout
        assert (out / demo_lib.MODEL_DIR / "saved_model.pb").is_file()

    # Markdown links the PNGs; HTML embeds them and needs no other file.
    md = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    for name in demo_lib.PLOTS.values():
        assert f"]({name})" in md
        assert f'src="{name}"' not in page
    assert page.count('src="data:image/png;base64,') == len(demo_lib.PLOTS)
    header, rows = demo_lib.results_table(results)
    assert len(rows) == 2 * len(demo_lib.VARIANTS)
    assert "| " + " | ".join(rows[0]) + " |" in md
    assert all(f"<td>{cell}</td>" in page for cell in rows[-1][2:])
    for column in ("adaptive ECE", "AURC", "AUGRC"):
        assert column in header and f"| {column} |" in md
    # The OOD table: entropy for every variant and mode, mutual information
    # for the three MC dropout rows.
    header, rows = demo_lib.ood_table(results)
    assert header[3:] == ["AUROC", "FPR at 95% TPR", "AUPR-in", "AUPR-out"]
    assert len(rows) == len(demo_lib.VARIANTS) + 3 * 2
    assert all("| " + " | ".join(row) + " |" in md for row in rows)
    assert "| " + " | ".join(rows[-1]) + " |" in run.stdout  # printed too
    assert all(f"<td>{cell}</td>" in page for cell in rows[-1][3:])
    assert "![risk-coverage curves](risk_coverage.png)" in md


@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if the demo gets as far as building a model."""

    def refuse(*args, **kwargs):
        raise AssertionError("the demo started training despite a bad --out")

    # Patched where the run looks them up: `kerasdrop.apps.demo.models`.
    monkeypatch.setattr(demo_models, "build_model", refuse)
    monkeypatch.setattr(demo_models, "load_data", refuse)


@pytest.mark.parametrize("where", ["file", "under_file", "proc"])
def test_bad_out_is_refused_before_training(where, tmp_path, capsys, no_training):
    a_file = tmp_path / "taken"
    a_file.write_text("not a directory")
    out = {
        "file": a_file,
        "under_file": a_file / "report",
        "proc": Path("/proc/kerasdrop-demo-report"),  # unwritable, even as root
    }[where]
    code = cli.main(["demo", "--quick", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert "kerasdrop demo: error: Invalid value received for argument `out`" in (
        captured.err
    )
    assert str(out) in captured.err
    assert "Epoch" not in captured.out and captured.out == ""
    assert a_file.read_text() == "not a directory"  # nothing lost


def test_run_checks_arguments_before_training(tmp_path, no_training):
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="is an existing file"):
        demo_lib.run(out=a_file, verbose=0)
    with pytest.raises(ValueError, match="Received: samples=1"):
        demo_lib.run(out=tmp_path / "r", samples=1, verbose=0)
    with pytest.raises(ValueError, match="Received: epochs=0"):
        demo_lib.run(out=tmp_path / "r", epochs=0, verbose=0)


def test_existing_directory_is_reused(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    assert demo_lib.check_out_dir(tmp_path) == tmp_path
    assert (tmp_path / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]  # no probe left
    nested = tmp_path / "a" / "b"
    assert demo_lib.check_out_dir(nested).is_dir()


def test_default_out_is_a_folder_in_the_working_directory():
    args = cli.build_parser().parse_args(["demo"])
    assert args.out == demo_lib.DEFAULT_OUT == "kerasdrop-demo-report"
    assert not os.path.isabs(args.out)
    assert args.epochs is None and args.samples is None and not args.quick


def test_cli_refuses_too_few_samples(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["demo", "--samples", "1"])
    assert info.value.code == 2
    assert "Received: samples='1'" in capsys.readouterr().err


def test_html_escapes_and_embeds(tmp_path):
    from kerasdrop import plots

    plots.plot_rates({"a<b": {"drop": [0.1, 0.2]}}, tmp_path / "r.png")
    blocks = [
        ("h1", "T & <x>"),
        ("p", "uses `code` and **bold**"),
        ("table", ["a", "b"], [["1", "<2>"]]),
        ("img", "r.png", "rates"),
    ]
    page = report.render_html(blocks, tmp_path)
    assert "<h1>T &amp; &lt;x&gt;</h1>" in page
    assert "<code>code</code>" in page and "<b>bold</b>" in page
    assert "<td>&lt;2&gt;</td>" in page
    assert "data:image/png;base64," in page
    md = report.render_markdown(blocks)
    assert "| 1 | <2> |" in md and "![rates](r.png)" in md
    assert plots.image_size(tmp_path / "r.png")[0] > 200


def test_plots_refuse_empty_input(tmp_path):
    from kerasdrop import plots

    for fn in (
        plots.plot_rates,
        plots.plot_curves,
        plots.plot_reliability,
        plots.plot_uncertainty,
        plots.plot_risk_coverage,
    ):
        with pytest.raises(ValueError, match="non-empty dict"):
            fn({}, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
    with pytest.raises(ValueError, match="not a PNG"):
        (tmp_path / "y.txt").write_text("hello, world, not a png")
        plots.image_size(tmp_path / "y.txt")
