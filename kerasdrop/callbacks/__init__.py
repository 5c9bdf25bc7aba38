"""Callbacks that schedule, adapt and log dropout rates during `fit`.

All of them reach layers through `self.model` at each use (on JAX that syncs
the mid-epoch training state), hold no model reference at construction (so
KerasTuner can deep-copy them per trial), and only assign rate and step
variables, which never retraces the compiled train step (a per-batch
`DropoutScheduler` of `Schedule`s runs them in it: see its docstring). Each
writes the live rates into `logs` as `dropout/<path>` (`log_keys`: the
layer's name for a layer of the model's own graph), so History, CSVLogger,
the progress bar and TensorBoard show them.

One concept per module: `selection` (finding layers, logging rates),
`scheduler` (`DropoutScheduler`), `in_graph` (its per-batch schedules in the
train step), `adaptive` (`AdaptiveDropout`), `logger` (`DropoutLogger`) and
`backup` (`BackupAndRestore`).
"""

from kerasdrop.callbacks.adaptive import AdaptiveDropout
from kerasdrop.callbacks.backup import BackupAndRestore
from kerasdrop.callbacks.logger import DropoutLogger
from kerasdrop.callbacks.scheduler import MODES, UNITS, DropoutScheduler
from kerasdrop.callbacks.selection import (
    LOG_PREFIX,
    log_key,
    log_keys,
    log_rates,
    select_layers,
)

__all__ = [
    "AdaptiveDropout",
    "BackupAndRestore",
    "DropoutLogger",
    "DropoutScheduler",
    "LOG_PREFIX",
    "MODES",
    "UNITS",
    "log_key",
    "log_keys",
    "log_rates",
    "select_layers",
]
