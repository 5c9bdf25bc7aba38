"""Compiled functions: how a model builds its train, test and predict steps."""

import functools


def override_function_maker(model, kind, maker):
    """Makes `model` build its `kind` function ("predict", "test", "train")
    with `maker(force=False)` from now on; kept if one was set before.

    Relies on: `Trainer.predict`/`evaluate`/`fit` calling
    `self.make_{kind}_function()` on the instance (so an instance attribute
    overrides the class's), and on every backend's signature
    `make_{kind}_function(force=False)`.
    """
    name = f"make_{kind}_function"
    if name not in model.__dict__:
        object.__setattr__(model, name, maker)


class _StandIn:
    """Stands in for a model while Keras builds one of its compiled
    functions: Keras stores the function here, not on the model (another
    thread may be reading the model's own)."""

    def __init__(self, model):
        object.__setattr__(self, "_model", model)

    def __getattr__(self, name):
        value = getattr(self._model, name)
        if name.endswith("_step") and callable(value):
            # A fresh callable per build: `jax.jit` caches traces by
            # function, and two bound methods of one model compare equal.
            return functools.partial(value)
        return value

    def __setattr__(self, name, value):
        self.__dict__[name] = value


def build_function(model, kind):
    """A newly traced `kind` function ("predict", "test", "train") of `model`,
    built by the class's `make_{kind}_function` (not an override set with
    `override_function_maker`) and not stored on `model`.

    Relies on: `Trainer.make_{kind}_function(force=True)` reading the model
    (its `{kind}_step`, distribution state) through `self` and storing the
    function as `self.{kind}_function`.
    """
    stand_in = _StandIn(model)
    getattr(type(model), f"make_{kind}_function")(stand_in, force=True)
    return stand_in.__dict__[f"{kind}_function"]


def fresh_train_function(model):
    """`model.make_train_function(force=True)` over a new step function:
    stored on `model` as Keras does, and returned.

    JAX caches traces by function, and every `model.train_step` is the same
    bound method: a new `partial` gets a trace of its own, traced with the
    model as it is now (and Keras' own function keeps its trace).

    Relies on: `Trainer.make_train_function` reading `self.train_step`
    (overridden on the instance while it builds).
    """
    step = functools.partial(type(model).train_step, model)
    object.__setattr__(model, "train_step", step)
    try:
        model.make_train_function(force=True)
    finally:
        object.__delattr__(model, "train_step")
    return model.train_function
