"""Dropout-rate schedules.

A schedule maps a training step (or epoch) index to a dropout rate in
``[0, 1)``. Every schedule has exactly one formula, written with the small
math helpers below, which run on Python numbers (giving a Python ``float``)
and on backend tensors (giving a float32 tensor, usable inside a compiled
train step). Values are always clipped into ``[0, MAX_RATE]``, and are
finite for every valid set of parameters, at every step.

Rates live in float32 variables, so every rate (a layer's, a schedule
parameter) is checked as float32 stores it: a float in ``[0, 1)`` that does
not round to 1.0 in float32, i.e. at most ``MAX_RATE`` (0.99999994) once
stored. Other numeric parameters (steps, cutoffs, decay rates, ...) must be
finite in float32, and those that must be > 0 must stay > 0 in float32.

Example:

>>> from kerasdrop import schedules
>>> s = schedules.Linear(0.0, 0.5, steps=100)
>>> s(50)
0.25
>>> schedules.deserialize(schedules.serialize(s))(100)
0.5
"""

import math
import numbers

import keras
import numpy as np
from keras import ops

from kerasdrop._checks import (  # noqa: F401 (MAX_RATE, check_rate: public here)
    F32_MAX,
    F32_TINY,
    MAX_RATE,
    check_number,
    check_rate,
    check_sequence,
)

__all__ = [
    "MAX_RATE",
    "Schedule",
    "Constant",
    "Linear",
    "Cosine",
    "Exponential",
    "Piecewise",
    "Curriculum",
    "Annealed",
    "Early",
    "Late",
    "Warmup",
    "Join",
    "serialize",
    "deserialize",
    "get",
]

_register = keras.saving.register_keras_serializable(package="kerasdrop")


# --------------------------------------------------------------------------
# One formula, two worlds: these helpers keep Python numbers as Python
# numbers (exact, cheap, usable from callbacks) and send anything else
# through `keras.ops` (usable in-graph on every backend).
# --------------------------------------------------------------------------
def _is_py(*xs):
    return all(isinstance(x, numbers.Number) for x in xs)


def _as_step(step):
    """A Python step as a float (checked), a tensor step as float32 >= 0."""
    if isinstance(step, (bool, str, bytes)) or step is None:
        raise TypeError(
            "Invalid value received for argument `step`. Expected a "
            "non-negative number or an integer tensor. "
            f"Received: step={step!r} of type {type(step).__name__}"
        )
    if _is_py(step):
        # Compared before any float conversion: a huge int is refused, not
        # an OverflowError.
        if not 0 <= step <= F32_MAX:  # also catches NaN
            raise ValueError(
                "Invalid value received for argument `step`. Expected a "
                "finite, non-negative number (at most the largest float32). "
                f"Received: step={step!r}"
            )
        return float(step)
    # In-graph the value cannot be checked: a negative step counts as 0.
    return ops.maximum(ops.cast(step, "float32"), 0.0)


def _exp(x):
    if _is_py(x):
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf
    return ops.exp(x)


def _cos(x):
    return math.cos(x) if _is_py(x) else ops.cos(x)


def _floor(x):
    if _is_py(x):
        return math.floor(x) if math.isfinite(x) else x
    return ops.floor(x)


def _minimum(a, b):
    return min(a, b) if _is_py(a, b) else ops.minimum(a, b)


def _maximum(a, b):
    return max(a, b) if _is_py(a, b) else ops.maximum(a, b)


def _where(cond, a, b):
    if _is_py(cond):
        return a if cond else b
    return ops.where(cond, a, b)


def _pow(base, x):
    """`base ** x`, `inf` on overflow, never NaN for `base > 0`, `x >= 0`.

    In-graph a Python `base` goes through `exp(x * log(base))` with the log
    taken in float64: exact to float32 rounding of the product, where a
    float32 power would amplify the rounding of `base` by `x`.
    """
    if _is_py(x):
        try:
            return base**x
        except (OverflowError, ZeroDivisionError):
            return math.inf
    if _is_py(base) and base > 0:
        if base == 1:
            return ops.ones_like(x)  # log(1) * inf would be NaN
        return ops.exp(x * math.log(base))
    return ops.power(ops.cast(base, "float32"), x)


def _clip_rate(x):
    if _is_py(x):
        if math.isnan(x):
            return x  # let the caller report a NaN; never hide it
        return float(min(max(x, 0.0), MAX_RATE))
    return ops.clip(ops.cast(x, "float32"), 0.0, MAX_RATE)


# --------------------------------------------------------------------------
# Argument validation, Keras-style messages.
# --------------------------------------------------------------------------
def _check_schedule(name, value):
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return Constant(value)
    if not isinstance(value, Schedule):
        raise TypeError(
            f"Invalid value received for argument `{name}`. Expected a "
            "`kerasdrop.schedules.Schedule` or a float rate. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    return value


def _rate_of(schedule, step):
    """`schedule`'s clipped value at an already converted step (composites)."""
    return _clip_rate(schedule.value(step))


# --------------------------------------------------------------------------
# Schedules.
# --------------------------------------------------------------------------
class Schedule:
    """Base class of dropout-rate schedules.

    Subclasses implement `value(step)` with the helpers of this module so the
    same formula runs on Python numbers and on tensors; `__call__` converts
    the step and clips the result into `[0, MAX_RATE]`. A Python step must be
    a finite number >= 0; a tensor step is cast to float32 (a negative one
    counts as 0), so steps beyond 2**24 are resolved to float32 precision
    in-graph. Subclasses store each constructor argument as an attribute of
    the same name and return them from `get_config`.

    Example (a schedule halving the rate every `every` steps):

    >>> import keras
    >>> from kerasdrop import schedules
    >>> @keras.saving.register_keras_serializable(package="my_schedules")
    ... class Halving(schedules.Schedule):
    ...     def __init__(self, rate, every):
    ...         self.rate, self.every = rate, every
    ...     def value(self, step):  # module helpers: Python and tensors alike
    ...         return self.rate * schedules._pow(0.5, schedules._floor(step / self.every))
    ...     def get_config(self):
    ...         return {"rate": self.rate, "every": self.every}
    >>> Halving(0.4, every=10)(25)
    0.1
    """

    def __call__(self, step):
        return _clip_rate(self.value(_as_step(step)))

    def value(self, step):
        raise NotImplementedError(
            f"{type(self).__name__} must implement `value(step)`."
        )

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == (
            other.get_config()
        )

    def __hash__(self):
        return hash((type(self).__name__, repr(self.get_config())))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@_register
class Constant(Schedule):
    """The same rate at every step.

    >>> Constant(0.3)(1000)
    0.3
    """

    def __init__(self, rate):
        self.rate = check_rate("rate", rate)

    def value(self, step):
        return self.rate + 0.0 * step

    def get_config(self):
        return {"rate": self.rate}


def _progress(step, delay, steps):
    """Fraction in [0, 1] of a ramp of `steps` steps starting at `delay`."""
    return _minimum(_maximum(step - delay, 0.0) / steps, 1.0)


class _Ramp(Schedule):
    """`start` until `delay`, then from `start` to `end` over `steps` steps."""

    def __init__(self, start, end, steps, delay=0):
        self.start = check_rate("start", start)
        self.end = check_rate("end", end)
        self.steps = check_number("steps", steps, 0, strict=True)
        self.delay = check_number("delay", delay, 0)

    def get_config(self):
        return {
            "start": self.start,
            "end": self.end,
            "steps": self.steps,
            "delay": self.delay,
        }


@_register
class Linear(_Ramp):
    """`start` until `delay`, then linearly to `end` over `steps` steps.

    >>> Linear(0.5, 0.1, steps=4)(2)
    0.3
    """

    def value(self, step):
        frac = _progress(step, self.delay, self.steps)
        return self.start + (self.end - self.start) * frac


@_register
class Cosine(_Ramp):
    """Half-cosine from `start` to `end` over `steps` steps after `delay`.

    >>> round(Cosine(0.5, 0.0, steps=10)(5), 6)
    0.25
    """

    def value(self, step):
        frac = _progress(step, self.delay, self.steps)
        return self.end + (self.start - self.end) * 0.5 * (
            1.0 + _cos(math.pi * frac)
        )


@_register
class Exponential(Schedule):
    """`initial_rate * decay_rate ** (step / decay_steps)`, clipped.

    `decay_rate < 1` decays, `> 1` grows (clipped below 1; an initial rate
    of 0, or below 1.2e-38, the smallest normal float32, stays 0). With `staircase=True` the exponent is floored, as in
    Keras' `ExponentialDecay`.

    >>> Exponential(0.4, 0.5, decay_steps=10)(20)
    0.1
    """

    def __init__(self, initial_rate, decay_rate, decay_steps, staircase=False):
        self.initial_rate = check_rate("initial_rate", initial_rate)
        self.decay_rate = check_number("decay_rate", decay_rate, 0, strict=True)
        self.decay_steps = check_number(
            "decay_steps", decay_steps, 0, strict=True
        )
        if not isinstance(staircase, bool):
            raise TypeError(
                "Invalid value received for argument `staircase`. Expected a "
                f"bool. Received: staircase={staircase!r}"
            )
        self.staircase = staircase

    def value(self, step):
        if self.initial_rate < F32_TINY:
            # A rate of 0 stays 0, and so does one that is 0 in-graph (below
            # the smallest normal float32): 0 * inf, once the power
            # overflows, would be NaN.
            return 0.0 * step
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = _floor(exponent)
        return self.initial_rate * _pow(self.decay_rate, exponent)

    def get_config(self):
        return {
            "initial_rate": self.initial_rate,
            "decay_rate": self.decay_rate,
            "decay_steps": self.decay_steps,
            "staircase": self.staircase,
        }


@_register
class Piecewise(Schedule):
    """Piecewise-constant rates.

    `values[0]` for `step < boundaries[0]`, `values[i]` for
    `boundaries[i-1] <= step < boundaries[i]`, `values[-1]` after the last
    boundary.

    >>> s = Piecewise([10, 20], [0.1, 0.3, 0.5])
    >>> s(0), s(10), s(25)
    (0.1, 0.3, 0.5)
    """

    def __init__(self, boundaries, values):
        boundaries = check_sequence("boundaries", boundaries, "numbers")
        values = check_sequence("values", values, "rates")
        boundaries = [check_number("boundaries", b, 0) for b in boundaries]
        values = [check_rate("values", v) for v in values]
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                "Invalid value received for argument `values`. Expected "
                f"len(boundaries) + 1 = {len(boundaries) + 1} values. "
                f"Received: values={values!r}"
            )
        if any(b2 <= b1 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(
                "Invalid value received for argument `boundaries`. Expected "
                f"strictly increasing numbers. Received: boundaries={boundaries!r}"
            )
        self.boundaries = boundaries
        self.values = values

    def value(self, step):
        out = self.values[0] + 0.0 * step
        for boundary, v in zip(self.boundaries, self.values[1:]):
            out = _where(step >= boundary, v + 0.0 * step, out)
        return out

    def get_config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.values)}


@_register
class Curriculum(Schedule):
    """Curriculum dropout (Morerio et al., ICCV 2017).

    The keep probability decays from 1 towards `theta_bar = 1 - final_rate`:
    `theta(t) = (1 - theta_bar) * exp(-gamma * t) + theta_bar`, so the rate is
    `final_rate * (1 - exp(-gamma * t))`. The paper's default
    `gamma = 10 / total_steps` reaches ~99.995% of `final_rate` by the end.

    >>> round(Curriculum(0.5, gamma=0.1)(10), 4)
    0.3161
    """

    def __init__(self, final_rate, gamma):
        self.final_rate = check_rate("final_rate", final_rate)
        self.gamma = check_number("gamma", gamma, 0, strict=True)

    def value(self, step):
        return self.final_rate * (1.0 - _exp(-self.gamma * step))

    def get_config(self):
        return {"final_rate": self.final_rate, "gamma": self.gamma}


@_register
class Annealed(Schedule):
    """Annealed dropout (Rennie et al., 2014): `p0 * max(0, 1 - t / N)`.

    >>> Annealed(0.5, steps=10)(5)
    0.25
    """

    def __init__(self, initial_rate, steps):
        self.initial_rate = check_rate("initial_rate", initial_rate)
        self.steps = check_number("steps", steps, 0, strict=True)

    def value(self, step):
        return self.initial_rate * _maximum(1.0 - step / self.steps, 0.0)

    def get_config(self):
        return {"initial_rate": self.initial_rate, "steps": self.steps}


@_register
class Early(Schedule):
    """Early dropout (Liu et al., ICML 2023): dropout only before `cutoff`.

    `mode="constant"` keeps `rate` until `cutoff`, then 0; `mode="linear"`
    decreases it linearly from `rate` to 0 at `cutoff`.

    >>> Early(0.1, cutoff=10)(9), Early(0.1, cutoff=10)(10)
    (0.1, 0.0)
    """

    def __init__(self, rate, cutoff, mode="constant"):
        self.rate = check_rate("rate", rate)
        self.cutoff = check_number("cutoff", cutoff, 0, strict=True)
        if mode not in ("constant", "linear"):
            raise ValueError(
                "Invalid value received for argument `mode`. Expected one of "
                f"'constant', 'linear'. Received: mode={mode!r}"
            )
        self.mode = mode

    def value(self, step):
        if self.mode == "linear":
            return self.rate * _maximum(1.0 - step / self.cutoff, 0.0)
        return _where(step < self.cutoff, self.rate + 0.0 * step, 0.0 * step)

    def get_config(self):
        return {"rate": self.rate, "cutoff": self.cutoff, "mode": self.mode}


@_register
class Late(Schedule):
    """Late dropout (Liu et al., ICML 2023): 0 before `cutoff`, then `rate`.

    >>> Late(0.1, cutoff=10)(9), Late(0.1, cutoff=10)(10)
    (0.0, 0.1)
    """

    def __init__(self, rate, cutoff):
        self.rate = check_rate("rate", rate)
        self.cutoff = check_number("cutoff", cutoff, 0)

    def value(self, step):
        return _where(step >= self.cutoff, self.rate + 0.0 * step, 0.0 * step)

    def get_config(self):
        return {"rate": self.rate, "cutoff": self.cutoff}


@_register
class Warmup(Schedule):
    """Linear warm-up from `initial_rate` into another schedule.

    For `step < warmup_steps` the rate goes linearly from `initial_rate` to
    `schedule(0)`; afterwards it is `schedule(step - warmup_steps)`.

    >>> Warmup(Constant(0.4), warmup_steps=4)(2)
    0.2
    """

    def __init__(self, schedule, warmup_steps, initial_rate=0.0):
        self.schedule = _check_schedule("schedule", schedule)
        self.warmup_steps = check_number(
            "warmup_steps", warmup_steps, 0, strict=True
        )
        self.initial_rate = check_rate("initial_rate", initial_rate)

    def value(self, step):
        target = _rate_of(self.schedule, 0.0 * step)
        ramp = self.initial_rate + (target - self.initial_rate) * _progress(
            step, 0.0, self.warmup_steps
        )
        after = _rate_of(self.schedule, _maximum(step - self.warmup_steps, 0.0))
        return _where(step < self.warmup_steps, ramp, after)

    def get_config(self):
        return {
            "schedule": serialize(self.schedule),
            "warmup_steps": self.warmup_steps,
            "initial_rate": self.initial_rate,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["schedule"] = deserialize(config["schedule"])
        return cls(**config)


@_register
class Join(Schedule):
    """Schedules one after another.

    `schedules[i]` runs from `boundaries[i-1]` (0 for the first) to
    `boundaries[i]`, with its own step counted from the start of its segment.

    >>> s = Join([Constant(0.0), Linear(0.0, 0.4, steps=4)], boundaries=[10])
    >>> s(5), s(12)
    (0.0, 0.2)
    """

    def __init__(self, schedules, boundaries):
        schedules = check_sequence("schedules", schedules, "schedules")
        boundaries = check_sequence("boundaries", boundaries, "numbers")
        if not schedules:
            raise ValueError(
                "Invalid value received for argument `schedules`. Expected a "
                f"non-empty list of schedules. Received: schedules={schedules!r}"
            )
        self.schedules = [_check_schedule("schedules", s) for s in schedules]
        boundaries = [check_number("boundaries", b, 0) for b in boundaries]
        if len(boundaries) != len(self.schedules) - 1:
            raise ValueError(
                "Invalid value received for argument `boundaries`. Expected "
                f"len(schedules) - 1 = {len(self.schedules) - 1} boundaries. "
                f"Received: boundaries={boundaries!r}"
            )
        if any(b2 <= b1 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(
                "Invalid value received for argument `boundaries`. Expected "
                f"strictly increasing numbers. Received: boundaries={boundaries!r}"
            )
        self.boundaries = boundaries

    def value(self, step):
        out = _rate_of(self.schedules[0], step)
        for boundary, schedule in zip(self.boundaries, self.schedules[1:]):
            local = _rate_of(schedule, _maximum(step - boundary, 0.0))
            out = _where(step >= boundary, local, out)
        return out

    def get_config(self):
        return {
            "schedules": [serialize(s) for s in self.schedules],
            "boundaries": list(self.boundaries),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["schedules"] = [deserialize(s) for s in config["schedules"]]
        return cls(**config)


@_register
class Scaled(Schedule):
    """Another schedule times a constant `factor` in `[0, 1]`.

    Spreads one time schedule over layers that share its shape but not its
    size: stochastic depth's depth rule gives block `i` of `n` the factor
    `i / (n - 1)` (`kerasdrop.recipes.stochastic_depth`).

    >>> s = Scaled(Early(0.5, cutoff=10), factor=0.5)
    >>> s(0), s(10)
    (0.25, 0.0)
    """

    def __init__(self, schedule, factor):
        if isinstance(schedule, dict):
            schedule = deserialize(schedule)
        self.schedule = _check_schedule("schedule", schedule)
        self.factor = check_number("factor", factor, 0)
        if self.factor > 1:
            raise ValueError(
                "Invalid value received for argument `factor`. Expected a "
                f"number in [0, 1]. Received: factor={factor!r}"
            )

    def value(self, step):
        return self.factor * _rate_of(self.schedule, step)

    def get_config(self):
        return {"schedule": serialize(self.schedule), "factor": self.factor}


def serialize(schedule):
    """Serializes a schedule to a JSON-friendly dict (Keras format).

    Example:

    >>> from kerasdrop import schedules
    >>> config = schedules.serialize(schedules.Linear(0.0, 0.5, steps=100))
    >>> config["class_name"], config["config"]["end"]
    ('Linear', 0.5)
    """
    return keras.saving.serialize_keras_object(schedule)


def deserialize(config, custom_objects=None):
    """Inverse of `serialize`.

    Example:

    >>> from kerasdrop import schedules
    >>> s = schedules.Cosine(0.5, 0.1, steps=1000)
    >>> schedules.deserialize(schedules.serialize(s)) == s
    True
    """
    return keras.saving.deserialize_keras_object(
        config, custom_objects=custom_objects
    )


def get(identifier):
    """Returns a `Schedule` from a schedule, a float rate or a config dict.

    Example:

    >>> from kerasdrop import schedules
    >>> schedules.get(0.2)
    Constant(rate=0.2)
    """
    if isinstance(identifier, dict):
        identifier = deserialize(identifier)
    return _check_schedule("schedule", identifier)
