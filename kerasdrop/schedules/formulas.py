"""Schedules with a closed-form formula of the step."""

import math

from kerasdrop._checks import (
    F32_TINY,
    check_bool,
    check_number,
    check_rate,
    check_sequence,
    value_error,
)
from kerasdrop.schedules.base import Schedule, register
from kerasdrop.schedules.maths import cos, exp, floor, maximum, power, progress, where


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


@register
class Linear(_Ramp):
    """`start` until `delay`, then linearly to `end` over `steps` steps.

    >>> Linear(0.5, 0.1, steps=4)(2)
    0.3
    """

    def value(self, step):
        frac = progress(step, self.delay, self.steps)
        return self.start + (self.end - self.start) * frac


@register
class Cosine(_Ramp):
    """Half-cosine from `start` to `end` over `steps` steps after `delay`.

    >>> round(Cosine(0.5, 0.0, steps=10)(5), 6)
    0.25
    """

    def value(self, step):
        frac = progress(step, self.delay, self.steps)
        return self.end + (self.start - self.end) * 0.5 * (1.0 + cos(math.pi * frac))


@register
class Exponential(Schedule):
    """`initial_rate * decay_rate ** (step / decay_steps)`, clipped.

    `decay_rate < 1` decays, `> 1` grows (clipped below 1; an initial rate
    of 0, or below 1.2e-38, the smallest normal float32, stays 0). With
    `staircase=True` the exponent is floored, as in Keras'
    `ExponentialDecay`.

    >>> Exponential(0.4, 0.5, decay_steps=10)(20)
    0.1
    """

    def __init__(self, initial_rate, decay_rate, decay_steps, staircase=False):
        self.initial_rate = check_rate("initial_rate", initial_rate)
        self.decay_rate = check_number("decay_rate", decay_rate, 0, strict=True)
        self.decay_steps = check_number("decay_steps", decay_steps, 0, strict=True)
        self.staircase = check_bool("staircase", staircase)

    def value(self, step):
        if self.initial_rate < F32_TINY:
            # A rate of 0 stays 0, and so does one that is 0 in-graph (below
            # the smallest normal float32): 0 * inf, once the power
            # overflows, would be NaN.
            return 0.0 * step
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = floor(exponent)
        return self.initial_rate * power(self.decay_rate, exponent)

    def get_config(self):
        return {
            "initial_rate": self.initial_rate,
            "decay_rate": self.decay_rate,
            "decay_steps": self.decay_steps,
            "staircase": self.staircase,
        }


def check_boundaries(boundaries):
    """Segment boundaries: strictly increasing numbers >= 0, as a list."""
    boundaries = check_sequence("boundaries", boundaries, "numbers")
    boundaries = [check_number("boundaries", b, 0) for b in boundaries]
    if any(b2 <= b1 for b1, b2 in zip(boundaries, boundaries[1:])):
        raise value_error("boundaries", "strictly increasing numbers", boundaries)
    return boundaries


@register
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
        boundaries = check_boundaries(boundaries)
        values = check_sequence("values", values, "rates")
        values = [check_rate("values", v) for v in values]
        if len(values) != len(boundaries) + 1:
            expected = f"len(boundaries) + 1 = {len(boundaries) + 1} values"
            raise value_error("values", expected, values)
        self.boundaries = boundaries
        self.values = values

    def value(self, step):
        out = self.values[0] + 0.0 * step
        for boundary, v in zip(self.boundaries, self.values[1:]):
            out = where(step >= boundary, v + 0.0 * step, out)
        return out

    def get_config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.values)}


@register
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
        return self.final_rate * (1.0 - exp(-self.gamma * step))

    def get_config(self):
        return {"final_rate": self.final_rate, "gamma": self.gamma}


@register
class Annealed(Schedule):
    """Annealed dropout (Rennie et al., 2014): `p0 * max(0, 1 - t / N)`.

    >>> Annealed(0.5, steps=10)(5)
    0.25
    """

    def __init__(self, initial_rate, steps):
        self.initial_rate = check_rate("initial_rate", initial_rate)
        self.steps = check_number("steps", steps, 0, strict=True)

    def value(self, step):
        return self.initial_rate * maximum(1.0 - step / self.steps, 0.0)

    def get_config(self):
        return {"initial_rate": self.initial_rate, "steps": self.steps}
