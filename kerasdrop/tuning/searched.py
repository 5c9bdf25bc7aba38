"""The schedules a space can search: one table, one entry per schedule.

An entry holds the choices of the schedule's own hyperparameters and a
`build(rate, params, epochs)` that makes the `kerasdrop.schedules.Schedule`
(index = epoch) for a peak `rate`, the chosen `params` and a fit of
`epochs` epochs. `register_schedule` adds one; the space, the spec and the
hypermodel read everything else from the table.

Example (the rate halves `times` times over the fit):

>>> from kerasdrop import schedules
>>> def halving(rate, params, epochs):
...     return schedules.Exponential(rate, 0.5, decay_steps=epochs / params["times"],
...                                  staircase=True)
>>> register_schedule("halving", halving, times=[1, 2])
>>> SEARCHED_SCHEDULES["halving"].build(0.4, {"times": 2}, epochs=10)(5)
0.2
>>> del SEARCHED_SCHEDULES["halving"]
"""

import re
from typing import Callable, NamedTuple

from kerasdrop import schedules as schedules_lib
from kerasdrop._checks import check_sequence, check_type, type_error, value_error


class SearchedSchedule(NamedTuple):
    """A searchable schedule: `params` (name -> choices) and `build`."""

    params: dict
    build: Callable


#: name -> `SearchedSchedule`, in the order a space declares them.
SEARCHED_SCHEDULES = {}


def register_schedule(name, build, **params):
    """Makes a schedule searchable under `name` (one table entry).

    Args:
        name: the schedule's name in `dropout_space(schedules=...)` and in
            hyperparameter names (`<space>/<name>/<param>`).
        build: `build(rate, params, epochs) -> Schedule`, the schedule for a
            peak `rate`, the chosen `params` (a dict) and `epochs` epochs.
        **params: each of the schedule's own hyperparameters, as a list of
            choices.
    """
    check_type("name", name, str, "a string")
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", name) or name in SEARCHED_SCHEDULES:
        raise value_error("name", "a new name of letters, digits, '_' or '-'", name)
    if not callable(build):
        raise type_error("build", "a callable `build(rate, params, epochs)`", build)
    choices = {}
    for key, values in params.items():
        choices[key] = check_sequence(key, values, "choices", allow_array=False)
        if not choices[key]:
            raise value_error(key, "a non-empty list of choices", values)
    SEARCHED_SCHEDULES[name] = SearchedSchedule(choices, build)


def _span(params, epochs):
    """`fraction` of the epochs, at least 1."""
    return max(1, round(params["fraction"] * epochs))


def _ramp(cls):
    def build(rate, params, epochs):
        start, end = (0.0, rate) if params["direction"] == "up" else (rate, 0.0)
        return cls(start, end, steps=_span(params, epochs))

    return build


def _early(rate, params, epochs):
    return schedules_lib.Early(rate, cutoff=_span(params, epochs), mode=params["mode"])


def _late(rate, params, epochs):
    return schedules_lib.Late(rate, cutoff=_span(params, epochs))


def _curriculum(rate, params, epochs):
    return schedules_lib.Curriculum(rate, gamma=params["speed"] / epochs)


# Fractions are of the fit's epochs.
register_schedule(
    "linear", _ramp(schedules_lib.Linear), direction=["up", "down"], fraction=[0.5, 1.0]
)
register_schedule(
    "cosine", _ramp(schedules_lib.Cosine), direction=["up", "down"], fraction=[0.5, 1.0]
)
register_schedule("early", _early, fraction=[0.25, 0.5], mode=["constant", "linear"])
register_schedule("late", _late, fraction=[0.25, 0.5])
register_schedule("curriculum", _curriculum, speed=[3.0, 10.0])
