"""The maths of schedules: one formula for Python numbers and tensors.

A schedule's `value(step)` is written once with these functions. Each one
keeps Python numbers as Python numbers (exact, cheap, usable from a
callback between batches) and sends anything else through `keras.ops`
(usable in a compiled train step, on every backend). They have the names
of their `keras.ops` counterparts; `clip_rate` and `progress` are the two
schedule-specific ones. They are exported by `kerasdrop.schedules`.

A constant that must follow the step's world is written `value + 0.0 *
step` (a float for a Python step, a float32 tensor for a tensor step).

Example:

>>> from keras import ops
>>> from kerasdrop import schedules
>>> schedules.minimum(0.5, 2 / 10)
0.2
>>> step = ops.convert_to_tensor(2.0)
>>> float(schedules.minimum(0.5, step / 10))
0.20000000298023224
"""

import math
import numbers

from keras import ops

from kerasdrop._checks import MAX_RATE

__all__ = [
    "is_python",
    "exp",
    "cos",
    "floor",
    "minimum",
    "maximum",
    "where",
    "power",
    "clip_rate",
    "progress",
]


def is_python(*values):
    """True when every value is a Python (or NumPy scalar) number.

    >>> is_python(1, 2.5), is_python(1, ops.ones(()))
    (True, False)
    """
    return all(isinstance(x, numbers.Number) for x in values)


def exp(x):
    """`e ** x`; `inf` (not an `OverflowError`) for a huge Python `x`.

    >>> exp(0.0), exp(1e6)
    (1.0, inf)
    """
    if is_python(x):
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf
    return ops.exp(x)


def cos(x):
    """`cos(x)` (radians).

    >>> cos(0.0)
    1.0
    """
    return math.cos(x) if is_python(x) else ops.cos(x)


def floor(x):
    """The largest integer `<= x` (an infinite Python `x` stays infinite).

    >>> floor(2.5), floor(math.inf)
    (2, inf)
    """
    if is_python(x):
        return math.floor(x) if math.isfinite(x) else x
    return ops.floor(x)


def minimum(a, b):
    """The smaller of `a` and `b` (elementwise for tensors).

    >>> minimum(0.5, 0.25)
    0.25
    """
    return min(a, b) if is_python(a, b) else ops.minimum(a, b)


def maximum(a, b):
    """The larger of `a` and `b` (elementwise for tensors).

    >>> maximum(-1.0, 0.0)
    0.0
    """
    return max(a, b) if is_python(a, b) else ops.maximum(a, b)


def where(condition, a, b):
    """`a` where `condition` holds, else `b` (both computed for tensors).

    >>> where(3 >= 2, 0.1, 0.0)
    0.1
    """
    if is_python(condition):
        return a if condition else b
    return ops.where(condition, a, b)


def power(base, x):
    """`base ** x`: `inf` on overflow, never NaN for `base > 0`, `x >= 0`.

    In-graph a Python `base` goes through `exp(x * log(base))` with the log
    taken in float64: exact to float32 rounding of the product, where a
    float32 power would amplify the rounding of `base` by `x`.

    >>> power(0.5, 2), power(10.0, 1e6)
    (0.25, inf)
    """
    if is_python(x):
        try:
            return base**x
        except (OverflowError, ZeroDivisionError):
            return math.inf
    if is_python(base) and base > 0:
        if base == 1:
            return ops.ones_like(x)  # log(1) * inf would be NaN
        return ops.exp(x * math.log(base))
    return ops.power(ops.cast(base, "float32"), x)


def clip_rate(x):
    """`x` clipped into `[0, MAX_RATE]`: a float, or a float32 tensor.

    A Python NaN is returned as is, for the caller to report.

    >>> clip_rate(-0.5), clip_rate(0.25), clip_rate(3.0) < 1.0
    (0.0, 0.25, True)
    """
    if is_python(x):
        if math.isnan(x):
            return x  # let the caller report a NaN; never hide it
        return float(min(max(x, 0.0), MAX_RATE))
    return ops.clip(ops.cast(x, "float32"), 0.0, MAX_RATE)


def progress(step, delay, steps):
    """Fraction in `[0, 1]` of a ramp of `steps` steps starting at `delay`.

    >>> progress(0, delay=2, steps=4), progress(4, 2, 4), progress(9, 2, 4)
    (0.0, 0.5, 1.0)
    """
    return minimum(maximum(step - delay, 0.0) / steps, 1.0)
