"""Bad arguments of the callbacks, refused at construction."""

import math

import pytest

from helpers import assert_bad_input
from kerasdrop import callbacks as C
from kerasdrop import schedules as S


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """These probes build no model: no `clear_session` per case (the
    conftest fixture's cost, paid hundreds of times, is most of their time)."""
    yield


BACKUP = [
    ({"save_freq": 0}, ValueError, "save_freq", "save_freq=0"),
    ({"save_freq": -5}, ValueError, "save_freq", "save_freq=-5"),
    ({"save_freq": "batch"}, ValueError, "save_freq", "save_freq='batch'"),
    ({"save_freq": True}, TypeError, "save_freq", "save_freq=True"),
    ({"save_freq": 2.0}, TypeError, "save_freq", "save_freq=2.0"),
    ({"double_checkpoint": 1}, TypeError, "double_checkpoint", "=1"),
    ({"delete_checkpoint": "no"}, TypeError, "delete_checkpoint", "'no'"),
    ({"backup_dir": ""}, ValueError, "backup_dir", "backup_dir=''"),
    ({"backup_dir": None}, TypeError, "backup_dir", "backup_dir=None"),
    ({"backup_dir": 3}, TypeError, "backup_dir", "backup_dir=3"),
]


@pytest.mark.parametrize("changes, exc, name, received", BACKUP)
def test_backup_and_restore_refuses(tmp_path, changes, exc, name, received):
    args = {"backup_dir": str(tmp_path / "run"), **changes}
    assert_bad_input(lambda: C.BackupAndRestore(**args), exc, name, received)
    assert not (tmp_path / "run").exists()


def test_backup_and_restore_takes_numpy_integers(tmp_path):
    import numpy as np

    backup = C.BackupAndRestore(tmp_path, save_freq=np.int64(3))
    assert backup.save_freq == 3 and type(backup.save_freq) is int


SCHEDULER = [
    ({"schedule": "linear"}, TypeError, "schedule", "schedule='linear'"),
    ({"schedule": 1.0}, ValueError, "schedule", "schedule=1.0"),
    ({"schedule": {}}, ValueError, "schedule", "schedule={}"),
    ({"schedule": lambda: 0.1}, TypeError, "schedule", "with signature ()"),
    ({"unit": "step"}, ValueError, "unit", "unit='step'"),
    ({"mode": "add"}, ValueError, "mode", "mode='add'"),
    ({"verbose": -1}, ValueError, "verbose", "verbose=-1"),
    ({"layers": []}, ValueError, "layers", "layers=[]"),
    ({"layers": 3}, TypeError, "layers", "layers=3"),
]


@pytest.mark.parametrize("changes, exc, name, received", SCHEDULER)
def test_dropout_scheduler_refuses(changes, exc, name, received):
    args = {"schedule": S.Constant(0.1), **changes}
    assert_bad_input(lambda: C.DropoutScheduler(**args), exc, name, received)


ADAPTIVE = [
    ({"monitor": ""}, ValueError, "monitor", "monitor=''"),
    ({"monitor": 3}, TypeError, "monitor", "monitor=3"),
    ({"mode": "max"}, ValueError, "mode", "mode='max'"),  # a gap is minimized
    ({"mode": "up"}, ValueError, "mode", "mode='up'"),
    ({"factor": 1.0}, ValueError, "factor", "factor=1.0"),
    ({"factor": math.inf}, ValueError, "factor", "factor=inf"),
    ({"patience": -1}, ValueError, "patience", "patience=-1"),
    ({"patience": 1.5}, TypeError, "patience", "patience=1.5"),
    ({"cooldown": True}, TypeError, "cooldown", "cooldown=True"),
    ({"min_delta": math.nan}, ValueError, "min_delta", "min_delta=nan"),
    ({"min_delta": -1}, ValueError, "min_delta", "min_delta=-1"),
    ({"min_rate": 0.6}, ValueError, "min_rate", "min_rate=0.6"),  # > max_rate
    ({"max_rate": 1.0}, ValueError, "max_rate", "max_rate=1.0"),
    ({"start_rate": -0.1}, ValueError, "start_rate", "start_rate=-0.1"),
    ({"lower_on_underfit": 1}, TypeError, "lower_on_underfit", "=1"),
    ({"underfit_gap": math.inf}, ValueError, "underfit_gap", "underfit_gap=inf"),
    ({"layers": ()}, ValueError, "layers", "layers=()"),
    ({"verbose": "1"}, TypeError, "verbose", "verbose='1'"),
]


@pytest.mark.parametrize("changes, exc, name, received", ADAPTIVE)
def test_adaptive_dropout_refuses(changes, exc, name, received):
    assert_bad_input(lambda: C.AdaptiveDropout(**changes), exc, name, received)


@pytest.mark.parametrize(
    "changes, exc, name, received",
    [
        ({"per_batch": 1}, TypeError, "per_batch", "per_batch=1"),
        ({"layers": []}, ValueError, "layers", "layers=[]"),
        ({"layers": 2.5}, TypeError, "layers", "layers=2.5"),
    ],
)
def test_dropout_logger_refuses(changes, exc, name, received):
    assert_bad_input(lambda: C.DropoutLogger(**changes), exc, name, received)
