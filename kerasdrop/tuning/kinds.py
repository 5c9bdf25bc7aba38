"""The dropout kinds a space can choose: one object each.

A kind declares its own hyperparameters (`declare`, inside its conditional
scope), builds its layer (`layer`) and the callbacks one `fit` needs
(`callbacks`). Rated kinds share one `rate` hyperparameter, which the space
declares once for all of them. `DropoutSpec` delegates to `KIND_TABLE`.
"""

import re

import keras

from kerasdrop import callbacks as callbacks_lib
from kerasdrop._checks import check_int, value_error
from kerasdrop.layers import ConcreteDropout, Dropout, concrete_regularizers
from kerasdrop.tuning.searched import SEARCHED_SCHEDULES


def choice(hp, name, values):
    """`hp.Choice` over `values`, or `hp.Fixed` for one value."""
    if len(values) == 1:
        return hp.Fixed(name, values[0])
    return hp.Choice(name, list(values))


def auto_name(spec, suffix):
    """A fresh layer name `<space>_<suffix>[_<n>]`."""
    prefix = f"{spec.name}_{suffix}".replace("-", "_").replace(".", "_")
    uid = keras.backend.get_uid(prefix)
    return prefix if uid == 1 else f"{prefix}_{uid - 1}"


def selector(spec):
    """Regexes matching exactly the layers `spec` made (for the callbacks)."""
    return [re.escape(n) for n in spec._layer_names]


class Kind:
    """A kind with no hyperparameter, layer or callback of its own."""

    rated = False  # True: uses the space's shared `rate` hyperparameter

    def declare(self, hp, space):
        """Declares the kind's hyperparameters; returns the spec fields they set."""
        return {}

    def schedule(self, spec, epochs):
        return None

    def callbacks(self, spec, epochs):
        return []


class NoDropout(Kind):
    """`"none"`: `keras.layers.Identity`, or the given layer itself."""

    def layer(self, spec, layer, kwargs):
        if layer is not None:
            return layer
        name = kwargs.get("name") or auto_name(spec, "nodrop")
        return keras.layers.Identity(name=name)


class ConstantDropout(Kind):
    """`"constant"`: `kerasdrop.layers.Dropout(rate)` (before `layer`)."""

    rated = True

    def initial_rate(self, spec):
        return spec.rate

    def layer(self, spec, layer, kwargs):
        kwargs.setdefault("name", auto_name(spec, "drop"))
        drop = Dropout(self.initial_rate(spec), **kwargs)
        spec._layer_names.append(drop.name)
        if layer is None:
            return drop
        return keras.Sequential([drop, layer], name=auto_name(spec, "block"))


class ScheduledDropout(ConstantDropout):
    """`"scheduled"`: a `Dropout` whose rate a `DropoutScheduler` drives.

    Declares `schedule` and, for each schedule, its own parameters under
    `<schedule>/` (present in a trial only when that schedule is chosen).
    """

    def declare(self, hp, space):
        schedule = choice(hp, "schedule", space.schedules)
        params = {}
        for option in space.schedules:
            with hp.conditional_scope("schedule", [option]), hp.name_scope(option):
                for key, values in SEARCHED_SCHEDULES[option].params.items():
                    value = choice(hp, key, values)
                    if option == schedule:
                        params[key] = value
        return {"schedule": schedule, "params": params}

    def initial_rate(self, spec):
        return self.schedule(spec, spec.epochs or 1)(0)

    def schedule(self, spec, epochs):
        epochs = check_int(
            "epochs",
            spec.epochs if epochs is None else epochs,
            minimum=1,
            expected=f"a positive integer: a scheduled rate ('{spec.name}': "
            f"{spec.schedule}) spans the training epochs; pass it to "
            "`callbacks(epochs)` or `dropout_space(..., epochs=)`",
        )
        return SEARCHED_SCHEDULES[spec.schedule].build(spec.rate, spec.params, epochs)

    def callbacks(self, spec, epochs):
        schedule = self.schedule(spec, epochs)
        scheduler = callbacks_lib.DropoutScheduler(
            schedule, layers=selector(spec), unit="epoch"
        )
        return [scheduler]


class ConcreteKind(Kind):
    """`"concrete"`: `ConcreteDropout(layer)` with a learned rate.

    Declares `length_scale`; the regularizers come from
    `concrete_regularizers(n_samples, length_scale, loss=likelihood)`, and
    a `DropoutLogger` logs the learned rates.
    """

    def declare(self, hp, space):
        length_scale = choice(hp, "length_scale", space.length_scales)
        return {"length_scale": length_scale, "n_samples": space.n_samples}

    def layer(self, spec, layer, kwargs):
        if layer is None:
            detail = (
                f"The 'concrete' kind of space '{spec.name}' wraps the layer "
                "whose input it drops (its regularizer needs the kernel)."
            )
            expected = "a layer: `spec.layer(keras.layers.Dense(...))`"
            raise value_error("layer", expected, layer, detail)
        kwargs.setdefault("name", auto_name(spec, "drop"))
        wr, dr = concrete_regularizers(
            spec.n_samples, spec.length_scale, loss=spec.likelihood
        )
        drop = ConcreteDropout(
            layer, weight_regularizer=wr, dropout_regularizer=dr, **kwargs
        )
        spec._layer_names.append(drop.name)
        return drop

    def callbacks(self, spec, epochs):
        return [callbacks_lib.DropoutLogger(layers=selector(spec))]


#: name -> kind, in the order a space declares their hyperparameters.
KIND_TABLE = {
    "none": NoDropout(),
    "constant": ConstantDropout(),
    "scheduled": ScheduledDropout(),
    "concrete": ConcreteKind(),
}
