"""`DropoutScheduler`: dropout rates from a schedule, per epoch or batch."""

import inspect

import keras

from kerasdrop import _checks, graph
from kerasdrop import schedules as schedules_lib
from kerasdrop.callbacks import in_graph
from kerasdrop.callbacks.batch_index import BatchIndex
from kerasdrop.callbacks.selection import (
    check_layers,
    log_keys,
    log_rates,
    select_layers,
)

UNITS = ("epoch", "batch")
MODES = ("set", "scale")


def check_schedule(schedule):
    """`schedule=` of `DropoutScheduler`: a Schedule, a rate, a callable or a
    dict of them (a config dict from `get_config` is deserialized)."""
    if isinstance(schedule, dict) and {"class_name", "config"} <= set(schedule):
        schedule = schedules_lib.deserialize(schedule)  # from get_config
    if isinstance(schedule, dict):
        if not schedule:
            raise _checks.value_error(
                "schedule",
                "a non-empty dict from layer-name pattern to schedule",
                schedule,
            )
        for pattern in schedule:
            graph.check_selector("schedule", pattern)
        return {pattern: check_schedule(value) for pattern, value in schedule.items()}
    if _checks.is_real(schedule):
        return schedules_lib.Constant(_checks.check_rate("schedule", schedule))
    if isinstance(schedule, schedules_lib.Schedule):
        return schedule
    if callable(schedule):
        return _check_callable(schedule)
    raise _checks.type_error(
        "schedule",
        "a `kerasdrop.schedules.Schedule`, a callable `(index, current_rate) -> "
        "rate`, or a dict from layer-name pattern to one of those",
        schedule,
    )


def _check_callable(schedule):
    """A plain callable must accept `(index, current_rate)`; checked from its
    signature, without calling it."""
    try:
        signature = inspect.signature(schedule)
    except (TypeError, ValueError):  # no signature (some builtins): trust it
        return schedule
    try:
        signature.bind(0, 0.0)
    except TypeError:
        raise _checks.invalid_type(
            "schedule",
            "A callable schedule is called as `schedule(index, current_rate)` "
            "and must accept those two positional arguments (for a function of "
            "the index only, write `lambda index, rate: f(index)` or use a "
            "`kerasdrop.schedules.Schedule`).",
            f"schedule={schedule!r} with signature {signature}",
        ) from None
    return schedule


def checked_rate(value, factor, where):
    """A schedule's `value` times `factor`, checked as the layers check a rate
    (float32 rule) before anything is assigned; `where` names layer and index."""
    if not _checks.is_real(value):
        raise TypeError(
            f"The schedule of DropoutScheduler returned {value!r} of type "
            f"{type(value).__name__} {where}; expected a float rate in [0, 1)."
        )
    value = float(value) * factor
    try:
        return _checks.check_rate("rate", value)
    except ValueError:
        raise ValueError(
            f"The schedule of DropoutScheduler gave rate {value!r} {where}; a "
            "rate must be a float in [0, 1) that stays below 1 in float32. "
            "Nothing was assigned at this step."
        ) from None


@keras.saving.register_keras_serializable(package="kerasdrop")
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

    With `unit="batch"` and `Schedule`s only, the schedule runs inside the
    compiled train step: each selected layer evaluates it at its step
    variable, as a layer built with a schedule does, and the callback only
    sets the steps at each epoch's start (no Python per batch; the first
    `fit` traces the train step once more, later ones with the same
    schedules reuse it). The rates reach the logs at each epoch's end (per
    batch: `DropoutLogger(per_batch=True)`); at the end of `fit` the layers
    keep their last rate and get their step back. A callable schedule, or
    `unit="epoch"`, assigns the rate variables from Python instead.

    The batch index is `epoch * steps + batch` when Keras knows the epoch
    length (`params["steps"]`), so a run resumed by
    `keras.callbacks.BackupAndRestore` continues the trajectory exactly. On a
    dataset of unknown length (a filtered `tf.data` dataset, a generator) the
    callback counts the batches trained; a fit that starts at a later epoch
    takes the count of the earlier ones from
    `kerasdrop.callbacks.BackupAndRestore` and raises a `ValueError` before
    the first batch when nothing recorded it.
    A value of a callable schedule that is NaN or outside `[0, 1)` (or
    rounds to 1 in float32, as for `layer.rate`) raises a `ValueError`
    naming the index and layer before anything is assigned (a `Schedule`
    clips its values into that range).

    Example:

    >>> import keras, kerasdrop
    >>> cb = kerasdrop.callbacks.DropoutScheduler(
    ...     kerasdrop.schedules.Linear(0.5, 0.1, steps=20), unit="epoch")
    >>> # model.fit(x, y, epochs=20, callbacks=[cb])
    """

    def __init__(self, schedule, layers=None, unit="epoch", mode="set", verbose=0):
        super().__init__()
        self.schedule = check_schedule(schedule)
        self.layers = check_layers(layers)
        self.unit = _checks.check_choice("unit", unit, UNITS)
        self.mode = _checks.check_choice("mode", mode, MODES)
        self.verbose = _checks.check_int("verbose", verbose, minimum=0)
        self._index = BatchIndex()
        self._pairs = None  # (layer, schedule) for the current fit only
        self._model_id = None
        self._last = {}  # id(layer) -> rate last assigned or read
        self._keys = {}  # id(layer) -> its logs key
        self._drive = None  # in_graph.Drive while the schedules run in-graph
        self._logged = None  # in-graph: {key: layer} logged at each epoch end

    # -- targets ------------------------------------------------------------
    def _targets(self, sites=None):
        """(layer, schedule) pairs, found through `self.model` at each use."""
        layers = select_layers(
            self.model, self.layers, learned=False, who="DropoutScheduler", sites=sites
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
            raise _checks.invalid_value(
                "schedule",
                f"The patterns {unused} match no kerasdrop dropout layer; "
                f"available: {[layer.name for layer in layers]}.",
                f"schedule keys {list(self.schedule)}",
            )
        return pairs

    def _refresh(self):
        """Finds the targets through `self.model` and reads their live rates."""
        model = self.model
        sites = graph.find(model)
        self._pairs = self._targets(sites)
        self._keys = {
            id(layer): key for key, layer in log_keys(model, None, sites).items()
        }
        self._model_id = id(model)
        self._check_own_schedules()
        self._last = {id(layer): layer.rate for layer, _ in self._pairs}

    def _check_own_schedules(self):
        for layer, _ in self._pairs:
            if layer.schedule is not None:
                raise ValueError(
                    f"Layer '{layer.name}' follows its own schedule "
                    f"{layer.schedule!r}; DropoutScheduler cannot also set its "
                    "rate. Select other layers with `layers=`."
                )

    def _in_graph(self):
        """Whether this fit runs the schedules in the train step."""
        schedules = (
            self.schedule.values()
            if isinstance(self.schedule, dict)
            else [self.schedule]
        )
        return self.unit == "batch" and all(
            isinstance(s, schedules_lib.Schedule) for s in schedules
        )

    def _driver(self, layer, schedule):
        if self.mode == "scale":
            return schedules_lib.Scaled(schedule, layer.base_rate)
        return schedule

    # -- Python path --------------------------------------------------------
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

    def _value(self, schedule, index, layer):
        last = self._last[id(layer)]
        value = (
            schedule(index)
            if isinstance(schedule, schedules_lib.Schedule)
            else (schedule(index, last))
        )
        where = f"for layer '{layer.name}' at {self.unit} {index}"
        factor = layer.base_rate if self.mode == "scale" else 1.0
        return checked_rate(value, factor, where)

    def _log(self, logs):
        if logs is not None:
            for layer, _ in self._pairs or ():
                logs[self._keys[id(layer)]] = self._last[id(layer)]

    # -- hooks --------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._pairs = self._logged = None
        self._index = BatchIndex()
        if not self._in_graph():
            self._targets()  # fail fast on a bad selection
            return
        model = self.model
        sites = graph.find(model)  # once per fit: it is the costly part
        self._logged = log_keys(model, None, sites)  # {key: layer}
        self._pairs = self._targets(sites)
        self._check_own_schedules()
        self._drive = in_graph.Drive.of(model)
        pairs = [(layer, self._driver(layer, s)) for layer, s in self._pairs]
        self._drive.lend(self, pairs, fit=self.params)

    def on_epoch_begin(self, epoch, logs=None):
        if self.unit == "batch":
            first = self._index.begin_epoch(epoch, self.params, self.model)
            if self._drive is not None:
                self._drive.seek(self, first)
                return
        # Once per epoch: re-find the layers and re-read their live rates
        # (after BackupAndRestore or any other callback changed them).
        self._refresh()
        if self.unit == "epoch":
            self._apply(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self.unit == "batch" and self._drive is None:
            self._apply(self._index.at(batch))

    def on_train_batch_end(self, batch, logs=None):
        if self.unit == "batch":
            # Counted here, not from the layers' steps: on TF the call that
            # finds the end of a dataset of unknown length advances them.
            self._index.end_batch(batch)
            if self._drive is None:
                self._log(logs)  # the values just assigned: no device read

    def on_epoch_end(self, epoch, logs=None):
        log_rates(self.model, logs, self._logged)

    def on_train_end(self, logs=None):
        if self._drive is not None:
            self._drive.release(self)
        self._drive = None
        self._pairs = self._logged = None  # hold no layer between fits
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
