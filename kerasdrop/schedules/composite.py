"""Schedules made of other schedules.

`Join` runs schedules one after another and `Scaled` scales one. `Early`,
`Late` and `Warmup` are named forms of other schedules (`Piecewise`,
`Annealed`, `Join`), with their own arguments and configs: each builds its
`definition` once and computes nothing of its own.
"""

from kerasdrop._checks import (
    check_choice,
    check_number,
    check_rate,
    check_sequence,
    value_error,
)
from kerasdrop.schedules.base import (
    Schedule,
    check_schedule,
    deserialize,
    register,
    serialize,
)
from kerasdrop.schedules.formulas import Annealed, Linear, Piecewise, check_boundaries
from kerasdrop.schedules.maths import clip_rate, maximum, where


def _nested(config, key):
    """`config` with the schedule(s) under `key` deserialized."""
    config = dict(config)
    value = config[key]
    if isinstance(value, list):
        config[key] = [deserialize(v) for v in value]
    else:
        config[key] = deserialize(value)
    return config


@register
class Join(Schedule):
    """Schedules one after another.

    `schedules[i]` runs from `boundaries[i-1]` (0 for the first) to
    `boundaries[i]`, with its own step counted from the start of its segment.

    >>> from kerasdrop.schedules import Constant
    >>> s = Join([Constant(0.0), Linear(0.0, 0.4, steps=4)], boundaries=[10])
    >>> s(5), s(12)
    (0.0, 0.2)
    """

    def __init__(self, schedules, boundaries):
        schedules = check_sequence("schedules", schedules, "schedules")
        boundaries = check_sequence("boundaries", boundaries, "numbers")
        if not schedules:
            raise value_error("schedules", "a non-empty list of schedules", schedules)
        self.schedules = [check_schedule("schedules", s) for s in schedules]
        boundaries = check_boundaries(boundaries)
        if len(boundaries) != len(self.schedules) - 1:
            count = len(self.schedules) - 1
            expected = f"len(schedules) - 1 = {count} boundaries"
            raise value_error("boundaries", expected, boundaries)
        self.boundaries = boundaries

    def value(self, step):
        out = clip_rate(self.schedules[0].value(step))
        for boundary, schedule in zip(self.boundaries, self.schedules[1:]):
            local = clip_rate(schedule.value(maximum(step - boundary, 0.0)))
            out = where(step >= boundary, local, out)
        return out

    def get_config(self):
        return {
            "schedules": [serialize(s) for s in self.schedules],
            "boundaries": list(self.boundaries),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**_nested(config, "schedules"))


@register
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
        self.schedule = check_schedule("schedule", schedule)
        self.factor = check_number("factor", factor, 0)
        if self.factor > 1:
            raise value_error("factor", "a number in [0, 1]", factor)

    def value(self, step):
        return self.factor * clip_rate(self.schedule.value(step))

    def get_config(self):
        return {"schedule": serialize(self.schedule), "factor": self.factor}


class _Defined(Schedule):
    """A schedule whose formula is another schedule's, `self.definition`."""

    def value(self, step):
        return self.definition.value(step)


@register
class Early(_Defined):
    """Early dropout (Liu et al., ICML 2023): dropout only before `cutoff`.

    `mode="constant"` keeps `rate` until `cutoff`, then 0 (a `Piecewise`);
    `mode="linear"` decreases it linearly from `rate` to 0 at `cutoff` (an
    `Annealed` over `cutoff` steps).

    >>> Early(0.1, cutoff=10)(9), Early(0.1, cutoff=10)(10)
    (0.1, 0.0)
    >>> Early(0.1, cutoff=10, mode="linear").definition
    Annealed(initial_rate=0.1, steps=10)
    """

    def __init__(self, rate, cutoff, mode="constant"):
        self.rate = check_rate("rate", rate)
        self.cutoff = check_number("cutoff", cutoff, 0, strict=True)
        self.mode = check_choice("mode", mode, ("constant", "linear"))
        if mode == "linear":
            self.definition = Annealed(self.rate, steps=self.cutoff)
        else:
            self.definition = Piecewise([self.cutoff], [self.rate, 0.0])

    def get_config(self):
        return {"rate": self.rate, "cutoff": self.cutoff, "mode": self.mode}


@register
class Late(_Defined):
    """Late dropout (Liu et al., ICML 2023): 0 before `cutoff`, then `rate`.

    `Piecewise([cutoff], [0.0, rate])` by another name.

    >>> Late(0.1, cutoff=10)(9), Late(0.1, cutoff=10)(10)
    (0.0, 0.1)
    """

    def __init__(self, rate, cutoff):
        self.rate = check_rate("rate", rate)
        self.cutoff = check_number("cutoff", cutoff, 0)
        self.definition = Piecewise([self.cutoff], [0.0, self.rate])

    def get_config(self):
        return {"rate": self.rate, "cutoff": self.cutoff}


@register
class Warmup(_Defined):
    """Linear warm-up from `initial_rate` into another schedule.

    For `step < warmup_steps` the rate goes linearly from `initial_rate` to
    `schedule(0)`; afterwards it is `schedule(step - warmup_steps)`: the
    `Join` of a `Linear` ramp and `schedule`.

    >>> from kerasdrop.schedules import Constant
    >>> Warmup(Constant(0.4), warmup_steps=4)(2)
    0.2
    """

    def __init__(self, schedule, warmup_steps, initial_rate=0.0):
        self.schedule = check_schedule("schedule", schedule)
        self.warmup_steps = check_number("warmup_steps", warmup_steps, 0, strict=True)
        self.initial_rate = check_rate("initial_rate", initial_rate)
        ramp = Linear(self.initial_rate, self.schedule(0), steps=self.warmup_steps)
        self.definition = Join([ramp, self.schedule], [self.warmup_steps])

    def get_config(self):
        return {
            "schedule": serialize(self.schedule),
            "warmup_steps": self.warmup_steps,
            "initial_rate": self.initial_rate,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**_nested(config, "schedule"))
