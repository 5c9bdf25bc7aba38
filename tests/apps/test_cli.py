import os
import shutil
import subprocess
import sys

import pytest

from kerasdrop.apps import cli


def test_console_script_help():
    exe = shutil.which("kerasdrop")
    if exe is None:
        pytest.fail(
            "the `kerasdrop` console script is not installed (pip install -e .)"
        )
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    assert "demo" in out.stdout
    demo_help = (
        cli.build_parser()._subparsers._group_actions[0].choices["demo"].format_help()
    )
    assert "--epochs" in demo_help and "--quick" in demo_help


def test_demo_bad_arguments_exit_with_a_message(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["demo", "--epochs", "0"])
    assert info.value.code == 2
    assert "Received: epochs='0'" in capsys.readouterr().err


def test_python_dash_m_runs():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(
        [sys.executable, "-m", "kerasdrop", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0 and "kerasdrop" in out.stdout


# ----------------------------------------------------------------------------
# kerasdrop export: what it refuses, in its own flags.
# ----------------------------------------------------------------------------
def saved_model_file(folder):
    import keras

    path = folder / "m.keras"
    keras.Sequential([keras.Input((4,), name="x"), keras.layers.Dense(2)]).save(path)
    return path


def run_cli(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def test_export_never_replaces_its_input_model(tmp_path, monkeypatch, capsys):
    model = saved_model_file(tmp_path)
    data = model.read_bytes()
    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    for out in (".", "m.keras", str(model), str(tmp_path / "." / "m.keras")):
        code, err = run_cli(["export", "m.keras", out, "--overwrite"], capsys)
        assert code == 1 and "would replace the input 'm.keras'" in err, err
        assert "argument `OUT`" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras", "notes.txt"]
    assert model.read_bytes() == data


def test_export_errors_speak_in_flags(tmp_path, capsys):
    import keras

    model = str(saved_model_file(tmp_path))
    # The target the backend's format writes: OUT itself, or OUT.onnx on
    # PyTorch (its serving format, ONNX), so a name already ending in it.
    out = tmp_path / ("out.onnx" if keras.backend.backend() == "torch" else "out")
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, err = run_cli(["export", model, str(out)], capsys)
    assert code == 1 and "pass `--overwrite` to replace it" in err, err
    code, err = run_cli(["export", model, str(out), "--overwrite"], capsys)
    assert code == 1 and "`--overwrite` replaces only an export artifact" in err, err
    assert "'notes.txt'" in err and "argument `OUT`" in err
    code, err = run_cli(
        ["export", model, str(tmp_path / "o.tflite"), "--format", "onnx"], capsys
    )
    assert code == 1 and "argument `--format`" in err and "--format litert" in err
    code, err = run_cli(["export", model, ""], capsys)
    assert code == 1 and "argument `OUT`. Expected a non-empty path" in err, err
    code, err = run_cli(
        ["export", model, str(tmp_path / "s"), "--mc-samples", "1"], capsys
    )
    assert code == 2 and "argument `--mc-samples`. Expected an integer >= 2" in err
    for line in err.splitlines():
        assert "overwrite=" not in line and "mc_samples" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras", out.name]
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_export_format_follows_the_suffix_of_out():
    parse = cli.build_parser().parse_args
    for out, flags, expected in [
        ("m.onnx", [], "onnx"),
        ("m.ONNX", [], "onnx"),
        ("m.tflite", [], "litert"),
        ("served", [], None),  # the backend's format, chosen by export
        ("m.onnx", ["--format", "onnx"], "onnx"),
        ("model", ["--format", "onnx"], "onnx"),
    ]:
        assert cli._export_format(parse(["export", "m.keras", out] + flags)) == expected
    with pytest.raises(ValueError, match="OUT ends in '.onnx'"):
        cli._export_format(
            parse(["export", "m.keras", "m.onnx", "--format", "tf_saved_model"])
        )


@pytest.mark.tf_only
def test_export_to_a_tflite_name_writes_litert(tmp_path, capsys):
    model = str(saved_model_file(tmp_path))
    out = tmp_path / "m.tflite"
    assert cli.main(["export", model, str(out)]) == 0
    assert "(litert)" in capsys.readouterr().out
    assert out.is_file() and out.read_bytes()[4:8] == b"TFL3"


def test_corrupt_model_file_is_reported_as_corrupt(tmp_path, capsys):
    import zipfile

    data = saved_model_file(tmp_path).read_bytes()
    (tmp_path / "text.keras").write_text("not a model")
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.keras").write_bytes(b"")
    with zipfile.ZipFile(tmp_path / "noconfig.keras", "w") as archive:
        archive.writestr("metadata.json", "{}")
    for name in ("text", "cut", "empty", "noconfig"):
        path = str(tmp_path / f"{name}.keras")
        for command in (["export", path, str(tmp_path / "o")], ["inspect", path]):
            code, err = run_cli(command, capsys)
            assert code == 1 and f"'{path}'" in err and "corrupt" in err, err
            assert "File not found" not in err
    (tmp_path / "dir.keras").mkdir()
    code, err = run_cli(["inspect", str(tmp_path / "dir.keras")], capsys)
    assert code == 1 and "Expected a Keras v3 `.keras` file" in err, err
    assert not (tmp_path / "o").exists()


def _backend():
    import keras

    return keras.backend.backend()


@pytest.mark.skipif(_backend() != "torch", reason="torch serving path")
def test_export_on_torch_writes_onnx_and_says_so(tmp_path, capsys):
    model = str(saved_model_file(tmp_path))
    code = cli.main(["export", model, str(tmp_path / "served")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "(onnx)" in captured.out and "served.onnx'; verified." in captured.out
    assert "note: the torch backend serves through ONNX" in captured.err
    assert "Pass --format onnx to choose it explicitly" in captured.err
    assert "UserWarning" not in captured.err  # a line, not a Python warning
    for flags, what in [
        (["--mc-samples", "8"], "the `mc` signature"),
        (["--version", "1"], "a TF Serving version"),
        (["--format", "tf_saved_model"], "a SavedModel"),
    ]:
        code, err = run_cli(["export", model, str(tmp_path / "m")] + flags, capsys)
        assert code == 1 and what in err and "Alternatives: --format onnx" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras", "served.onnx"]
