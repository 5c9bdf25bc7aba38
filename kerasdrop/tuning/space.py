"""`dropout_space`: a dropout search space on KerasTuner hyperparameters."""

import contextlib
import dataclasses
import decimal
import re
import threading

import keras_tuner as kt

from kerasdrop import schedules as schedules_lib
from kerasdrop._checks import (
    check_choice,
    check_int,
    check_type,
    is_real,
    message,
    type_error,
    value_error,
)
from kerasdrop.layers import concrete_regularizers
from kerasdrop.tuning.kinds import KIND_TABLE, choice
from kerasdrop.tuning.searched import SEARCHED_SCHEDULES
from kerasdrop.tuning.spec import DropoutSpec

#: Dropout kinds a space can choose from.
KINDS = tuple(KIND_TABLE)
#: The default kinds without `n_samples` (concrete needs it).
DEFAULT_KINDS = ("none", "constant", "scheduled")
#: The built-in schedules of the "scheduled" kind (per epoch, over the fit's
#: epochs), the default of `dropout_space(schedules=)`.
SCHEDULES = tuple(SEARCHED_SCHEDULES)
LIKELIHOODS = ("cross_entropy", "gaussian")
#: Most rates a `rate` grid may stand for (one `hp.Choice`).
MAX_RATES = 1000


# ----------------------------------------------------------------------------
# Validation (all of it runs before any trial).
# ----------------------------------------------------------------------------
def rate_values(rate):
    """The rates a `rate` argument of `dropout_space` stands for.

    `rate` is `(min, max, step)` (both ends included when on the grid) or a
    single rate. Values are computed in decimal and rounded to 10 places, so
    `(0.0, 0.5, 0.1)` gives `[0.0, 0.1, 0.2, 0.3, 0.4, 0.5]` exactly. Every
    rate passes the layers' check (`kerasdrop.schedules.check_rate`: in
    `[0, 1)`, below 1 in float32); `0 < step <= 1`; at most `MAX_RATES`
    rates.

    >>> rate_values((0.2, 0.4, 0.1))
    [0.2, 0.3, 0.4]
    >>> rate_values(0.25)
    [0.25]
    """
    if is_real(rate):
        return [schedules_lib.check_rate("rate", rate)]
    if not isinstance(rate, (tuple, list)) or len(rate) != 3:
        raise type_error("rate", "a (min, max, step) tuple or a single rate", rate)
    if not all(is_real(v) for v in rate):
        raise TypeError(message("rate", "numbers in a (min, max, step) tuple", rate))
    low, high, step = rate
    for value in (low, high):
        try:  # the layers' own rate check (float32 rule)
            schedules_lib.check_rate("rate", value)
        except ValueError:
            expected = (
                "min and max in [0, 1), below 1 in float32 (a rate of 1 drops "
                "everything)"
            )
            raise value_error("rate", expected, rate) from None
    low, high = float(low), float(high)
    if low > high:
        raise value_error("rate", f"min <= max; min={low} > max={high}", rate)
    if not 0 < step <= 1:  # also NaN
        raise value_error("rate", "a step > 0 and <= 1", rate)
    d_low, d_step = decimal.Decimal(repr(low)), decimal.Decimal(repr(float(step)))
    d_high = decimal.Decimal(repr(high))
    count = int((d_high - d_low) / d_step + decimal.Decimal("1e-9"))
    if count >= MAX_RATES:
        raise value_error("rate", f"at most {MAX_RATES} rates (a larger step)", rate)
    # Rounding never lifts a rate above `max`, which passed the check.
    return [min(round(float(d_low + i * d_step), 10), high) for i in range(count + 1)]


def _check_names(argument, values, allowed):
    expected = f"a tuple of names from {allowed}"
    check_type(argument, values, (tuple, list), expected)
    unknown = [v for v in values if v not in allowed]
    if unknown or not values or len(set(values)) != len(values):
        why = f"unknown {unknown}" if unknown else "empty or repeated names"
        expected = f"a non-empty tuple of distinct names from {allowed} ({why})"
        raise value_error(argument, expected, values)
    return tuple(values)


def _check_name(name):
    check_type("name", name, str, "a string")
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        expected = (
            "a non-empty string of letters, digits, '_', '.' or '-' (it "
            "prefixes hyperparameter and layer names)"
        )
        raise value_error("name", expected, name)
    return name


def _check_length_scales(length_scales):
    expected = "a non-empty tuple of numbers"
    check_type("length_scales", length_scales, (tuple, list), expected)
    if not all(is_real(v) for v in length_scales):
        raise type_error("length_scales", expected, length_scales)
    if not length_scales:
        raise value_error("length_scales", expected, length_scales)
    return list(length_scales)


def _check_rates(rate, kinds):
    rates = rate_values(rate)
    if "none" in kinds and 0.0 in rates:
        rates.remove(0.0)  # a rate of 0 is the "none" kind: no duplicate
        if not rates and any(KIND_TABLE[k].rated for k in kinds):
            expected = "a rate > 0 besides the 'none' kind (rate 0 is 'none')"
            raise value_error("rate", expected, rate)
    return rates


def _check_concrete(n_samples, length_scales, likelihood):
    if n_samples is None:
        raise type_error(
            "n_samples",
            "a positive integer (e.g. n_samples=len(x_train)), or 'concrete' "
            "left out of `kinds`: the 'concrete' kind derives its regularizers "
            "from the number of training examples",
            n_samples,
        )
    for length_scale in length_scales:  # the one check of the formula
        concrete_regularizers(n_samples, length_scale, loss=likelihood)


@dataclasses.dataclass(frozen=True)
class Space:
    """The checked arguments of one `dropout_space` call."""

    name: str
    kinds: tuple
    rates: list
    schedules: tuple
    n_samples: int
    length_scales: list
    likelihood: str
    epochs: int

    @classmethod
    def checked(
        cls, name, kinds, rate, schedules, n_samples, length_scales, likelihood, epochs
    ):
        name = _check_name(name)
        n_samples = check_int(
            "n_samples",
            n_samples,
            minimum=1,
            allow_none=True,
            expected="None or a positive integer (e.g. len(x_train))",
        )
        if kinds is None:  # the default: concrete only when it can be built
            kinds = KINDS if n_samples is not None else DEFAULT_KINDS
        kinds = _check_names("kinds", kinds, KINDS)
        rates = _check_rates(rate, kinds)
        schedules = _check_names("schedules", schedules, tuple(SEARCHED_SCHEDULES))
        length_scales = _check_length_scales(length_scales)
        check_choice("likelihood", likelihood, LIKELIHOODS)
        if "concrete" in kinds:
            _check_concrete(n_samples, length_scales, likelihood)
        epochs = check_int("epochs", epochs, minimum=1, allow_none=True)
        return cls(
            name, kinds, rates, schedules, n_samples, length_scales, likelihood, epochs
        )


# ----------------------------------------------------------------------------
# The space.
# ----------------------------------------------------------------------------
_collecting = threading.local()


@contextlib.contextmanager
def collect():
    """Collects the specs that `dropout_space` returns inside the block."""
    stack = getattr(_collecting, "stack", None)
    if stack is None:
        stack = _collecting.stack = []
    specs = []
    stack.append(specs)
    try:
        yield specs
    finally:
        stack.pop()


def _declare(hp, space):
    """Declares the space on `hp`; returns the chosen kind and its fields."""
    with hp.name_scope(space.name):
        kind = choice(hp, "kind", space.kinds)
        fields = {}
        rated = [k for k, e in KIND_TABLE.items() if e.rated and k in space.kinds]
        if rated:
            with hp.conditional_scope("kind", rated):
                fields["rate"] = choice(hp, "rate", space.rates)
        for name, entry in KIND_TABLE.items():
            if name in space.kinds:
                with hp.conditional_scope("kind", [name]):
                    own = entry.declare(hp, space)
                if name == kind:
                    fields.update(own)
    return kind, fields


def dropout_space(
    hp,
    name="dropout",
    kinds=None,
    rate=(0.0, 0.5, 0.05),
    schedules=SCHEDULES,
    n_samples=None,
    length_scales=(1e-4, 1e-2),
    likelihood="cross_entropy",
    epochs=None,
):
    """Declares a dropout search space on `hp`; returns this trial's spec.

    Hyperparameters (under `hp.name_scope(name)`):

    - `<name>/kind`: Choice of `kinds` (Fixed when there is one).
    - `<name>/rate`: Choice of the rounded rates of `rate` (constant and
      scheduled kinds only; for a schedule, its peak rate). With `"none"`
      among the kinds, rate 0 is left out: it is the `"none"` kind.
    - `<name>/schedule`: Choice of `schedules` (scheduled kind only), and
      `<name>/<schedule>/<param>` for that schedule only (`SCHEDULE_PARAMS`:
      e.g. `linear` `direction` and `fraction`, `curriculum` `speed`).
    - `<name>/length_scale`: Choice of `length_scales` (concrete kind only).

    Call it once per independent space (`name=f"block{i}"`); one spec's
    `layer()` used in several places is a shared space. A bad space fails
    at once, before any trial.

    Args:
        hp: a `keras_tuner.HyperParameters`.
        name: the space's name (hyperparameter and layer name prefix).
        kinds: tuple of kinds from `KINDS`. Default None: all of `KINDS`
            when `n_samples` is given, else `DEFAULT_KINDS` (no concrete).
        rate: `(min, max, step)` with `0 <= min <= max < 1`, or one rate.
        schedules: tuple of searched schedules (`SCHEDULES`, or any added
            with `register_schedule`).
        n_samples: number of training examples (concrete kind; with the
            default `kinds`, giving it adds the concrete kind).
        length_scales: prior length-scales to choose from (concrete kind;
            regularizers from `concrete_regularizers(n_samples, l,
            loss=likelihood)`).
        likelihood: `"cross_entropy"` or `"gaussian"` (concrete kind).
        epochs: default training length for `spec.callbacks()`;
            `DropoutHyperModel` passes the fit's `epochs` instead.

    Returns:
        A `DropoutSpec`.
    """
    check_type("hp", hp, kt.HyperParameters, "a `keras_tuner.HyperParameters`")
    space = Space.checked(
        name, kinds, rate, schedules, n_samples, length_scales, likelihood, epochs
    )
    kind, fields = _declare(hp, space)
    spec = DropoutSpec(
        space.name, kind, likelihood=likelihood, epochs=space.epochs, **fields
    )
    for specs in getattr(_collecting, "stack", ()) or ():
        specs.append(spec)
    return spec
