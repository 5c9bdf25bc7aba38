"""A child process for the export fault-injection tests; the tests kill it.

    python export_child.py MODE TARGET POINT OVERWRITE [CONTENT]

MODE "fake": `kerasdrop.serving.artifacts.write_atomic` writes a fake SavedModel
whose saved_model.pb holds CONTENT (the module is loaded on its own, without
Keras, so the child starts in a fraction of a second). MODE "export":
`kerasdrop.export` writes Input(4) -> Dense(2) as a SavedModel.

POINT is where the child prints "paused" and sleeps until it is killed:
"write" (inside the write: the temporary directory and the lock exist),
"swap" (between an overwrite's two renames: the old artifact moved aside,
the new one not yet in place), "cleanup" (after the swap, before the old
artifact in the backup directory is deleted); "go:FILE" prints "ready",
waits for FILE, then runs to the end. The pauses hook `os.rename` and
`shutil.rmtree`, so the library needs no test hooks. The child prints "ok"
or "refused: <message>" at the end.
"""

import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def fake_saved_model(path, content):
    """The files of a SavedModel: saved_model.pb (holding `content`), variables/."""
    path = Path(path)
    path.mkdir()
    (path / "saved_model.pb").write_text(content)
    (path / "variables").mkdir()
    (path / "variables" / "variables.index").write_text(content)


def _pause():
    print("paused", flush=True)
    time.sleep(300)


def _hook(module, name, should_pause):
    original = getattr(module, name)

    def hooked(path, *args, **kwargs):
        if should_pause(path, *args):
            _pause()
        return original(path, *args, **kwargs)

    setattr(module, name, hooked)


def _load_alone(name, path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _artifacts_alone():
    """serving/artifacts.py without Keras: its kerasdrop imports, `_checks`
    (NumPy only) and `serving.sides`, are loaded alone under bare packages."""
    import types

    package = sys.modules.setdefault("kerasdrop", types.ModuleType("kerasdrop"))
    package.__path__ = []  # a package with nothing else to find
    serving = types.ModuleType("kerasdrop.serving")
    serving.__path__ = []
    package.serving = sys.modules["kerasdrop.serving"] = serving
    package._checks = _load_alone(
        "kerasdrop._checks", ROOT / "kerasdrop" / "_checks.py"
    )
    serving.sides = _load_alone(
        "kerasdrop.serving.sides", ROOT / "kerasdrop" / "serving" / "sides.py"
    )
    return _load_alone("artifacts", ROOT / "kerasdrop" / "serving" / "artifacts.py")


def _runner(mode, target, point, overwrite, content):
    """The export to run, imports done (so that timing starts after them)."""
    if mode == "fake":
        artifacts = _artifacts_alone()

        def write(path):
            fake_saved_model(path, content)
            if point == "write":
                _pause()
            elif point.startswith("go:"):
                time.sleep(0.5)  # a concurrent export overlaps this one

        return lambda: artifacts.write_atomic(
            target, write, lambda path: None, overwrite=overwrite
        )
    import keras

    import kerasdrop

    model = keras.Sequential([keras.Input((4,), name="x"), keras.layers.Dense(2)])
    return lambda: kerasdrop.export(model, target, overwrite=overwrite)


def main(mode, target, point, overwrite, content="new"):
    target = os.path.abspath(target)
    backup = os.path.join(
        os.path.dirname(target), f".{os.path.basename(target)}.kerasdrop-backup"
    )
    run = _runner(mode, target, point, overwrite, content)
    if point == "swap":
        _hook(os, "rename", lambda src, dst: os.path.abspath(dst) == target)
    elif point == "cleanup":
        _hook(  # removing the old artifact, inside the backup directory
            shutil,
            "rmtree",
            lambda path: os.path.abspath(path).startswith(backup + os.sep),
        )
    elif point.startswith("go:"):
        print("ready", flush=True)
        while not os.path.exists(point[3:]):
            time.sleep(0.01)
    try:
        run()
    except ValueError as err:
        print(f"refused: {err}", flush=True)
        return
    print("ok", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1", *sys.argv[5:])
