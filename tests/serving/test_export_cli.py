"""`kerasdrop inspect` and `kerasdrop export`: the dropout table, the
variance-shift warning and the export command."""

import io

import keras
import pytest
from export_models import kind_model, load_signatures

import kerasdrop
from kerasdrop import layers as L
from kerasdrop.apps import cli
from kerasdrop.inspection import dropout_summary, variance_shift_warnings


def bn_model():
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8),
            L.Dropout(kerasdrop.schedules.Linear(0.0, 0.5, 10), name="sched"),
            keras.layers.BatchNormalization(name="bn"),
            L.GaussianDropout(0.2, mc=True, name="mc_noise"),
            keras.layers.GaussianNoise(0.1, name="noise"),
            keras.layers.Dense(1),
        ]
    )


def test_inspect_table_and_variance_shift_warning(tmp_path, capsys):
    model = bn_model()
    model.get_layer("sched").step = 4
    rows = {r["name"]: r for r in dropout_summary(model)}
    assert rows["sched"]["rate"] == "0.2" and rows["sched"]["step"] == 4
    assert rows["sched"]["schedule"].startswith("Linear(")
    assert rows["mc_noise"]["mc"] == "on" and rows["noise"]["mc"] == "n/a"
    assert rows["noise"]["kind"] == "keras.GaussianNoise"
    (warning,) = variance_shift_warnings(model)
    assert "'sched'" in warning and "'bn'" in warning
    model.save(tmp_path / "m.keras")
    assert cli.main(["inspect", str(tmp_path / "m.keras")]) == 0
    out = capsys.readouterr().out
    assert "3 dropout-family layer(s)" in out and "variance shift" in out
    for text in ("sched", "Linear(", "mc_noise", "keras.GaussianNoise", "stddev 0.1"):
        assert text in out


def test_inspect_no_warning_without_bn():
    assert variance_shift_warnings(kind_model("Dropout")) == []


def test_cli_bad_paths_exit_with_a_message(tmp_path, capsys):
    assert cli.main(["inspect", str(tmp_path / "missing.keras")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "model.h5").write_text("x")
    assert cli.main(["inspect", str(tmp_path / "model.h5")]) == 1
    assert ".keras" in capsys.readouterr().err
    (tmp_path / "broken.keras").write_text("not a zip")
    assert (
        cli.main(["export", str(tmp_path / "broken.keras"), str(tmp_path / "o")]) == 1
    )
    assert "Could not load" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit) as info:
        cli.main(["export", "m.keras", "out", "--mc-samples", "0"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        cli.main(["export", "m.keras", "out", "--format", "pb"])


@pytest.mark.tf_only
def test_cli_export(tmp_path, capsys):
    model = bn_model()
    model.save(tmp_path / "m.keras")
    argv = [
        "export",
        str(tmp_path / "m.keras"),
        str(tmp_path / "served"),
        "--mc-samples",
        "8",
        "--version",
        "2",
    ]
    assert cli.main(argv) == 0
    assert "verified" in capsys.readouterr().out
    signatures = load_signatures(tmp_path / "served" / "2")
    assert {"serving_default", "mc"} <= set(signatures)
    assert cli.main(argv) == 1  # exists
    assert "overwrite" in capsys.readouterr().err
    assert cli.main(argv + ["--overwrite"]) == 0
    help_text = io.StringIO()
    parser = cli.build_parser()
    help_text.write(
        parser._subparsers._group_actions[0].choices["export"].format_help()
    )
    for flag in ("--mc-samples", "--version", "--format", "--overwrite"):
        assert flag in help_text.getvalue()
