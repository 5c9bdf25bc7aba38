"""Monte-Carlo dropout: switch dropout on at inference, and sample fast.

Two ways to make kerasdrop dropout layers drop at inference while every
other layer (BatchNormalization included) stays in inference mode:

- `with kerasdrop.mc.sampling(model): ...` for a block of code;
- `mc=True` on a layer (or `kerasdrop.mc.enable(model)`): always on.

`kerasdrop.mc.predict(model, x, samples=T)` draws T samples in one compiled
pass per batch and returns a `MCResult`.

Models built with stock Keras dropout layers go through
`kerasdrop.convert(model)` first.
"""

import contextlib

import keras

from kerasdrop.layers import base as base_lib


def dropout_layers(model):
    """Every kerasdrop dropout layer in `model` (nested models included)."""
    return [
        layer
        for layer in model._flatten_layers(include_self=True, recursive=True)
        if isinstance(layer, base_lib.DropoutBase)
    ]


def stock_dropout_layers(model):
    """Stock Keras dropout-family layers in `model` (not MC-capable)."""
    kinds = (
        keras.layers.Dropout,
        keras.layers.SpatialDropout1D,
        keras.layers.SpatialDropout2D,
        keras.layers.SpatialDropout3D,
        keras.layers.GaussianDropout,
        keras.layers.GaussianNoise,
        keras.layers.AlphaDropout,
    )
    return [
        layer
        for layer in model._flatten_layers(include_self=True, recursive=True)
        if isinstance(layer, kinds)
    ]


def _forget_compiled(model):
    """Drops the model's cached predict/test functions.

    The MC switch is read when a function is traced: a `predict_function`
    traced before the switch changed would keep the old behaviour.
    """
    if model is None:
        return
    for attr in ("predict_function", "test_function"):
        if getattr(model, attr, None) is not None:
            setattr(model, attr, None)


def _check_model(model, argument="model"):
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"Invalid value received for argument `{argument}`. Expected a "
            f"`keras.Model`. Received: {argument}={model!r} of type "
            f"{type(model).__name__}"
        )


@contextlib.contextmanager
def sampling(model=None):
    """Makes every kerasdrop dropout layer drop at inference inside the block.

    All other layers keep their inference behaviour (BatchNormalization uses
    its moving statistics and does not update them), unlike
    `model(x, training=True)`. The switch is read when a call is traced: eager
    calls and functions traced inside the block sample. With `model`, the
    model's cached `predict`/`evaluate` functions are dropped on entry and on
    exit, so `model.predict` inside the block samples and outside does not.

    Args:
        model: optional `keras.Model` whose compiled functions to refresh.

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)),
    ...                           kerasdrop.layers.Dropout(0.5)])
    >>> x = np.ones((1, 4), "float32")
    >>> with kerasdrop.mc.sampling(model):
    ...     y = model(x)  # some units dropped, the others scaled by 2
    >>> bool(np.all(model(x) == x))  # outside the block: identity
    True
    """
    if model is not None:
        _check_model(model)
        _forget_compiled(model)
    base_lib._MCState.depth += 1
    try:
        yield
    finally:
        base_lib._MCState.depth -= 1
        _forget_compiled(model)


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
    _check_model(model)
    base_lib.check_mc(enabled)
    layers = dropout_layers(model)
    if not layers:
        _raise_no_dropout(model)
    for layer in layers:
        layer.mc = enabled
    _forget_compiled(model)
    return layers


def disable(model):
    """Sets `mc=False` on every kerasdrop dropout layer of `model`."""
    return enable(model, False)


def _raise_no_dropout(model):
    stock = stock_dropout_layers(model)
    if stock:
        hint = (
            f" It has {len(stock)} stock Keras dropout layer(s) "
            f"({', '.join(sorted({type(layer).__name__ for layer in stock}))}),"
            " which cannot sample at inference: convert them with "
            "`model = kerasdrop.convert(model)`."
        )
    else:
        hint = " MC sampling would return the same output every time."
    raise ValueError(
        "Invalid value received for argument `model`. Expected a model with "
        f"at least one kerasdrop dropout layer.{hint} "
        f"Received: model '{model.name}' with no kerasdrop dropout layer"
    )
