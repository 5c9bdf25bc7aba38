"""The Monte-Carlo switch: kerasdrop dropout that drops at inference.

Two ways to make kerasdrop dropout layers drop at inference while every
other layer (BatchNormalization included) stays in inference mode:

- `with kerasdrop.mc.sampling(model): ...` for a block of code (that
  model's dropout, in the calling thread);
- `mc=True` on a layer (or `kerasdrop.mc.enable(model)`): always on.

The public names are those of `kerasdrop.mc`.
"""

import contextlib
import functools
import threading

import keras

from kerasdrop import _checks, _keras, graph
from kerasdrop.layers import base as base_lib


def _sampled_layers(model):
    """The kerasdrop layers `sampling(model)` switches on (checks `model`)."""
    items = list(model) if isinstance(model, (list, tuple)) else [model]
    expected = (
        "Expected a `keras.Model` or layer holding kerasdrop dropout layers, "
        "or a list of them (only their dropout samples)"
    )
    for item in items:
        if not isinstance(item, keras.layers.Layer):
            raise _checks.invalid_type(
                "model",
                f"{expected}.",
                f"model={model!r} of type {type(model).__name__}",
            )
    if not items:
        raise _checks.invalid_value("model", f"{expected}.", f"model={model!r}")
    layers = []
    for item in items:
        if isinstance(item, base_lib.DropoutBase):
            layers.append(item)
        else:
            layers.extend(reachable_layers(item, "kerasdrop.mc.sampling"))
    return items, layers


@contextlib.contextmanager
def sampling(model=None):
    """Makes the kerasdrop dropout layers of `model` drop at inference inside
    the block, in the calling thread only.

    All other layers keep their inference behaviour (BatchNormalization uses
    its moving statistics and does not update them), unlike
    `model(x, training=True)`. The switch is per thread and per layer: other
    models, and other threads calling `model`, stay deterministic.
    `model(x)`, `model.predict` and `model.evaluate` sample inside the block
    and not outside it: the compiled predict/evaluate functions of `model`
    (and of the models nested in it) are kept per mode, so none traced
    inside the block runs outside it or in another thread. A function you
    trace yourself inside the block (`tf.function`, `jax.jit`, or the
    `predict` of another model that calls `model`) keeps sampling: pass
    the model you call.

    Args:
        model: a `keras.Model` (or a layer) holding kerasdrop dropout
            layers, or a list of them. Required (a `TypeError` without): a
            switch for every model would reach models that did not ask.
            Stock Keras dropout: `kerasdrop.convert(model)` first.

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)),
    ...                           kerasdrop.layers.Dropout(0.5)])
    >>> x = np.ones((1, 4), "float32")
    >>> with kerasdrop.mc.sampling(model):
    ...     y = model.predict(x, verbose=0)  # some units dropped, others x2
    >>> bool(np.all(model.predict(x, verbose=0) == x))  # outside: identity
    True
    """
    items, layers = _sampled_layers(model)
    for item in items:
        for layer in [item, *graph.all_layers(item)]:
            if isinstance(layer, keras.Model):
                _ModeFunctions.install(layer)
    with base_lib.mc_sampling_layers(layers):
        yield


class _ModeFunctions:
    """A model's `predict_function` or `test_function` once the model has
    been passed to `sampling()`: one compiled function per set of its
    kerasdrop layers the calling thread samples, picked at every call."""

    def __init__(self, model, kind):
        self.model = model
        self.kind = kind
        self.ids = frozenset(id(layer) for layer in graph.dropout_layers(model))
        self.functions = {}
        self.lock = threading.Lock()

    @classmethod
    def install(cls, model):
        """Puts per-mode functions on `model`, now and whenever Keras builds
        them again (after `graph.reset_compiled`, a rewrite, `mc.enable`)."""
        for kind in ("predict", "test"):
            maker = functools.partial(cls.make, model, kind)
            _keras.override_function_maker(model, kind, maker)
            cls.make(model, kind)

    @classmethod
    def make(cls, model, kind, force=False):
        """`model.make_{kind}_function(force)` of a model with per-mode functions."""
        name = f"{kind}_function"
        if force or not isinstance(getattr(model, name, None), cls):
            setattr(model, name, cls(model, kind))
        return getattr(model, name)

    def __call__(self, *args):
        mode = self.ids & base_lib.mc_sampled_ids()
        function = self.functions.get(mode)
        if function is None:
            with self.lock:
                if mode not in self.functions:
                    # Built aside: another thread may be reading the model's.
                    function = _keras.build_function(self.model, self.kind)
                    self.functions[mode] = function
                function = self.functions[mode]
        return function(*args)


def enable(model, enabled=True):
    """Sets `mc=enabled` on every kerasdrop dropout layer of `model`.

    MC layers drop at inference too, in every later call, `predict` and
    export of the model (until `disable(model)`). Returns the layers changed.

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
    ...                           kerasdrop.layers.Dropout(0.2)])
    >>> [layer.mc for layer in kerasdrop.mc.enable(model)]
    [True]
    """
    _checks.check_model(model)
    base_lib.check_mc(enabled)
    layers = reachable_layers(model, "kerasdrop.mc.enable")
    for layer in layers:
        layer.mc = enabled
    graph.reset_compiled(model)
    return layers


def disable(model):
    """Sets `mc=False` on every kerasdrop dropout layer of `model`."""
    return enable(model, False)


def reachable_layers(model, who):
    """The kerasdrop layers of `model`; warns once about the dropout it cannot
    sample, and raises when there is none (pointing to `convert` only when
    `convert` would find something to convert)."""
    sites = graph.find(model)
    layers = [site.layer for site in sites if site.status == "kerasdrop"]
    others = graph.unreached(model, sites)
    if layers:
        graph.warn_unreached(model, who, others, stacklevel=4)
        return layers
    convertible = [site for site in sites if site.status == "convertible"]
    if convertible:
        hint = (
            f" It has {len(convertible)} dropout layer(s) kerasdrop can convert "
            f"({', '.join(site.path for site in convertible)}), which cannot "
            "sample at inference as they are: convert them with "
            "`model = kerasdrop.convert(model)`."
        )
    elif others:
        hint = (
            " Its dropout is out of kerasdrop's reach: "
            + "; ".join(graph.describe(site) for site in others)
            + "."
        )
    else:
        hint = " MC sampling would return the same output every time."
    raise _checks.invalid_value(
        "model",
        f"Expected a model with at least one kerasdrop dropout layer.{hint}",
        f"model '{model.name}' with no kerasdrop dropout layer",
    )
