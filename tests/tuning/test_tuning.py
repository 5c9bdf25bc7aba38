"""KerasTuner search spaces, search script and distributed search."""

import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

kt = pytest.importorskip("keras_tuner", reason="the `tuner` extra is not installed")

from kerasdrop import schedules  # noqa: E402
from kerasdrop.callbacks import log_keys  # noqa: E402
from kerasdrop.tuning import (  # noqa: E402
    SCHEDULE_PARAMS,
    SCHEDULES,
    SEARCHED_SCHEDULES,
    DropoutHyperModel,
    dropout_space,
    rate_values,
    register_schedule,
    specs_of,
)

ROOT = Path(__file__).resolve().parents[2]


def _load(name):
    spec = importlib.util.spec_from_file_location(
        f"tuning_{name}", ROOT / "examples" / "tuning" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    return x, y


def _build(hp, spec):
    inputs = keras.Input((8,))
    x = spec.layer(keras.layers.Dense(8, activation="relu"))(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def expected_keys(values, name="dropout"):
    """The hyperparameters a trial may hold for the branch it chose."""
    kind = values[f"{name}/kind"]
    keys = {f"{name}/kind"}
    if kind in ("constant", "scheduled"):
        keys.add(f"{name}/rate")
    if kind == "scheduled":
        schedule = values[f"{name}/schedule"]
        keys.add(f"{name}/schedule")
        keys |= {f"{name}/{schedule}/{p}" for p in SEARCHED_SCHEDULES[schedule].params}
    if kind == "concrete":
        keys.add(f"{name}/length_scale")
    return keys


class Recorder(keras.callbacks.Callback):
    """Records each epoch's logs with the specs of the model (class-level:
    KerasTuner deep-copies callbacks per trial)."""

    runs = []

    def on_train_begin(self, logs=None):
        run = {"specs": specs_of(self.model), "epochs": self.params["epochs"]}
        Recorder.runs.append({**run, "logs": {}, "keys": key_of(self.model)})

    def on_epoch_end(self, epoch, logs=None):
        Recorder.runs[-1]["logs"][epoch] = dict(logs)


def key_of(model):  # {layer name: logs key}
    return {layer.name: key for key, layer in log_keys(model).items()}


def assert_rates_follow_schedules(run):
    for spec in run["specs"]:
        if spec.kind != "scheduled":
            continue
        schedule = spec.build_schedule(run["epochs"])
        for layer_name in spec._layer_names:
            for epoch, logs in run["logs"].items():
                logged = logs[run["keys"][layer_name]]
                assert logged == pytest.approx(schedule(epoch), abs=1e-6), (spec, epoch)


# ----------------------------------------------------------------------------
# The space.
# ----------------------------------------------------------------------------
def test_rates_are_rounded_and_in_range():
    assert rate_values((0.0, 0.5, 0.05)) == [
        0.0,
        0.05,
        0.1,
        0.15,
        0.2,
        0.25,
        0.3,
        0.35,
        0.4,
        0.45,
        0.5,
    ]
    values = rate_values((0.1, 0.95, 0.1))
    assert values == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert all(len(repr(v)) <= 4 for v in values)  # no 0.30000000000000004
    hp = kt.HyperParameters()
    dropout_space(hp, kinds=("constant",), rate=(0.1, 0.7, 0.1))
    choices = hp.space[-1].values
    assert 0.3 in choices and max(choices) < 1.0 and repr(choices[2]) == "0.3"


@pytest.mark.parametrize(
    "space, error, words",
    [
        ({"rate": (0.0, 1.0, 0.1)}, ValueError, "[0, 1)"),
        ({"rate": (-0.1, 0.5, 0.1)}, ValueError, "[0, 1)"),
        ({"rate": (0.4, 0.2, 0.1)}, ValueError, "min <= max"),
        ({"rate": (0.1, 0.2, 0.0)}, ValueError, "step > 0"),
        ({"rate": (0.1, 0.2)}, TypeError, "(min, max, step)"),
        ({"rate": 1.0}, ValueError, "[0, 1)"),
        ({"kinds": ("constant", "dropconnect")}, ValueError, "unknown ['dropconnect']"),
        ({"schedules": ("linear", "sawtooth")}, ValueError, "unknown ['sawtooth']"),
        ({"kinds": ()}, ValueError, "non-empty"),
        ({"kinds": "constant"}, TypeError, "tuple of names"),
        ({"kinds": ("concrete",)}, TypeError, "n_samples"),
        ({"name": "a b"}, ValueError, "`name`"),
        ({"epochs": 0}, ValueError, "`epochs`"),
        ({"bogus": 1}, ValueError, "['bogus']"),
        # Issue 16: float32, non-finite and huge values, wrong types.
        ({"rate": 0.99999999}, ValueError, "rounds to 1.0"),
        (
            {"rate": (0.0, 0.99999999999, 0.33333333333)},
            ValueError,
            "below 1 in float32",
        ),
        ({"rate": (0.0, 0.5, float("inf"))}, ValueError, "step > 0 and <= 1"),
        ({"rate": (0.0, 0.5, 2**2000)}, ValueError, "step > 0 and <= 1"),
        ({"rate": (0.0, 0.5, 1e-6)}, ValueError, "at most 1000 rates"),
        ({"rate": (0.0, 10**400, 0.1)}, ValueError, "[0, 1)"),
        ({"kinds": ("none", "constant"), "rate": 0.0}, ValueError, "rate 0 is 'none'"),
        ({"length_scales": "abc"}, TypeError, "length_scales='abc'"),
        ({"length_scales": ()}, ValueError, "length_scales=()"),
        ({"length_scales": ("a",)}, TypeError, "length_scales=('a',)"),
        ({"length_scales": 1e-4}, TypeError, "length_scales=0.0001"),
        ({"length_scales": (-1.0,)}, ValueError, "length_scale=-1.0"),
        ({"n_samples": "abc"}, TypeError, "n_samples='abc'"),
        ({"n_samples": True}, TypeError, "n_samples=True"),
        ({"n_samples": 0}, ValueError, "n_samples=0"),
        (
            {"likelihood": "poisson", "kinds": ("constant",)},
            ValueError,
            "likelihood='poisson'",
        ),
        ({"epochs": "3"}, TypeError, "epochs='3'"),
        ({"name": 5}, TypeError, "name=5"),
    ],
)
def test_bad_space_raises_when_the_hypermodel_is_made(space, error, words):
    if space.get("kinds") != ("concrete",):
        space = {"n_samples": 100, **space}  # the concrete kind's checks run too
    with pytest.raises(error, match="Invalid value received") as info:
        DropoutHyperModel(_build, space=space)
    assert words in str(info.value)


def test_default_space_works_and_holds_no_duplicate():
    hp = kt.HyperParameters()
    spec = dropout_space(hp)  # raised before: the default kinds had concrete
    kinds = hp.space[0].values
    assert spec.kind == "none" and kinds == ["none", "constant", "scheduled"]
    rates = next(h for h in hp.space if h.name == "dropout/rate").values
    assert rates[0] == 0.05 and 0.0 not in rates  # rate 0 is the "none" kind
    hp = kt.HyperParameters()
    dropout_space(hp, n_samples=100)  # n_samples adds the concrete kind
    assert hp.space[0].values == ["none", "constant", "scheduled", "concrete"]
    hp = kt.HyperParameters()
    dropout_space(hp, kinds=("constant",))  # no "none": rate 0 stays a choice
    assert hp.space[-1].values[0] == 0.0


def test_rate_grid_never_reaches_one_in_float32():
    values = rate_values((0.0, 0.99999997, 0.33333332333))
    assert values[-1] == 0.99999997 and (np.float32(values) < 1).all()


def test_bad_space_in_build_fn_raises_before_any_trial(tmp_path):
    fits = []

    def build(hp, spec):
        assert spec is None
        dropout_space(hp, name="block0", kinds=("constant",), rate=(0.1, 0.3, 0.1))
        dropout_space(hp, name="block1", kinds=("constant",), rate=(0.5, 0.2, 0.1))
        fits.append(1)
        return _build(hp, dropout_space(hp, name="block0", kinds=("none",)))

    with pytest.raises(ValueError, match="min <= max"):
        kt.RandomSearch(
            DropoutHyperModel(build, space=False),
            objective="val_loss",
            max_trials=2,
            directory=tmp_path,
            project_name="bad",
        )
    assert not fits
    assert not list(tmp_path.rglob("trial_*"))


@pytest.mark.parametrize(
    "values",
    [
        {"dropout/kind": "none"},
        {"dropout/kind": "constant", "dropout/rate": 0.3},
        {"dropout/kind": "concrete"},
    ]
    + [{"dropout/kind": "scheduled", "dropout/schedule": s} for s in SCHEDULE_PARAMS],
)
def test_branch_declares_only_its_parameters(values):
    hp = kt.HyperParameters()
    hp.values = dict(values)
    spec = dropout_space(hp, n_samples=100, epochs=8)
    assert set(hp.values) == expected_keys(hp.values)
    assert spec.kind == values["dropout/kind"]
    layer = spec.layer(keras.layers.Dense(3))
    inner = layer.layers[0] if isinstance(layer, keras.Sequential) else layer
    if spec.kind == "none":
        assert isinstance(layer, keras.layers.Dense) and spec.callbacks() == []
        assert isinstance(spec.layer(), keras.layers.Identity)
    elif spec.kind == "constant":
        assert inner.rate == 0.3 and inner.schedule is None
        assert spec.callbacks() == []
    elif spec.kind == "concrete":
        assert type(layer).__name__ == "ConcreteDropout"
        assert layer.weight_regularizer == pytest.approx(1e-4**2 / 100)
        assert layer.dropout_regularizer == pytest.approx(1 / 100)  # cross-entropy
        assert type(spec.callbacks()[0]).__name__ == "DropoutLogger"
        with pytest.raises(ValueError, match="wraps the layer"):
            spec.layer()
    else:
        (cb,) = spec.callbacks()
        assert type(cb).__name__ == "DropoutScheduler"
        assert cb.schedule == spec.build_schedule(8)
        assert isinstance(cb.schedule, schedules.Schedule)
        assert not hasattr(cb, "_model") or cb._model is None  # no model held


def test_independent_and_shared_spaces_drive_their_own_layers():
    def build(hp, spec):
        assert spec is None
        s0 = dropout_space(
            hp, name="block0", kinds=("scheduled",), rate=0.4, schedules=("linear",)
        )
        s1 = dropout_space(
            hp, name="block1", kinds=("scheduled",), rate=0.2, schedules=("late",)
        )
        inputs = keras.Input((8,))
        x = s0.layer(keras.layers.Dense(8))(inputs)
        x = s1.layer()(x)
        x = keras.layers.Dense(8)(x)
        x = s1.layer()(x)  # shared: block1's space drives both layers
        outputs = keras.layers.Dense(2, activation="softmax")(x)
        model = keras.Model(inputs, outputs)
        model.compile("adam", "sparse_categorical_crossentropy")
        return model

    hm = DropoutHyperModel(build, space=False)
    hp = kt.HyperParameters()
    hp.values = {"block0/linear/direction": "down", "block0/linear/fraction": 1.0}
    model = hm.build(hp)
    assert {h.name for h in hp.space} >= {
        "block0/kind",
        "block1/kind",
        "block0/linear/direction",
        "block1/late/fraction",
    }
    s0, s1 = specs_of(model)
    assert (
        len(s1._layer_names) == 2 and len(set(s0._layer_names + s1._layer_names)) == 3
    )
    Recorder.runs = []
    x, y = _data()
    history = hm.fit(hp, model, x, y, epochs=4, verbose=0, callbacks=[Recorder()])
    keys = key_of(model)
    assert history.history[keys[s0._layer_names[0]]] == pytest.approx(
        [0.4, 0.3, 0.2, 0.1], abs=1e-6
    )  # down over all 4 epochs
    for name in s1._layer_names:  # late, cutoff = 1 epoch
        assert history.history[keys[name]] == pytest.approx([0, 0.2, 0.2, 0.2])
    assert_rates_follow_schedules(Recorder.runs[-1])


def _halving(rate, params, epochs):
    """A schedule the table does not have: the rate halves `times` times."""
    decay_steps = epochs / params["times"]
    return schedules.Exponential(rate, 0.5, decay_steps=decay_steps, staircase=True)


@pytest.fixture
def restore_table():
    saved = dict(SEARCHED_SCHEDULES)
    yield
    SEARCHED_SCHEDULES.clear()
    SEARCHED_SCHEDULES.update(saved)


def test_one_table_entry_makes_a_new_schedule_searchable(restore_table):
    register_schedule("halving", _halving, times=[1, 2])
    assert SCHEDULES == ("linear", "cosine", "early", "late", "curriculum")  # default
    hm = DropoutHyperModel(
        _build,
        space={
            "kinds": ("scheduled",),
            "rate": 0.4,
            "schedules": ("linear", "halving"),
        },
    )
    hp = kt.HyperParameters()
    hp.values = {"dropout/schedule": "halving", "dropout/halving/times": 2}
    model = hm.build(hp)
    assert set(hp.values) == expected_keys(hp.values) >= {"dropout/halving/times"}
    (spec,) = specs_of(model)
    assert spec.params == {"times": 2}
    assert spec.build_schedule(4) == _halving(0.4, {"times": 2}, 4)
    x, y = _data()
    history = hm.fit(hp, model, x, y, epochs=4, verbose=0)
    assert history.history[key_of(model)[spec._layer_names[0]]] == pytest.approx(
        [0.4, 0.4, 0.2, 0.2]
    )
    with pytest.raises(ValueError, match="a new name"):
        register_schedule("halving", _halving, times=[1])
    with pytest.raises(TypeError, match="build="):
        register_schedule("other", "not callable", times=[1])


# ----------------------------------------------------------------------------
# Searches.
# ----------------------------------------------------------------------------
TUNERS = {
    "random": lambda hm, **kw: kt.RandomSearch(hm, max_trials=4, **kw),
    "bayesian": lambda hm, **kw: kt.BayesianOptimization(
        hm, max_trials=3, num_initial_points=2, **kw
    ),
    "hyperband": lambda hm, **kw: kt.Hyperband(
        hm, max_epochs=3, factor=3, hyperband_iterations=1, **kw
    ),
}


@pytest.mark.one_backend  # KerasTuner's search loop; the layers run on JAX elsewhere
@pytest.mark.parametrize("tuner_name", sorted(TUNERS))
def test_small_search_with_each_tuner(tuner_name, tmp_path):
    hm = DropoutHyperModel(
        _build, space={"kinds": ("scheduled", "constant"), "rate": (0.1, 0.5, 0.1)}
    )
    tuner = TUNERS[tuner_name](
        hm,
        objective="val_accuracy",
        directory=tmp_path,
        project_name=tuner_name,
        seed=3,
    )
    Recorder.runs = []
    x, y = _data()
    tuner.search(
        x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[Recorder()]
    )
    trials = list(tuner.oracle.trials.values())
    assert len(trials) >= 3 and all(t.status == "COMPLETED" for t in trials)
    for trial in trials:
        values = {
            k: v
            for k, v in trial.hyperparameters.values.items()
            if not k.startswith("tuner/")
        }
        assert set(values) == expected_keys(values), values
        if "dropout/rate" in values:
            assert 0.0 <= values["dropout/rate"] < 1.0
            assert repr(values["dropout/rate"]) in {"0.1", "0.2", "0.3", "0.4", "0.5"}
    assert len(Recorder.runs) == len(trials)
    scheduled = [r for r in Recorder.runs if r["specs"][0].kind == "scheduled"]
    assert scheduled, "the seeded search should try a scheduled rate"
    for run in scheduled:
        assert_rates_follow_schedules(run)
    assert tuner.get_best_hyperparameters()[0].values["dropout/kind"] in (
        "scheduled",
        "constant",
    )


@pytest.mark.one_backend  # KerasTuner's search loop; the layers run on JAX elsewhere
def test_resume_does_not_redo_finished_trials(tmp_path):
    hm = DropoutHyperModel(_build, space={"kinds": ("none", "constant")})
    x, y = _data()

    def search(max_trials):
        Recorder.runs = []
        tuner = kt.RandomSearch(
            hm,
            objective="val_loss",
            max_trials=max_trials,
            directory=tmp_path,
            project_name="resume",
            overwrite=False,
            seed=0,
        )
        tuner.search(
            x, y, epochs=1, validation_split=0.25, verbose=0, callbacks=[Recorder()]
        )
        return tuner, len(Recorder.runs)

    tuner, fits = search(2)
    assert fits == 2
    first = {t.trial_id: t.score for t in tuner.oracle.trials.values()}
    tuner, fits = search(3)
    assert fits == 1  # only the new trial ran
    trials = tuner.oracle.trials
    assert len(trials) == 3
    assert {i: trials[i].score for i in first} == first
    _, fits = search(3)
    assert fits == 0


# ----------------------------------------------------------------------------
# Optional dependency, scripts.
# ----------------------------------------------------------------------------
def test_kerasdrop_imports_without_keras_tuner():
    code = (
        "import sys; sys.modules['keras_tuner'] = None\n"
        "import kerasdrop\n"
        "try:\n    import kerasdrop.tuning\n"
        "except ImportError as e:\n    print('ImportError:', e)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ImportError:" in out.stdout
    assert 'pip install "kerasdrop[tuner]"' in out.stdout


@pytest.mark.one_backend  # KerasTuner's search loop; the layers run on JAX elsewhere
def test_search_script(tmp_path, capsys):
    search = _load("search")
    results = search.main(
        [
            "--tuner",
            "random",
            "--max-trials",
            "2",
            "--epochs",
            "1",
            "--units",
            "8",
            "--dataset",
            "breast_cancer",
            "--directory",
            str(tmp_path),
            "--seed",
            "1",
            "--kinds",
            "constant,scheduled",
            "--compare-baseline",
            "--baseline-seeds",
            "2",
            "--overwrite",
        ]
    )
    out = capsys.readouterr().out
    assert "Results summary" in out and "Best hyperparameters" in out
    assert (
        "measurably helped" in out
        or "did not measurably help" in out
        or "already uses no dropout" in out
    )
    project = tmp_path / "breast_cancer_random"
    saved = json.loads((project / "best_hyperparameters.json").read_text())
    assert saved["best_hyperparameters"] == results["best_hyperparameters"]
    assert saved["completed_trials"] == 2
    assert set(saved["baseline"]["test_accuracy"]) == {"best", "no dropout"}
    assert len(saved["baseline"]["test_accuracy"]["best"]) == 2
    assert (project / "score_vs_rate.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit):
        search.main(["--max-trials", "0"])


# ----------------------------------------------------------------------------
# Distributed (subprocesses: TF only, bounded by timeouts).
# ----------------------------------------------------------------------------
def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _processes_mentioning(text):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return [pid for pid in found if _alive(pid)]


class KillInTrial:
    """on_poll hook: SIGKILLs `tuner0` once the oracle shows it in a trial."""

    def __init__(self, project_dir):
        self.oracle_file = Path(project_dir) / "oracle.json"
        self.killed_trial = None

    def __call__(self, launch):
        if self.killed_trial is not None:
            return
        try:
            ongoing = json.loads(self.oracle_file.read_text())["ongoing_trials"]
        except (OSError, ValueError, KeyError):
            return
        proc = launch.procs["tuner0"]
        if "tuner0" in ongoing and proc.poll() is None:
            time.sleep(0.5)  # inside the trial's build / fit
            os.killpg(proc.pid, signal.SIGKILL)
            self.killed_trial = ongoing["tuner0"]


@pytest.mark.tf_only
@pytest.mark.slow
@pytest.mark.parametrize("max_restarts", [1, 0], ids=["retried", "marked_failed"])
def test_distributed_search_survives_a_killed_worker(tmp_path, max_restarts):
    distributed = _load("distributed")
    argv = [
        "--tuner",
        "random",
        "--max-trials",
        "4",
        "--epochs",
        "3",
        "--units",
        "16",
        "--directory",
        str(tmp_path),
        "--overwrite",
    ]
    hook = KillInTrial(tmp_path / "digits_random")
    try:
        results = distributed.run(
            argv,
            workers=2,
            timeout=240,
            max_restarts=max_restarts,
            poll=0.2,
            on_poll=hook,
            verbose=False,
        )
    finally:
        leftover = _processes_mentioning(str(tmp_path))
        for pid in leftover:  # never leave a process behind, even on failure
            os.kill(pid, signal.SIGKILL)
    assert not leftover, f"processes left running: {leftover}"
    assert hook.killed_trial is not None
    assert not [pid for pid in results["pids"] if _alive(pid)]
    trials = results["trials"]
    assert len(trials) == 4  # the requested trials
    if max_restarts:
        assert results["restarts"]["tuner0"] == 1
        assert set(trials.values()) == {"COMPLETED"}  # the killed one retried
    else:
        assert results["dead_workers"] == ["tuner0"]
        assert results["failed_trials"] == [hook.killed_trial]
        assert trials[hook.killed_trial] == "FAILED"
        others = [s for t, s in trials.items() if t != hook.killed_trial]
        assert others == ["COMPLETED"] * 3
    assert math.isfinite(results["best_score"])
    assert results["completed_trials"] == sum(s == "COMPLETED" for s in trials.values())
