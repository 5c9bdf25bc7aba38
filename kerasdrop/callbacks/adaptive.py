"""`AdaptiveDropout`: raises the rate when the model starts to overfit."""

import warnings

import keras

from kerasdrop import _checks, _keras
from kerasdrop.callbacks.selection import check_layers, log_rates, select_layers

MONITOR_MODES = ("auto", "min", "max")


def keras_direction(model, monitor):
    """`"min"` or `"max"` for a logs key, by Keras' own rule.

    The rule of `MonitorCallback._set_monitor_op` (keras/src/callbacks/
    monitor_callback.py, Keras 3), which `EarlyStopping` and
    `ReduceLROnPlateau` apply in `mode="auto"`: the key without its `val_`
    prefix is `"loss"` (minimized), or the name of a compiled metric whose
    direction (`_keras.metric_direction`, `"up"` for accuracy, precision...)
    says; the last such metric decides. Otherwise a `ValueError` asks for
    `mode`. Read once the metrics are built (after the first epoch).
    """
    name = monitor.removeprefix("val_")
    direction = "min" if name == "loss" else None
    compiled = []
    for metric in getattr(model, "metrics", ()):
        inner = getattr(metric, "metrics", None)  # CompileMetrics, MetricsList
        if isinstance(inner, list):
            compiled.extend(inner)
    for metric in compiled:
        up = _keras.metric_direction(metric)
        if metric.name == name and up is not None:
            direction = "max" if up == "up" else "min"
    if direction is None:
        raise ValueError(
            f"AdaptiveDropout callback received monitor={monitor}, but Keras "
            "isn't able to automatically determine whether that metric should "
            "be maximized or minimized. Pass `mode='max'` in order to monitor "
            "based on the highest metric value, or pass `mode='min'` in order "
            "to use the lowest value."
        )
    return direction


class _Monitor:
    """What `AdaptiveDropout` watches: reads a value from the logs, and tells
    whether it got worse than the best so far."""

    def __init__(self, key, min_delta):
        self.key = key
        self.min_delta = min_delta

    def read(self, logs):
        """The value, or None (with a warning) when the logs lack it."""
        missing = [key for key in self.needs() if key not in logs]
        if not missing:
            return self.value(logs)
        warnings.warn(
            f"AdaptiveDropout monitors {self.key!r} but {missing[0]!r} is not in "
            f"the logs (available: {sorted(logs)}); the rates stay unchanged. "
            "Pass validation data to fit for 'gap' or 'val_*' monitors.",
            stacklevel=3,
        )
        return None


class GapMonitor(_Monitor):
    """The generalization gap `val_loss - loss`: it got worse when it widened
    by more than `min_delta` over the smallest gap seen; it also tells
    underfitting (a gap at or below `underfit_gap`)."""

    def needs(self):
        return ("loss", "val_loss")

    def value(self, logs):
        return float(logs["val_loss"]) - float(logs["loss"])

    def compare(self, current, best, model):
        """(worse, new best)."""
        worse = best is not None and current > best + self.min_delta
        return worse, current if best is None or current < best else best

    def after_raise(self, current, best):
        return current  # the widened gap is the new reference

    def underfits(self, current, underfit_gap):
        return current <= underfit_gap


class LogsMonitor(_Monitor):
    """A logs key (`"val_loss"`, `"val_precision"`...): it got worse when it
    did not improve by `min_delta` in the direction of `mode` (`"auto"`:
    `keras_direction`)."""

    def __init__(self, key, min_delta, mode):
        super().__init__(key, min_delta)
        self.mode = mode
        self.direction = None if mode == "auto" else mode

    def needs(self):
        return (self.key,)

    def value(self, logs):
        return float(logs[self.key])

    def compare(self, current, best, model):
        if self.direction is None:  # as Keras: once the metrics are built
            self.direction = keras_direction(model, self.key)
        if self.direction == "min":
            improved = best is None or current < best - self.min_delta
        else:
            improved = best is None or current > best + self.min_delta
        return not improved, current if improved else best

    def after_raise(self, current, best):
        return best

    def underfits(self, current, underfit_gap):
        return False


@keras.saving.register_keras_serializable(package="kerasdrop")
class AdaptiveDropout(keras.callbacks.Callback):
    """Raises the dropout rate when the model starts to overfit.

    In the style of `keras.callbacks.ReduceLROnPlateau`. After each epoch it
    reads `monitor`:

    - `monitor="gap"` (default): the generalization gap `val_loss - loss`.
      When the gap has widened by more than `min_delta` over the smallest
      gap seen, for `patience` epochs in a row, every selected layer's rate
      is multiplied by `factor` (a layer at 0 starts at `start_rate`).
    - any other key (e.g. `"val_loss"`, `"val_precision"`): when it has not
      improved by `min_delta` for `patience` epochs, the rates rise likewise.
      Improving means decreasing with `mode="min"`, increasing with
      `mode="max"`; `mode="auto"` decides by Keras' own rule, the one of
      `EarlyStopping` and `ReduceLROnPlateau`: `loss` is minimized, a
      compiled metric goes the way its class says (accuracy, precision,
      recall, AUC up; errors down), and any other key raises a `ValueError`
      asking for `mode` (see `keras_direction`).

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
        min_rate: lower bound of the rate, `0 <= min_rate <= max_rate`.
        max_rate: upper bound of the rate, `min_rate <= max_rate < 1`.
        start_rate: the rate a layer at 0 jumps to when raised.
        lower_on_underfit: also lower the rate on underfitting.
        underfit_gap: gap at or below which the model counts as underfitting.
        mode: `"auto"`, `"min"` or `"max"`, the direction of improvement of a
            logs key; the gap is always minimized (`"max"` is refused).
        layers: selection as in `DropoutScheduler`.
        verbose: 1 prints each change.

    Example:

    >>> import kerasdrop
    >>> cb = kerasdrop.callbacks.AdaptiveDropout(patience=2, max_rate=0.5)
    >>> # model.fit(x, y, validation_data=..., callbacks=[cb])
    >>> kerasdrop.callbacks.AdaptiveDropout(monitor="val_precision", mode="max").mode
    'max'
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
        self.monitor = _check_monitor(monitor)
        self.mode = _checks.check_choice("mode", mode, MONITOR_MODES)
        if monitor == "gap" and mode == "max":
            raise _checks.value_error(
                "mode", "'auto' or 'min' for monitor='gap' (a gap is minimized)", mode
            )
        self.factor = float(
            _checks.check_number("factor", factor, minimum=1, strict=True)
        )
        self.patience = _checks.check_int("patience", patience, minimum=0)
        self.cooldown = _checks.check_int("cooldown", cooldown, minimum=0)
        self.min_delta = float(_checks.check_number("min_delta", min_delta, minimum=0))
        self.min_rate, self.max_rate, self.start_rate = _check_rates(
            min_rate, max_rate, start_rate
        )
        self.lower_on_underfit = _checks.check_bool(
            "lower_on_underfit", lower_on_underfit
        )
        self.underfit_gap = float(_checks.check_number("underfit_gap", underfit_gap))
        self.layers = check_layers(layers)
        self.verbose = _checks.check_int("verbose", verbose, minimum=0)
        self._reset()

    def _reset(self):
        if self.monitor == "gap":
            self._monitor = GapMonitor("gap", self.min_delta)
        else:
            self._monitor = LogsMonitor(self.monitor, self.min_delta, self.mode)
        self.best = None
        self.wait = 0
        self.under_wait = 0
        self.cooldown_counter = 0

    def _current(self, logs):
        return self._monitor.read(logs or {})

    def _change(self, epoch, up):
        for layer in select_layers(
            self.model, self.layers, learned=False, who="AdaptiveDropout"
        ):
            if layer.schedule is not None:
                continue
            old = layer.rate
            new = (
                (old * self.factor if old > 0 else self.start_rate)
                if up
                else (old / self.factor)
            )
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

    def _count(self, epoch, current, worse, underfit):
        """Patience counting (after the cooldown, as in ReduceLROnPlateau)."""
        self.wait = self.wait + 1 if worse else 0
        self.under_wait = self.under_wait + 1 if underfit else 0
        if self.wait >= max(self.patience, 1):
            self._change(epoch, up=True)
            self.best = self._monitor.after_raise(current, self.best)
        elif self.under_wait >= max(self.patience, 1):
            self._change(epoch, up=False)

    def on_train_begin(self, logs=None):
        self._reset()
        select_layers(self.model, self.layers, learned=False, who="AdaptiveDropout")

    def on_epoch_end(self, epoch, logs=None):
        current = self._current(logs)
        if current is not None:
            worse, self.best = self._monitor.compare(current, self.best, self.model)
            underfit = self.lower_on_underfit and self._monitor.underfits(
                current, self.underfit_gap
            )
            if self.cooldown_counter > 0:  # as in ReduceLROnPlateau
                self.cooldown_counter -= 1
                self.wait = self.under_wait = 0
            if self.cooldown_counter == 0:
                self._count(epoch, current, worse, underfit)
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


def _check_monitor(monitor):
    expected = "'gap' or a logs key"
    _checks.check_type("monitor", monitor, str, expected)
    if not monitor:
        raise _checks.value_error("monitor", expected, monitor)
    return monitor


def _check_rates(min_rate, max_rate, start_rate):
    """The rate bounds and the start rate, as floats."""
    for name, value in (
        ("min_rate", min_rate),
        ("max_rate", max_rate),
        ("start_rate", start_rate),
    ):
        _checks.check_rate(name, value)
    if min_rate > max_rate:
        raise _checks.value_error(
            "min_rate", f"min_rate <= max_rate={max_rate!r}", min_rate
        )
    return float(min_rate), float(max_rate), float(start_rate)
