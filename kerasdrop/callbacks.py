"""Callbacks that schedule, adapt and log dropout rates during `fit`.

All of them reach layers through `self.model` at each use (on JAX that syncs
the mid-epoch training state), hold no model reference at construction (so
KerasTuner can deep-copy them per trial), and only assign rate variables,
which never retraces the compiled train step. Each writes the live rates
into `logs` as `dropout/<layer name>`, so History, CSVLogger, the progress
bar and TensorBoard show them.
"""

import inspect
import json
import numbers
import os
import warnings
import weakref

import keras
import numpy as np

from kerasdrop import _checks, graph
from kerasdrop import schedules as schedules_lib

_register = keras.saving.register_keras_serializable(package="kerasdrop")

UNITS = ("epoch", "batch")
MODES = ("set", "scale")
LOG_PREFIX = "dropout/"

#: model -> (epoch, batches trained before it) where a kerasdrop
#: `BackupAndRestore` resumed the model's training; read by `DropoutScheduler`.
_RESUMED = weakref.WeakKeyDictionary()


# ----------------------------------------------------------------------------
# Finding layers.
# ----------------------------------------------------------------------------
def select_layers(
    model, selector=None, argument="layers", learned=True, who="kerasdrop"
):
    """kerasdrop dropout layers of `model` picked by `selector`.

    `selector` is None (all), a name, a regex (full match), a layer class, or
    a list of them. Raises a clear error when the model has no kerasdrop
    layer (pointing to `kerasdrop.convert` if it has stock Keras dropout) or
    when the selector matches nothing (listing the available names). With
    `learned=False`, layers that learn their rate (Concrete Dropout) are left
    out of a `None` selection and refused when named.

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)),
    ...     kerasdrop.layers.Dropout(0.1, name="input_drop"),
    ...     keras.layers.Dense(8),
    ...     kerasdrop.layers.Dropout(0.3, name="hidden_drop")])
    >>> [l.name for l in kerasdrop.callbacks.select_layers(model, "hidden.*")]
    ['hidden_drop']
    """
    sites = graph.find(model)
    candidates = [site.layer for site in sites if site.status == "kerasdrop"]
    others = graph.unreached(model, sites)
    if not candidates:
        convertible = [site.path for site in sites if site.status == "convertible"]
        if convertible:
            raise ValueError(
                f"Model '{model.name}' has dropout layers {convertible} "
                "but no kerasdrop layer: their rate is a Python float that a "
                "compiled train step cannot see change. Use "
                "`model = kerasdrop.convert(model)` first."
            )
        reach = "".join(f" {graph.describe(site)}." for site in others)
        raise ValueError(
            f"Model '{model.name}' has no kerasdrop dropout layer to schedule "
            f"or log.{reach}"
        )
    graph.warn_unreached(model, who, others, stacklevel=4)
    if selector is None:
        if not learned:
            candidates = [layer for layer in candidates if not layer.learned]
            if not candidates:
                raise ValueError(
                    f"Model '{model.name}' has only dropout layers that learn "
                    "their rate (Concrete Dropout); there is no rate to set."
                )
        return candidates
    items = graph.check_selector(argument, selector)
    chosen = [
        layer for layer in candidates if any(graph.matches(s, layer) for s in items)
    ]
    refused = [layer.name for layer in chosen if layer.learned and not learned]
    if refused:
        raise ValueError(
            f"Invalid value received for argument `{argument}`. Layers "
            f"{refused} learn their rate (Concrete Dropout) and cannot be "
            f"scheduled. Received: {argument}={selector!r}"
        )
    if not chosen:
        raise ValueError(
            f"Invalid value received for argument `{argument}`. It matches no "
            f"kerasdrop dropout layer; available: "
            f"{[layer.name for layer in candidates]}. "
            f"Received: {argument}={selector!r}"
        )
    return chosen


def log_rates(model, logs, layers=None):
    """Writes `dropout/<name>` = live rate for each kerasdrop layer into `logs`.

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)),
    ...     kerasdrop.layers.Dropout(0.25, name="drop")])
    >>> logs = {}
    >>> kerasdrop.callbacks.log_rates(model, logs)
    >>> logs
    {'dropout/drop': 0.25}
    """
    if logs is None:
        return
    for layer in layers if layers is not None else graph.dropout_layers(model):
        logs[LOG_PREFIX + layer.name] = layer.rate


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected one of "
            f"{choices}. Received: {name}={value!r}"
        )
    return value


def _check_verbose(verbose):
    return _checks.check_int("verbose", verbose, minimum=0)


def _check_layers(layers):
    """`layers=` of the callbacks: None or a non-empty selector."""
    if layers is not None:
        if isinstance(layers, (list, tuple)) and not layers:
            raise ValueError(
                "Invalid value received for argument `layers`. Expected None "
                "(all kerasdrop layers) or a non-empty selection. "
                f"Received: layers={layers!r}"
            )
        graph.check_selector("layers", layers)
    return layers


# ----------------------------------------------------------------------------
# DropoutScheduler.
# ----------------------------------------------------------------------------
def _check_schedule_arg(schedule):
    if isinstance(schedule, dict) and {"class_name", "config"} <= set(schedule):
        schedule = schedules_lib.deserialize(schedule)  # from get_config
    if isinstance(schedule, dict):
        if not schedule:
            raise ValueError(
                "Invalid value received for argument `schedule`. Expected a "
                "non-empty dict from layer-name pattern to schedule. "
                f"Received: schedule={schedule!r}"
            )
        out = {}
        for pattern, value in schedule.items():
            graph.check_selector("schedule", pattern)
            out[pattern] = _check_schedule_arg(value)
        return out
    if isinstance(schedule, numbers.Real) and not isinstance(schedule, bool):
        return schedules_lib.Constant(schedules_lib.check_rate("schedule", schedule))
    if isinstance(schedule, schedules_lib.Schedule):
        return schedule
    if callable(schedule):
        return _check_schedule_callable(schedule)
    raise TypeError(
        "Invalid value received for argument `schedule`. Expected a "
        "`kerasdrop.schedules.Schedule`, a callable `(index, current_rate) -> "
        "rate`, or a dict from layer-name pattern to one of those. "
        f"Received: schedule={schedule!r} of type {type(schedule).__name__}"
    )


def _check_schedule_callable(schedule):
    """A plain callable must accept `(index, current_rate)`; checked from its
    signature, without calling it."""
    try:
        signature = inspect.signature(schedule)
    except (TypeError, ValueError):  # no signature (some builtins): trust it
        return schedule
    try:
        signature.bind(0, 0.0)
    except TypeError:
        raise TypeError(
            "Invalid value received for argument `schedule`. A callable "
            "schedule is called as `schedule(index, current_rate)` and must "
            "accept those two positional arguments (for a function of the "
            "index only, write `lambda index, rate: f(index)` or use a "
            "`kerasdrop.schedules.Schedule`). "
            f"Received: schedule={schedule!r} with signature {signature}"
        ) from None
    return schedule


@_register
class DropoutScheduler(keras.callbacks.Callback):
    """Sets dropout rates from a schedule at each epoch or batch.

    Args:
        schedule: a `kerasdrop.schedules.Schedule` (called with the epoch or
            global batch index), a callable `(index, current_rate) -> rate`
            as for `keras.callbacks.LearningRateScheduler`, or a dict from
            layer-name pattern (name or regex) to one of those, for
            per-layer schedules.
        layers: which kerasdrop layers to drive: None (all, nested models
            included), a name, a regex, a layer class, or a list of them.
        unit: `"epoch"` (index = epoch, set at each epoch's start) or
            `"batch"` (index = global batch count, set before every batch).
        mode: `"set"` assigns the schedule's value; `"scale"` multiplies each
            layer's base rate (the rate it was built with) by it (a factor in
            `[0, 1)`), so layers at 0.1 and 0.5 keep their ratio.
        verbose: 1 prints each change of rate (epoch unit only).

    The batch index is `epoch * steps + batch` when Keras knows the epoch
    length (`params["steps"]`), so a run resumed by
    `keras.callbacks.BackupAndRestore` continues the trajectory exactly. On a
    dataset of unknown length (a filtered `tf.data` dataset, a generator) the
    callback counts the batches trained; a fit that starts at a later epoch
    takes the count of the earlier ones from
    `kerasdrop.callbacks.BackupAndRestore` and raises a `ValueError` before
    the first batch when nothing recorded it.
    A value that is NaN or outside `[0, 1)` (or rounds to 1 in float32, as
    for `layer.rate`) raises a `ValueError` naming the index and layer
    before anything is assigned.

    Example:

    >>> import keras, kerasdrop
    >>> cb = kerasdrop.callbacks.DropoutScheduler(
    ...     kerasdrop.schedules.Linear(0.5, 0.1, steps=20), unit="epoch")
    >>> # model.fit(x, y, epochs=20, callbacks=[cb])
    """

    def __init__(self, schedule, layers=None, unit="epoch", mode="set", verbose=0):
        super().__init__()
        self.schedule = _check_schedule_arg(schedule)
        self.layers = _check_layers(layers)
        self.unit = _check_choice("unit", unit, UNITS)
        self.mode = _check_choice("mode", mode, MODES)
        self.verbose = _check_verbose(verbose)
        self._epoch = 0
        self._before = None  # unknown length: batches trained before the epoch
        self._in_epoch = 0  # and in it so far
        self._pairs = None  # (layer, schedule) for the current fit only
        self._model_id = None
        self._last = {}  # id(layer) -> rate last assigned or read

    # -- targets ------------------------------------------------------------
    def _targets(self):
        """(layer, schedule) pairs, found through `self.model` at each use."""
        model = self.model
        layers = select_layers(
            model, self.layers, learned=False, who="DropoutScheduler"
        )
        if not isinstance(self.schedule, dict):
            return [(layer, self.schedule) for layer in layers]
        pairs, used = [], set()
        for layer in layers:
            for pattern, schedule in self.schedule.items():
                if graph.matches(pattern, layer):
                    pairs.append((layer, schedule))
                    used.add(pattern)
                    break
        unused = [p for p in self.schedule if p not in used]
        if unused:
            raise ValueError(
                "Invalid value received for argument `schedule`. The patterns "
                f"{unused} match no kerasdrop dropout layer; available: "
                f"{[layer.name for layer in layers]}. "
                f"Received: schedule keys {list(self.schedule)}"
            )
        return pairs

    def _apply(self, index):
        model = self.model  # on JAX this syncs the training state first
        if self._pairs is None or self._model_id != id(model):
            self._refresh()
        values = [
            (layer, self._value(schedule, index, layer))
            for layer, schedule in self._pairs
        ]
        for layer, value in values:  # assign only once every value is valid
            if abs(self._last[id(layer)] - value) <= 1e-9:
                continue  # unchanged: no device write
            layer.assign_rate(value)
            self._last[id(layer)] = value
            if self.verbose and self.unit == "epoch":
                print(
                    f"\nEpoch {index + 1}: DropoutScheduler set the rate of "
                    f"'{layer.name}' to {value:.4g}."
                )

    def _refresh(self):
        """Finds the targets through `self.model` and reads their live rates."""
        model = self.model
        self._pairs = self._targets()
        self._model_id = id(model)
        for layer, _ in self._pairs:
            if layer.schedule is not None:
                raise ValueError(
                    f"Layer '{layer.name}' follows its own schedule "
                    f"{layer.schedule!r}; DropoutScheduler cannot also set its "
                    "rate. Select other layers with `layers=`."
                )
        self._last = {id(layer): layer.rate for layer, _ in self._pairs}

    def _value(self, schedule, index, layer):
        if isinstance(schedule, schedules_lib.Schedule):
            value = schedule(index)
        else:
            value = schedule(index, self._last[id(layer)])
        if isinstance(value, bool) or not isinstance(
            value, (numbers.Real, np.floating, np.integer)
        ):
            raise TypeError(
                f"The schedule of DropoutScheduler returned {value!r} of type "
                f"{type(value).__name__} for layer '{layer.name}' at "
                f"{self.unit} {index}; expected a float rate in [0, 1)."
            )
        value = float(value)
        if self.mode == "scale":
            value = value * layer.base_rate
        try:  # the layers' own check (float32 rule), before any assignment
            schedules_lib.check_rate("rate", value)
        except ValueError:
            raise ValueError(
                f"The schedule of DropoutScheduler gave rate {value!r} for "
                f"layer '{layer.name}' at {self.unit} {index}; a rate must be "
                "a float in [0, 1) that stays below 1 in float32. Nothing was "
                "assigned at this step."
            ) from None
        return value

    def _log(self, logs):
        if logs is not None:
            for layer, _ in self._pairs or ():
                logs[LOG_PREFIX + layer.name] = self._last[id(layer)]

    # -- hooks --------------------------------------------------------------
    def _count_batches(self, epoch):
        """Batches trained before `epoch` when the epoch length is unknown.

        Counted from the batches that ran (Keras opens one batch more than
        it trains to find the end of such a dataset); at the first epoch of a
        fit that does not start at 0, taken from
        `kerasdrop.callbacks.BackupAndRestore`.
        """
        resumed = _RESUMED.get(self.model)
        if self._before is not None:
            self._before += self._in_epoch
        elif epoch == 0:
            self._before = 0
        elif resumed is not None and resumed[0] == epoch:
            self._before = resumed[1]
        else:
            raise ValueError(
                f"DropoutScheduler(unit='batch') starts at epoch {epoch} on a "
                "dataset of unknown length, so it cannot know how many "
                "batches the earlier epochs had (its global batch index). "
                "Resume with `kerasdrop.callbacks.BackupAndRestore` in place "
                "of `keras.callbacks.BackupAndRestore` (it records the "
                "count), or pass `steps_per_epoch` to `fit`."
            )
        self._in_epoch = 0

    def on_train_begin(self, logs=None):
        self._pairs = None
        self._before = None
        self._targets()  # fail fast on a bad selection

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self.unit == "batch" and not (self.params or {}).get("steps"):
            self._count_batches(epoch)
        # Once per epoch: re-find the layers and re-read their live rates
        # (after BackupAndRestore or any other callback changed them).
        self._refresh()
        if self.unit == "epoch":
            self._apply(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self.unit == "batch":
            steps = (self.params or {}).get("steps")
            # Known epoch length: the index follows from (epoch, batch), so a
            # resumed run continues exactly; otherwise from the count.
            index = self._epoch * steps + batch if steps else self._before + batch
            self._apply(index)

    def on_train_batch_end(self, batch, logs=None):
        if self.unit == "batch":
            self._in_epoch = batch + 1
            self._log(logs)  # the values just assigned: no device read

    def on_epoch_end(self, epoch, logs=None):
        log_rates(self.model, logs)

    def on_train_end(self, logs=None):
        self._pairs = None  # hold no layer between fits (deep copies)
        self._last = {}

    def get_config(self):
        schedule = self.schedule
        if isinstance(schedule, dict):
            schedule = {k: schedules_lib.serialize(v) for k, v in schedule.items()}
        elif isinstance(schedule, schedules_lib.Schedule):
            schedule = schedules_lib.serialize(schedule)
        return {
            "schedule": schedule,
            "layers": self.layers,
            "unit": self.unit,
            "mode": self.mode,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        """Inverse of `get_config` (a plain-callable schedule can't be saved)."""
        return cls(**config)


# ----------------------------------------------------------------------------
# Adaptive rate.
# ----------------------------------------------------------------------------
@_register
class AdaptiveDropout(keras.callbacks.Callback):
    """Raises the dropout rate when the model starts to overfit.

    In the style of `keras.callbacks.ReduceLROnPlateau`. After each epoch it
    reads `monitor`:

    - `monitor="gap"` (default): the generalization gap `val_loss - loss`.
      When the gap has widened by more than `min_delta` over the smallest
      gap seen, for `patience` epochs in a row, every selected layer's rate
      is multiplied by `factor` (a layer at 0 starts at `start_rate`).
    - any other key (e.g. `"val_loss"`, `"val_accuracy"`): when it has not
      improved by `min_delta` for `patience` epochs, the rates rise likewise.

    With `lower_on_underfit=True`, a gap at or below `underfit_gap` for
    `patience` epochs (validation as good as training: the model underfits)
    divides the rates by `factor`. Rates stay in `[min_rate, max_rate]`;
    after a change, `cooldown` epochs pass before the next. A missing
    monitored value warns and changes nothing.

    Args:
        monitor: `"gap"` or a logs key.
        factor: > 1, the multiplicative step.
        patience: epochs of the condition before a change.
        cooldown: epochs to wait after a change.
        min_delta: threshold of a significant change.
        min_rate, max_rate: bounds of the rate, `0 <= min_rate <= max_rate < 1`.
        start_rate: the rate a layer at 0 jumps to when raised.
        lower_on_underfit: also lower the rate on underfitting.
        underfit_gap: gap at or below which the model counts as underfitting.
        mode: `"auto"`, `"min"` or `"max"` for a metric monitor.
        layers: selection as in `DropoutScheduler`.
        verbose: 1 prints each change.

    Example:

    >>> import kerasdrop
    >>> cb = kerasdrop.callbacks.AdaptiveDropout(patience=2, max_rate=0.5)
    >>> # model.fit(x, y, validation_data=..., callbacks=[cb])
    """

    def __init__(
        self,
        monitor="gap",
        factor=1.5,
        patience=2,
        cooldown=0,
        min_delta=1e-3,
        min_rate=0.0,
        max_rate=0.5,
        start_rate=0.05,
        lower_on_underfit=False,
        underfit_gap=0.0,
        mode="auto",
        layers=None,
        verbose=0,
    ):
        super().__init__()
        if not isinstance(monitor, str):
            raise TypeError(
                "Invalid value received for argument `monitor`. Expected 'gap' "
                f"or a logs key. Received: monitor={monitor!r}"
            )
        if not monitor:
            raise ValueError(
                "Invalid value received for argument `monitor`. Expected 'gap' "
                f"or a logs key. Received: monitor={monitor!r}"
            )
        self.monitor = monitor
        self.factor = float(
            _checks.check_number("factor", factor, minimum=1, strict=True)
        )
        self.patience = _checks.check_int("patience", patience, minimum=0)
        self.cooldown = _checks.check_int("cooldown", cooldown, minimum=0)
        self.min_delta = float(_checks.check_number("min_delta", min_delta, minimum=0))
        for name, value in (
            ("min_rate", min_rate),
            ("max_rate", max_rate),
            ("start_rate", start_rate),
        ):
            schedules_lib.check_rate(name, value)
        if min_rate > max_rate:
            raise ValueError(
                "Invalid value received for argument `min_rate`. Expected "
                f"min_rate <= max_rate={max_rate!r}. Received: min_rate={min_rate!r}"
            )
        self.min_rate = float(min_rate)
        self.max_rate = float(max_rate)
        self.start_rate = float(start_rate)
        if not isinstance(lower_on_underfit, bool):
            raise TypeError(
                "Invalid value received for argument `lower_on_underfit`. "
                f"Expected a bool. Received: lower_on_underfit={lower_on_underfit!r}"
            )
        self.lower_on_underfit = lower_on_underfit
        self.underfit_gap = float(_checks.check_number("underfit_gap", underfit_gap))
        self.mode = _check_choice("mode", mode, ("auto", "min", "max"))
        self.layers = _check_layers(layers)
        self.verbose = _check_verbose(verbose)
        self._reset()

    def _reset(self):
        self.best = None
        self.wait = 0
        self.under_wait = 0
        self.cooldown_counter = 0

    def _improved(self, current):
        if self.best is None:
            return True
        if self.monitor == "gap":
            return current < self.best - self.min_delta  # smaller gap is better
        mode = self.mode
        if mode == "auto":
            mode = "max" if any(k in self.monitor for k in ("acc", "auc")) else "min"
        if mode == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def _current(self, logs):
        logs = logs or {}
        if self.monitor == "gap":
            if "loss" in logs and "val_loss" in logs:
                return float(logs["val_loss"]) - float(logs["loss"])
            missing = "val_loss" if "loss" in logs else "loss"
        else:
            if self.monitor in logs:
                return float(logs[self.monitor])
            missing = self.monitor
        warnings.warn(
            f"AdaptiveDropout monitors {self.monitor!r} but {missing!r} is not in "
            f"the logs (available: {sorted(logs)}); the rates stay unchanged. "
            "Pass validation data to fit for 'gap' or 'val_*' monitors.",
            stacklevel=2,
        )
        return None

    def _change(self, epoch, up):
        for layer in select_layers(
            self.model, self.layers, learned=False, who="AdaptiveDropout"
        ):
            if layer.schedule is not None:
                continue
            old = layer.rate
            if up:
                new = old * self.factor if old > 0 else self.start_rate
            else:
                new = old / self.factor
            new = min(self.max_rate, max(self.min_rate, new))
            if abs(new - old) > 1e-7:
                layer.rate = new
                if self.verbose:
                    print(
                        f"\nEpoch {epoch + 1}: AdaptiveDropout "
                        f"{'raised' if up else 'lowered'} the rate of "
                        f"'{layer.name}' from {old:.4g} to {new:.4g}."
                    )
        self.cooldown_counter = self.cooldown
        self.wait = 0
        self.under_wait = 0

    def on_train_begin(self, logs=None):
        self._reset()
        select_layers(self.model, self.layers, learned=False, who="AdaptiveDropout")

    def on_epoch_end(self, epoch, logs=None):
        current = self._current(logs)
        if current is not None:
            if self.monitor == "gap":
                # Widened: larger than the smallest gap seen by > min_delta.
                worse = self.best is not None and current > self.best + self.min_delta
                if self.best is None or current < self.best:
                    self.best = current
            else:
                worse = not self._improved(current)
                if not worse:
                    self.best = current
            underfit = (
                self.lower_on_underfit
                and self.monitor == "gap"
                and current <= self.underfit_gap
            )
            if self.cooldown_counter > 0:  # as in ReduceLROnPlateau
                self.cooldown_counter -= 1
                self.wait = self.under_wait = 0
            if self.cooldown_counter == 0:
                self.wait = self.wait + 1 if worse else 0
                self.under_wait = self.under_wait + 1 if underfit else 0
                if self.wait >= max(self.patience, 1):
                    self._change(epoch, up=True)
                    self.best = current if self.monitor == "gap" else self.best
                elif self.under_wait >= max(self.patience, 1):
                    self._change(epoch, up=False)
        log_rates(self.model, logs)

    def get_config(self):
        return {
            "monitor": self.monitor,
            "factor": self.factor,
            "patience": self.patience,
            "cooldown": self.cooldown,
            "min_delta": self.min_delta,
            "min_rate": self.min_rate,
            "max_rate": self.max_rate,
            "start_rate": self.start_rate,
            "lower_on_underfit": self.lower_on_underfit,
            "underfit_gap": self.underfit_gap,
            "mode": self.mode,
            "layers": self.layers,
            "verbose": self.verbose,
        }


@_register
class DropoutLogger(keras.callbacks.Callback):
    """Only logs: writes every kerasdrop layer's live rate into `logs`.

    Keys are `dropout/<layer name>`, at each epoch end (and each batch end
    with `per_batch=True`), so History, CSVLogger, the progress bar and
    `keras.callbacks.TensorBoard` (placed after it) record them. Learned
    rates (Concrete Dropout) are logged the same way.

    Example:

    >>> import kerasdrop
    >>> logger = kerasdrop.callbacks.DropoutLogger()
    >>> # history = model.fit(..., callbacks=[logger]); history.history["dropout/drop"]
    """

    def __init__(self, layers=None, per_batch=False):
        super().__init__()
        self.layers = _check_layers(layers)
        if not isinstance(per_batch, bool):
            raise TypeError(
                "Invalid value received for argument `per_batch`. Expected a "
                f"bool. Received: per_batch={per_batch!r}"
            )
        self.per_batch = per_batch
        self._layers = None  # found at train begin, through `self.model`

    def on_train_begin(self, logs=None):
        self._layers = select_layers(self.model, self.layers, who="DropoutLogger")

    def on_train_batch_end(self, batch, logs=None):
        if self.per_batch:
            model = self.model  # on JAX this syncs the training state first
            log_rates(model, logs, self._layers)

    def on_epoch_end(self, epoch, logs=None):
        model = self.model
        log_rates(model, logs, self._layers)

    def get_config(self):
        return {"layers": self.layers, "per_batch": self.per_batch}


# ----------------------------------------------------------------------------
# Resuming.
# ----------------------------------------------------------------------------
class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` that also resumes dropout exactly.

    Keras' callback restores the weights (the layers' rate and step
    variables included) and restarts the interrupted epoch from its first
    batch. With `save_freq=<int>` the checkpoint can be mid-epoch: the
    epoch's batches before it are trained again, and a counter restored from
    it (a layer's in-graph schedule step, like the optimizer's `iterations`)
    stays ahead by them for the rest of training. On a dataset of unknown
    length nothing tells `DropoutScheduler(unit="batch")` how many batches
    the earlier epochs had.

    This subclass takes the same arguments and also writes, with each
    checkpoint, the batches trained before its epoch and in it. When it
    resumes, it moves every in-graph schedule back to the step of the
    epoch's first batch and gives `DropoutScheduler` the batch count, so the
    resumed run sees the rates of an uninterrupted one, batch for batch.
    (The optimizer's `iterations` stays as Keras restores it.)

    Example:

    >>> import kerasdrop
    >>> backup = kerasdrop.callbacks.BackupAndRestore("/tmp/run", save_freq=100)
    >>> # model.fit(dataset, epochs=10, callbacks=[backup])
    """

    def __init__(
        self,
        backup_dir,
        save_freq="epoch",
        double_checkpoint=False,
        delete_checkpoint=True,
    ):
        super().__init__(
            backup_dir,
            save_freq=save_freq,
            double_checkpoint=double_checkpoint,
            delete_checkpoint=delete_checkpoint,
        )
        # Keras' private save hook and metadata file: refuse rather than
        # resume inexactly if this Keras version has neither.
        if not hasattr(self, "_training_metadata_path") or not hasattr(
            keras.callbacks.BackupAndRestore, "_save_model"
        ):
            raise RuntimeError(
                f"kerasdrop.callbacks.BackupAndRestore does not support the "
                f"BackupAndRestore of Keras {keras.__version__}."
            )
        self._before = 0  # batches trained before the current epoch
        self._in_epoch = 0

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)  # restores the weights and the epoch
        self._before = self._in_epoch = 0
        _RESUMED.pop(self.model, None)
        if not os.path.exists(self._training_metadata_path):
            return
        with open(self._training_metadata_path) as f:
            metadata = json.load(f)
        record = metadata.get("kerasdrop")
        if record is None:  # written by keras.callbacks.BackupAndRestore
            return
        self._before = record["batches_before_epoch"]
        replayed = record["batches_in_epoch"]
        for layer in graph.dropout_layers(self.model):
            if layer.schedule is not None and replayed:
                layer.step = layer.step - replayed
        _RESUMED[self.model] = (metadata["epoch"], self._before)

    def on_train_batch_end(self, batch, logs=None):
        self._in_epoch = batch + 1  # before Keras may save
        super().on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._before += self._in_epoch
        self._in_epoch = 0
        super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        _RESUMED.pop(self.model, None)
        super().on_train_end(logs)

    def _save_model(self):
        super()._save_model()
        with open(self._training_metadata_path) as f:
            metadata = json.load(f)
        metadata["kerasdrop"] = {
            "batches_before_epoch": self._before,
            "batches_in_epoch": self._in_epoch,
        }
        with open(self._training_metadata_path, "w") as f:
            json.dump(metadata, f)
