"""Dropout-rate schedules.

A schedule maps a training step (or epoch) index to a dropout rate in
``[0, 1)``. Every schedule has exactly one formula, written with the maths
functions exported here (``power``, ``floor``, ``exp``, ``cos``,
``minimum``, ``maximum``, ``where``, ``progress``, ``clip_rate``, from
``kerasdrop.schedules.maths``), which run on Python numbers (giving a
Python ``float``) and on backend tensors (giving a float32 tensor, usable
inside a compiled train step): see `Schedule` for writing one. Values are
always clipped into ``[0, MAX_RATE]``, and are finite for every valid set
of parameters, at every step.

Rates live in float32 variables, so every rate (a layer's, a schedule
parameter) is checked as float32 stores it: a float in ``[0, 1)`` that does
not round to 1.0 in float32, i.e. at most ``MAX_RATE`` (0.99999994) once
stored. Other numeric parameters (steps, cutoffs, decay rates, ...) must be
finite in float32, and those that must be > 0 must stay > 0 in float32.

Modules: ``maths`` (the functions), ``base`` (`Schedule`, `Constant`,
serialization), ``formulas`` (closed-form schedules), ``composite``
(schedules made of other schedules).

Example:

>>> from kerasdrop import schedules
>>> s = schedules.Linear(0.0, 0.5, steps=100)
>>> s(50)
0.25
>>> schedules.deserialize(schedules.serialize(s))(100)
0.5
"""

from kerasdrop._checks import MAX_RATE, check_rate  # noqa: F401 (public here)
from kerasdrop.schedules.base import (
    Constant,
    Schedule,
    deserialize,
    get,
    serialize,
)
from kerasdrop.schedules.composite import (  # noqa: F401 (Scaled: for recipes)
    Early,
    Join,
    Late,
    Scaled,
    Warmup,
)
from kerasdrop.schedules.formulas import (
    Annealed,
    Cosine,
    Curriculum,
    Exponential,
    Linear,
    Piecewise,
)
from kerasdrop.schedules import maths
from kerasdrop.schedules.maths import *  # noqa: F403 (maths.__all__, public here)

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
    *maths.__all__,
]

# Classes report their public module, so configs name `kerasdrop.schedules`
# as they did when it was one module (Keras core writes public paths too).
for _cls in (
    Schedule,
    Constant,
    Linear,
    Cosine,
    Exponential,
    Piecewise,
    Curriculum,
    Annealed,
    Early,
    Late,
    Warmup,
    Join,
    Scaled,
):
    _cls.__module__ = __name__
del _cls
