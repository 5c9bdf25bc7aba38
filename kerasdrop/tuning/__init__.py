"""KerasTuner search spaces for dropout (needs the `tuner` extra).

`dropout_space(hp, ...)` declares, with KerasTuner's own `hp.Choice` /
`hp.Fixed` under `hp.name_scope` and `hp.conditional_scope`, the kind of
dropout (none, constant, scheduled, concrete), its rate and, for a scheduled
rate, the schedule and that schedule's own parameters, which exist in a
trial only when that schedule is chosen. It returns a plain `DropoutSpec`
whose `.layer(...)` builds the matching kerasdrop layer and whose
`.callbacks(epochs)` gives the `DropoutScheduler` a scheduled rate needs.
`DropoutHyperModel(build_fn)` adds those callbacks in `fit`, so any
KerasTuner tuner works unchanged.

Rates are a `Choice` over values computed in decimal (`0.3`, never
`0.30000000000000004`), always inside `[0, 1)`: `hp.Float(step=...)`
accumulates binary rounding error, and KerasTuner includes `max_value`.

Example:

>>> import keras, keras_tuner as kt
>>> from kerasdrop.tuning import dropout_space
>>> hp = kt.HyperParameters()
>>> spec = dropout_space(hp, kinds=("constant",), rate=(0.1, 0.3, 0.1))
>>> spec.kind, spec.rate, hp.values
('constant', 0.1, {'dropout/kind': 'constant', 'dropout/rate': 0.1})
>>> type(spec.layer()).__name__
'Dropout'
"""

import contextlib
import decimal
import numbers
import re
import threading

try:
    import keras_tuner as kt
except ImportError as e:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "kerasdrop.tuning needs KerasTuner, which is not installed. Install "
        'it with: pip install "kerasdrop[tuner]"'
    ) from e

import keras

from kerasdrop import callbacks as callbacks_lib
from kerasdrop import schedules as schedules_lib
from kerasdrop.layers import ConcreteDropout, Dropout, concrete_regularizers

__all__ = [
    "KINDS",
    "DEFAULT_KINDS",
    "SCHEDULES",
    "DropoutSpec",
    "DropoutHyperModel",
    "dropout_space",
    "rate_values",
    "specs_of",
]

#: Dropout kinds a space can choose from.
KINDS = ("none", "constant", "scheduled", "concrete")
#: The default kinds without `n_samples` (concrete needs it).
DEFAULT_KINDS = ("none", "constant", "scheduled")
#: Schedules of the "scheduled" kind (all per epoch, over the fit's epochs).
SCHEDULES = ("linear", "cosine", "early", "late", "curriculum")
#: Per-schedule parameters: name -> choices. Fractions are of the epochs.
SCHEDULE_PARAMS = {
    "linear": {"direction": ["up", "down"], "fraction": [0.5, 1.0]},
    "cosine": {"direction": ["up", "down"], "fraction": [0.5, 1.0]},
    "early": {"fraction": [0.25, 0.5], "mode": ["constant", "linear"]},
    "late": {"fraction": [0.25, 0.5]},
    "curriculum": {"speed": [3.0, 10.0]},
}
LIKELIHOODS = ("cross_entropy", "gaussian")
#: Most rates a `rate` grid may stand for (one `hp.Choice`).
MAX_RATES = 1000


# ----------------------------------------------------------------------------
# Validation (Keras-style messages; all of it runs before any trial).
# ----------------------------------------------------------------------------
def _invalid(name, expected, value):
    return ValueError(
        f"Invalid value received for argument `{name}`. Expected {expected}. "
        f"Received: {name}={value!r}"
    )


def _check_real(name, value, whole):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Invalid value received for argument `{name}`. Expected numbers "
            f"in a (min, max, step) tuple. Received: {name}={whole!r}"
        )
    return value


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
    if isinstance(rate, numbers.Real) and not isinstance(rate, bool):
        return [schedules_lib.check_rate("rate", rate)]
    if not isinstance(rate, (tuple, list)) or len(rate) != 3:
        raise TypeError(
            "Invalid value received for argument `rate`. Expected a (min, max, "
            f"step) tuple or a single rate. Received: rate={rate!r}"
        )
    low, high, step = (_check_real("rate", v, rate) for v in rate)
    for value in (low, high):
        try:  # the layers' own rate check (float32 rule)
            schedules_lib.check_rate("rate", value)
        except ValueError:
            raise _invalid(
                "rate",
                "min and max in [0, 1), below 1 in float32 (a rate of 1 "
                "drops everything)",
                rate,
            ) from None
    low, high = float(low), float(high)
    if low > high:
        raise _invalid("rate", f"min <= max; min={low} > max={high}", rate)
    if not 0 < step <= 1:  # also NaN
        raise _invalid("rate", "a step > 0 and <= 1", rate)
    d_low, d_step = decimal.Decimal(repr(low)), decimal.Decimal(repr(float(step)))
    count = int((decimal.Decimal(repr(high)) - d_low) / d_step + decimal.Decimal("1e-9"))
    if count >= MAX_RATES:
        raise _invalid("rate", f"at most {MAX_RATES} rates (a larger step)", rate)
    # Rounding never lifts a rate above `max`, which passed the check.
    return [min(round(float(d_low + i * d_step), 10), high) for i in range(count + 1)]


def _check_names(argument, values, allowed):
    if isinstance(values, str) or not isinstance(values, (tuple, list)):
        raise TypeError(
            f"Invalid value received for argument `{argument}`. Expected a "
            f"tuple of names from {allowed}. Received: {argument}={values!r}"
        )
    unknown = [v for v in values if v not in allowed]
    if unknown or not values or len(set(values)) != len(values):
        why = f"unknown {unknown}" if unknown else "empty or repeated names"
        raise ValueError(
            f"Invalid value received for argument `{argument}`. Expected a "
            f"non-empty tuple of distinct names from {allowed} ({why}). "
            f"Received: {argument}={values!r}"
        )
    return tuple(values)


def _check_name(name):
    if not isinstance(name, str):
        raise TypeError(
            "Invalid value received for argument `name`. Expected a string. "
            f"Received: name={name!r} of type {type(name).__name__}"
        )
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise ValueError(
            "Invalid value received for argument `name`. Expected a non-empty "
            "string of letters, digits, '_', '.' or '-' (it prefixes "
            f"hyperparameter and layer names). Received: name={name!r}"
        )
    return name


def _check_length_scales(length_scales):
    if not isinstance(length_scales, (tuple, list)) or not length_scales or any(
        isinstance(v, bool) or not isinstance(v, numbers.Real) for v in length_scales
    ):
        raise TypeError(
            "Invalid value received for argument `length_scales`. Expected a "
            "non-empty tuple of numbers. "
            f"Received: length_scales={length_scales!r}"
        )
    return list(length_scales)


def _check_int_arg(name, value, expected):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"Invalid value received for argument `{name}`. Expected "
            f"{expected}. Received: {name}={value!r} of type {type(value).__name__}"
        )
    if value < 1:
        raise _invalid(name, expected, value)
    return int(value)


def _check_space(kinds, rate, schedules, n_samples, length_scales, likelihood, epochs):
    n_samples = _check_int_arg(
        "n_samples", n_samples, "None or a positive integer (e.g. len(x_train))"
    )
    if kinds is None:  # the default: concrete only when it can be built
        kinds = KINDS if n_samples is not None else DEFAULT_KINDS
    kinds = _check_names("kinds", kinds, KINDS)
    rates = rate_values(rate)
    if "none" in kinds and 0.0 in rates:
        rates.remove(0.0)  # a rate of 0 is the "none" kind: no duplicate
        if not rates and any(k in kinds for k in ("constant", "scheduled")):
            raise _invalid(
                "rate",
                "a rate > 0 besides the 'none' kind (rate 0 is 'none')",
                rate,
            )
    schedules = _check_names("schedules", schedules, SCHEDULES)
    length_scales = _check_length_scales(length_scales)
    if likelihood not in LIKELIHOODS:
        raise _invalid("likelihood", f"one of {LIKELIHOODS}", likelihood)
    if "concrete" in kinds:
        if n_samples is None:
            raise TypeError(
                "Invalid value received for argument `n_samples`. The "
                "'concrete' kind derives its regularizers from the number of "
                "training examples: expected a positive integer (e.g. "
                "n_samples=len(x_train)), or leave 'concrete' out of `kinds`. "
                f"Received: n_samples={n_samples!r}"
            )
        for ls in length_scales:  # the one check of the regularizer formula
            concrete_regularizers(n_samples, ls, loss=likelihood)
    epochs = _check_int_arg("epochs", epochs, "None or a positive integer")
    return kinds, rates, schedules, length_scales


# ----------------------------------------------------------------------------
# The spec.
# ----------------------------------------------------------------------------
class DropoutSpec:
    """One trial's dropout choice: a plain object (KerasTuner never sees it).

    Attributes: `name` (the space's name), `kind` (`"none"`, `"constant"`,
    `"scheduled"` or `"concrete"`), `rate` (constant rate, or the scheduled
    rate's peak; None otherwise), `schedule` (name or None), `params` (the
    chosen schedule's parameters), `length_scale`, `n_samples`,
    `likelihood` (concrete only) and `epochs` (default for `callbacks`).

    - `layer()`: the dropout layer. `"none"` gives `keras.layers.Identity`
      (so `x = spec.layer()(x)` always works), `"constant"` a
      `kerasdrop.layers.Dropout(rate)`, `"scheduled"` a `Dropout` whose rate
      `callbacks()` drives. `"concrete"` needs the layer whose input it
      drops: `spec.layer(keras.layers.Dense(64))` gives
      `ConcreteDropout(Dense)`; for the other kinds, passing a layer gives
      `Sequential([dropout, layer])` (just the layer for `"none"`), so one
      line builds every kind.
    - `callbacks(epochs)`: fresh callbacks for one `fit`: a
      `DropoutScheduler` over this spec's layers (scheduled kind; the
      schedule spans `epochs`), a `DropoutLogger` of the learned rates
      (concrete kind), nothing otherwise. They hold no model.

    Example:

    >>> import keras_tuner as kt
    >>> hp = kt.HyperParameters()
    >>> hp.values = {"d/kind": "scheduled", "d/schedule": "late"}
    >>> spec = dropout_space(hp, name="d", kinds=("none", "scheduled"), rate=0.2)
    >>> spec.schedule, spec.params, spec.build_schedule(8)
    ('late', {'fraction': 0.25}, Late(rate=0.2, cutoff=2))
    """

    def __init__(
        self,
        name,
        kind,
        rate=None,
        schedule=None,
        params=None,
        length_scale=None,
        n_samples=None,
        likelihood="cross_entropy",
        epochs=None,
    ):
        self.name = name
        self.kind = kind
        self.rate = rate
        self.schedule = schedule
        self.params = dict(params or {})
        self.length_scale = length_scale
        self.n_samples = n_samples
        self.likelihood = likelihood
        self.epochs = epochs
        self._layer_names = []  # names of the dropout layers made so far

    def __repr__(self):
        fields = {"name": self.name, "kind": self.kind}
        if self.rate is not None:
            fields["rate"] = self.rate
        if self.schedule is not None:
            fields["schedule"] = self.schedule
            fields["params"] = self.params
        if self.length_scale is not None:
            fields["length_scale"] = self.length_scale
        args = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        return f"DropoutSpec({args})"

    def _auto_name(self, suffix):
        prefix = f"{self.name}_{suffix}".replace("-", "_").replace(".", "_")
        uid = keras.backend.get_uid(prefix)
        return prefix if uid == 1 else f"{prefix}_{uid - 1}"

    # -- schedule -------------------------------------------------------------
    def build_schedule(self, epochs=None):
        """The `kerasdrop.schedules.Schedule` (index = epoch) of this trial."""
        if self.kind != "scheduled":
            return None
        epochs = self._epochs(epochs)
        r, p = self.rate, self.params
        if self.schedule in ("linear", "cosine"):
            steps = max(1, round(p["fraction"] * epochs))
            start, end = (0.0, r) if p["direction"] == "up" else (r, 0.0)
            cls = schedules_lib.Linear if self.schedule == "linear" else schedules_lib.Cosine
            return cls(start, end, steps=steps)
        if self.schedule == "early":
            cutoff = max(1, round(p["fraction"] * epochs))
            return schedules_lib.Early(r, cutoff=cutoff, mode=p["mode"])
        if self.schedule == "late":
            return schedules_lib.Late(r, cutoff=max(1, round(p["fraction"] * epochs)))
        return schedules_lib.Curriculum(r, gamma=p["speed"] / epochs)

    def _epochs(self, epochs):
        epochs = self.epochs if epochs is None else epochs
        wrong_type = epochs is not None and (
            isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral)
        )
        if wrong_type or epochs is None or epochs < 1:
            raise (TypeError if wrong_type else ValueError)(
                "Invalid value received for argument `epochs`. A scheduled "
                f"rate ('{self.name}': {self.schedule}) spans the training "
                "epochs: pass a positive integer to `callbacks(epochs)` or "
                f"`dropout_space(..., epochs=)`. Received: epochs={epochs!r}"
            )
        return int(epochs)

    # -- layers ---------------------------------------------------------------
    def layer(self, layer=None, **kwargs):
        """The dropout layer of this trial (see the class docstring).

        `kwargs` go to the kerasdrop layer (`seed`, `name`, `noise_shape`,
        `temperature`, ...).
        """
        if layer is not None and not isinstance(layer, keras.layers.Layer):
            raise TypeError(
                "Invalid value received for argument `layer`. Expected a Keras "
                f"layer (the one whose input is dropped). Received: layer={layer!r}"
            )
        if self.kind == "none":
            if layer is not None:
                return layer
            return keras.layers.Identity(name=kwargs.get("name") or self._auto_name("nodrop"))
        kwargs.setdefault("name", self._auto_name("drop"))
        if self.kind == "concrete":
            if layer is None:
                raise ValueError(
                    "Invalid value received for argument `layer`. The "
                    f"'concrete' kind of space '{self.name}' wraps the layer "
                    "whose input it drops (its regularizer needs the kernel): "
                    "call `spec.layer(keras.layers.Dense(...))`. "
                    "Received: layer=None"
                )
            wr, dr = concrete_regularizers(
                self.n_samples, self.length_scale, loss=self.likelihood
            )
            drop = ConcreteDropout(
                layer, weight_regularizer=wr, dropout_regularizer=dr, **kwargs
            )
            self._layer_names.append(drop.name)
            return drop
        if self.kind == "constant":
            drop = Dropout(self.rate, **kwargs)
        else:  # scheduled: the callback assigns the rate every epoch
            start = self.build_schedule(self.epochs or 1)(0)
            drop = Dropout(start, **kwargs)
        self._layer_names.append(drop.name)
        if layer is None:
            return drop
        return keras.Sequential([drop, layer], name=self._auto_name("block"))

    # -- callbacks ------------------------------------------------------------
    def callbacks(self, epochs=None):
        """Fresh callbacks for one `fit` of `epochs` epochs (see the class)."""
        if not self._layer_names:
            return []
        selector = [re.escape(n) for n in self._layer_names]
        if self.kind == "scheduled":
            return [
                callbacks_lib.DropoutScheduler(
                    self.build_schedule(epochs), layers=selector, unit="epoch"
                )
            ]
        if self.kind == "concrete":
            return [callbacks_lib.DropoutLogger(layers=selector)]
        return []


# ----------------------------------------------------------------------------
# The space.
# ----------------------------------------------------------------------------
_collecting = threading.local()


@contextlib.contextmanager
def _collect():
    stack = getattr(_collecting, "stack", None)
    if stack is None:
        stack = _collecting.stack = []
    specs = []
    stack.append(specs)
    try:
        yield specs
    finally:
        stack.pop()


def _choice(hp, name, values):
    if len(values) == 1:
        return hp.Fixed(name, values[0])
    return hp.Choice(name, list(values))


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
      `<name>/<schedule>/<param>` for that schedule only: `linear`/`cosine`
      `direction` (up: 0 -> rate, down: rate -> 0) and `fraction` (of the
      epochs the ramp takes); `early` `fraction` (cutoff) and `mode`;
      `late` `fraction` (cutoff); `curriculum` `speed` (gamma = speed / epochs).
    - `<name>/length_scale`: Choice of `length_scales` (concrete kind only);
      the regularizers come from `concrete_regularizers(n_samples, l,
      loss=likelihood)`.

    Call it once per independent space (`name=f"block{i}"`); use one spec's
    `layer()` in several places for a shared space. Every argument is
    checked at once (a bad space fails when the tuner is created, before
    any trial): rate bounds outside `[0, 1)` (in float32), min > max, a
    step <= 0, unknown kinds or schedules, a concrete kind without
    `n_samples`.

    Args:
        hp: a `keras_tuner.HyperParameters`.
        name: the space's name (hyperparameter and layer name prefix).
        kinds: tuple of kinds from `KINDS`. Default None: all of `KINDS`
            when `n_samples` is given, else `DEFAULT_KINDS` (no concrete).
        rate: `(min, max, step)` with `0 <= min <= max < 1`, or one rate.
        schedules: tuple of schedules from `SCHEDULES`.
        n_samples: number of training examples (concrete kind; with the
            default `kinds`, giving it adds the concrete kind).
        length_scales: prior length-scales to choose from (concrete kind).
        likelihood: `"cross_entropy"` or `"gaussian"` (concrete kind).
        epochs: default training length for `spec.callbacks()`;
            `DropoutHyperModel` passes the fit's `epochs` instead.

    Returns:
        A `DropoutSpec`.
    """
    if not isinstance(hp, kt.HyperParameters):
        raise TypeError(
            "Invalid value received for argument `hp`. Expected a "
            f"`keras_tuner.HyperParameters`. Received: hp={hp!r}"
        )
    name = _check_name(name)
    kinds, rates, schedules, length_scales = _check_space(
        kinds, rate, schedules, n_samples, length_scales, likelihood, epochs
    )
    values = {}
    with hp.name_scope(name):
        kind = _choice(hp, "kind", kinds)
        rated = [k for k in ("constant", "scheduled") if k in kinds]
        if rated:
            with hp.conditional_scope("kind", rated):
                values["rate"] = _choice(hp, "rate", rates)
        if "scheduled" in kinds:
            with hp.conditional_scope("kind", ["scheduled"]):
                schedule = _choice(hp, "schedule", schedules)
                values["schedule"] = schedule
                params = {}
                for option in schedules:
                    with hp.conditional_scope("schedule", [option]):
                        with hp.name_scope(option):
                            for key, choices in SCHEDULE_PARAMS[option].items():
                                value = _choice(hp, key, choices)
                                if option == schedule and kind == "scheduled":
                                    params[key] = value
                values["params"] = params
        if "concrete" in kinds:
            with hp.conditional_scope("kind", ["concrete"]):
                values["length_scale"] = _choice(hp, "length_scale", length_scales)
    spec = DropoutSpec(
        name,
        kind,
        rate=values.get("rate") if kind in ("constant", "scheduled") else None,
        schedule=values.get("schedule") if kind == "scheduled" else None,
        params=values.get("params") if kind == "scheduled" else None,
        length_scale=values.get("length_scale") if kind == "concrete" else None,
        n_samples=int(n_samples) if kind == "concrete" else None,
        likelihood=likelihood,
        epochs=epochs,
    )
    for specs in getattr(_collecting, "stack", ()) or ():
        specs.append(spec)
    return spec


# ----------------------------------------------------------------------------
# The HyperModel.
# ----------------------------------------------------------------------------
class DropoutHyperModel(kt.HyperModel):
    """A `keras_tuner.HyperModel` from `build_fn(hp, spec) -> model`.

    `build` declares `spec = dropout_space(hp, **space)` and calls
    `build_fn(hp, spec)` (with `space=False`, `spec` is None: `build_fn`
    declares its own spaces, e.g. one per block). Every `dropout_space`
    declared during `build` is remembered with the model, and `fit` puts
    their fresh callbacks (scheduler, logger; built for the fit's `epochs`)
    before the tuner's, so their rates are in every epoch's logs as
    `dropout/<layer>`. Any KerasTuner tuner uses it unchanged. The `space`
    is checked here, before any tuner exists.

    Args:
        build_fn: `build_fn(hp, spec)` returning a compiled Keras model.
        space: dict of `dropout_space` keyword arguments (default `{}`: the
            default space), or False for none.
        name, tunable: as for `keras_tuner.HyperModel`.

    Example:

    >>> import keras, keras_tuner as kt
    >>> def build(hp, spec):
    ...     model = keras.Sequential([keras.Input((4,)),
    ...                               spec.layer(keras.layers.Dense(3))])
    ...     model.compile("adam", "mse")
    ...     return model
    >>> hm = DropoutHyperModel(build, space={"kinds": ("none", "constant")})
    >>> # kt.RandomSearch(hm, objective="val_loss", max_trials=3).search(...)
    """

    def __init__(self, build_fn, space=None, name=None, tunable=True):
        super().__init__(name=name, tunable=tunable)
        if not callable(build_fn):
            raise TypeError(
                "Invalid value received for argument `build_fn`. Expected a "
                f"callable `build_fn(hp, spec) -> model`. Received: build_fn={build_fn!r}"
            )
        if space is None:
            space = {}
        if space is not False:
            if not isinstance(space, dict):
                raise TypeError(
                    "Invalid value received for argument `space`. Expected a "
                    "dict of `dropout_space` keyword arguments or False. "
                    f"Received: space={space!r}"
                )
            unknown = set(space) - {
                "name", "kinds", "rate", "schedules", "n_samples",
                "length_scales", "likelihood", "epochs",
            }
            if unknown:
                raise ValueError(
                    "Invalid value received for argument `space`. Unknown "
                    f"`dropout_space` arguments {sorted(unknown)}. "
                    f"Received: space={space!r}"
                )
            # Check the space now, before any tuner or trial exists.
            dropout_space(kt.HyperParameters(), **space)
        self.build_fn = build_fn
        self.space = space

    def build(self, hp):
        with _collect() as specs:
            spec = None if self.space is False else dropout_space(hp, **self.space)
            model = self.build_fn(hp, spec)
        if not isinstance(model, keras.Model):
            raise TypeError(
                "`build_fn` of DropoutHyperModel must return a Keras model. "
                f"Received: {model!r} of type {type(model).__name__}"
            )
        # Plain attribute, not tracked by Keras (it holds no state).
        object.__setattr__(model, "_kerasdrop_specs", list(specs))
        return model

    def fit(self, hp, model, *args, **kwargs):
        """`model.fit` with the specs' callbacks first (see the class)."""
        epochs = kwargs.get("epochs", 1)
        extra = [
            cb
            for spec in getattr(model, "_kerasdrop_specs", ())
            for cb in spec.callbacks(epochs=epochs)
        ]
        kwargs["callbacks"] = extra + list(kwargs.get("callbacks") or [])
        return model.fit(*args, **kwargs)


def specs_of(model):
    """The `DropoutSpec`s declared while `DropoutHyperModel` built `model`."""
    return list(getattr(model, "_kerasdrop_specs", ()))
