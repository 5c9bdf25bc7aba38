"""kerasdrop.serving.artifacts: what overwrite may replace, lock, swap and recovery.

The fault-injection tests run `export_child.py` as a real process and kill
it with SIGKILL at chosen points; it loads `kerasdrop/serving/artifacts.py` alone
and writes fake SavedModels, so each child takes a fraction of a second.
"""

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from export_child import fake_saved_model

from kerasdrop.serving import artifacts

CHILD = Path(__file__).resolve().parent / "export_child.py"


def listing(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def content(target):
    return (Path(target) / "saved_model.pb").read_text()


def start_child(target, point, overwrite=True, mode="fake", data="new"):
    return subprocess.Popen(
        [
            sys.executable,
            str(CHILD),
            mode,
            str(target),
            point,
            "1" if overwrite else "0",
            data,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def kill_when_paused(child, sig=signal.SIGKILL):
    line = child.stdout.readline().strip()
    assert line == "paused", line
    child.send_signal(sig)
    child.wait(timeout=30)
    assert child.returncode == -sig


# ----------------------------------------------------------------------------
# What overwrite may replace.
# ----------------------------------------------------------------------------
def test_why_foreign_accepts_artifacts_only(tmp_path, monkeypatch):
    fake_saved_model(tmp_path / "sm", "x")
    (tmp_path / "sm" / "assets").mkdir()
    (tmp_path / "sm" / "assets" / "vocab.txt").write_text("a")
    (tmp_path / "empty").mkdir()
    (tmp_path / "m.tflite").write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(16))
    for name in ("sm", "empty", "m.tflite"):
        assert artifacts.why_foreign(tmp_path / name) is None, name

    fake_saved_model(tmp_path / "sm_notes", "x")
    (tmp_path / "sm_notes" / "notes.txt").write_text("mine")
    fake_saved_model(tmp_path / "sm_vars", "x")
    (tmp_path / "sm_vars" / "variables" / "backup.zip").write_text("mine")
    (tmp_path / "project" / "src").mkdir(parents=True)
    (tmp_path / "no_pb").mkdir()
    (tmp_path / "no_pb" / "variables").mkdir()
    (tmp_path / "notes.onnx").write_text("not a model")
    (tmp_path / "link").symlink_to(tmp_path / "sm")
    expected = {
        "sm_notes": "'notes.txt'",
        "sm_vars": "variables/ holds 'backup.zip'",
        "project": "'src'",
        "no_pb": "without saved_model.pb",
        "notes.onnx": "neither an ONNX nor a LiteRT model",
        "link": "symbolic link",
    }
    for name, why in expected.items():
        assert why in artifacts.why_foreign(tmp_path / name), name
    monkeypatch.chdir(tmp_path / "empty")
    assert "working directory" in artifacts.why_foreign(tmp_path / "empty")
    assert "working directory" in artifacts.why_foreign(tmp_path)


def test_why_foreign_recognises_an_onnx_file(tmp_path):
    onnx = pytest.importorskip("onnx", reason="needs onnx (kerasdrop[export])")
    node = onnx.helper.make_node("Identity", ["x"], ["y"])
    info = [
        onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, [1])
        for n in ("x", "y")
    ]
    graph = onnx.helper.make_graph([node], "g", info[:1], info[1:])
    onnx.save(onnx.helper.make_model(graph), str(tmp_path / "m.onnx"))
    assert artifacts.why_foreign(tmp_path / "m.onnx") is None
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x07garbage that is no protobuf")
    assert artifacts.why_foreign(tmp_path / "bad.onnx") is not None


def test_overwrite_refuses_foreign_and_replaces_artifacts(tmp_path):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "notes.txt").write_text("mine")
    calls = []
    with pytest.raises(ValueError, match="left untouched.*'notes.txt', 'src'"):
        artifacts.write_atomic(project, calls.append, calls.append, overwrite=True)
    assert calls == [] and listing(project) == ["notes.txt", "src"]
    assert listing(tmp_path) == ["project"]

    target = tmp_path / "served"
    fake_saved_model(target, "old")
    with pytest.raises(ValueError, match="already exists.*`overwrite=True`"):
        artifacts.write_atomic(target, calls.append, calls.append)
    assert content(target) == "old" and calls == []
    artifacts.write_atomic(
        target, lambda p: fake_saved_model(p, "new"), lambda p: None, overwrite=True
    )
    assert content(target) == "new"
    assert listing(tmp_path) == ["project", "served"]  # no lock, temp or backup


def test_failed_check_leaves_the_old_artifact_and_nothing_else(tmp_path):
    target = tmp_path / "served"
    fake_saved_model(target, "old")

    def check(path):
        raise RuntimeError("verification failed")

    with pytest.raises(RuntimeError):
        artifacts.write_atomic(
            target, lambda p: fake_saved_model(p, "new"), check, overwrite=True
        )
    assert content(target) == "old" and listing(tmp_path) == ["served"]
    with pytest.raises(RuntimeError):
        artifacts.write_atomic(
            tmp_path / "a" / "b" / "m", lambda p: fake_saved_model(p, "new"), check
        )
    assert listing(tmp_path) == ["served"]  # nor the parents it created


def test_check_not_input(tmp_path, monkeypatch):
    model = tmp_path / "m.keras"
    model.write_text("zip")
    (tmp_path / "hard.keras").hardlink_to(model)
    for out in (model, tmp_path, tmp_path / "hard.keras", tmp_path / "." / "m.keras"):
        with pytest.raises(ValueError, match="would replace the input"):
            artifacts.check_not_input(out, [model])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="it lies inside"):
        artifacts.check_not_input(".", ["m.keras"])
    artifacts.check_not_input(tmp_path / "served", [model])
    artifacts.check_not_input(tmp_path / "m.keras.onnx", [model])


def test_bad_paths(tmp_path):
    for path, error in [
        ("", ValueError),
        ("a\0b", ValueError),
        (b"out", TypeError),
        (3, TypeError),
        (None, TypeError),
    ]:
        with pytest.raises(error, match="argument `path`"):
            artifacts.as_path(path)
    with pytest.raises(ValueError, match="naming a file or directory"):
        artifacts.check_target("/", overwrite=True)
    with pytest.raises(ValueError, match="too long"):
        artifacts.check_target(tmp_path / ("a" * 240), overwrite=False)
    with pytest.raises(ValueError, match="writable"):
        (tmp_path / "file").write_text("x")
        artifacts.write_atomic(tmp_path / "file" / "m", print, print)
    assert listing(tmp_path) == ["file"]


# ----------------------------------------------------------------------------
# Killed exports (real SIGKILL) and concurrent exports.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_while_writing_leftovers_are_cleaned_by_the_next_export(tmp_path, sig):
    target = tmp_path / "served"
    fake_saved_model(target, "old")
    kill_when_paused(start_child(target, "write"), sig)
    left = listing(tmp_path)
    assert content(target) == "old"
    assert ".served.kerasdrop-lock" in left
    assert any(n.startswith(".served.kerasdrop-tmp-") for n in left), left
    artifacts.write_atomic(
        target, lambda p: fake_saved_model(p, "next"), lambda p: None, overwrite=True
    )
    assert content(target) == "next" and listing(tmp_path) == ["served"]


def test_killed_between_the_renames_restores_the_old_artifact(tmp_path):
    target = tmp_path / "served"
    fake_saved_model(target, "old")
    kill_when_paused(start_child(target, "swap"))
    assert not target.exists()  # the old artifact is aside, the new one staged
    assert content(tmp_path / ".served.kerasdrop-backup" / "served") == "old"
    with pytest.raises(ValueError, match="already exists"):  # overwrite=False
        artifacts.check_target(target, overwrite=False)
    assert content(target) == "old" and listing(tmp_path) == ["served"]


def test_killed_after_the_swap_keeps_the_new_artifact(tmp_path):
    target = tmp_path / "served"
    fake_saved_model(target, "old")
    kill_when_paused(start_child(target, "cleanup"))
    assert content(target) == "new"
    assert content(tmp_path / ".served.kerasdrop-backup" / "served") == "old"
    artifacts.check_target(target, overwrite=True)
    assert content(target) == "new" and listing(tmp_path) == ["served"]


def test_a_live_export_is_never_disturbed(tmp_path):
    target = tmp_path / "served"
    child = start_child(target, "write", overwrite=False)
    try:
        assert child.stdout.readline().strip() == "paused"
        before = listing(tmp_path)
        for call in (
            lambda: artifacts.check_target(target, overwrite=True),
            lambda: artifacts.write_atomic(target, print, print, overwrite=True),
        ):
            with pytest.raises(ValueError, match=f"process {child.pid}\\)"):
                call()
        assert listing(tmp_path) == before  # its lock and temporary files stay
    finally:
        child.kill()
        child.wait(timeout=30)
    artifacts.write_atomic(target, lambda p: fake_saved_model(p, "mine"), print)
    assert content(target) == "mine" and listing(tmp_path) == ["served"]


def test_concurrent_exports_exactly_one_wins(tmp_path):
    target, go = tmp_path / "served", tmp_path / "go"
    children = [
        start_child(target, f"go:{go}", overwrite=False, data=f"child{i}")
        for i in range(2)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    go.touch()
    results = [child.communicate(timeout=60)[0].strip() for child in children]
    assert sorted(r.split(":")[0] for r in results) == ["ok", "refused"], results
    assert content(target) == f"child{results.index('ok')}"
    assert listing(tmp_path) == ["go", "served"]
