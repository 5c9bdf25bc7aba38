"""`DropoutHyperModel`: a KerasTuner HyperModel that adds the specs' callbacks."""

import inspect

import keras
import keras_tuner as kt

from kerasdrop._checks import check_type, type_error, value_error
from kerasdrop.tuning.space import collect, dropout_space

#: The keyword arguments of `dropout_space` a `space` dict may hold.
SPACE_ARGUMENTS = tuple(inspect.signature(dropout_space).parameters)[1:]


def _check_space(space):
    """`space` checked now, before any tuner or trial exists."""
    if space is None:
        return {}
    if space is not False:
        expected = "a dict of `dropout_space` keyword arguments or False"
        check_type("space", space, dict, expected)
        unknown = sorted(set(space) - set(SPACE_ARGUMENTS))
        if unknown:
            detail = f"Unknown `dropout_space` arguments {unknown}."
            raise value_error("space", expected, space, detail)
        dropout_space(kt.HyperParameters(), **space)
    return space


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
        name: as for `keras_tuner.HyperModel`.
        tunable: as for `keras_tuner.HyperModel`.

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
            expected = "a callable `build_fn(hp, spec) -> model`"
            raise type_error("build_fn", expected, build_fn)
        self.space = _check_space(space)
        self.build_fn = build_fn

    def build(self, hp):
        with collect() as specs:
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
        extra = [cb for spec in specs_of(model) for cb in spec.callbacks(epochs=epochs)]
        kwargs["callbacks"] = extra + list(kwargs.get("callbacks") or [])
        return model.fit(*args, **kwargs)


def specs_of(model):
    """The `DropoutSpec`s declared while `DropoutHyperModel` built `model`."""
    return list(getattr(model, "_kerasdrop_specs", ()))
