"""Swap stock Keras dropout layers for kerasdrop ones in a built model, and back."""

import warnings

import keras

from kerasdrop import layers as kd_layers

_TARGETS = ("kerasdrop", "keras")


def _to_kerasdrop(layer, mc=False):
    """A kerasdrop layer equivalent to a stock dropout layer, or None."""
    config = layer.get_config()
    common = {
        "name": config["name"],
        "dtype": config.get("dtype"),
        "seed": config.get("seed"),
        "mc": mc,
    }
    # Subclasses first: Keras' Spatial layers derive from Dropout.
    for keras_cls, kd_cls in (
        (keras.layers.SpatialDropout1D, kd_layers.SpatialDropout1D),
        (keras.layers.SpatialDropout2D, kd_layers.SpatialDropout2D),
        (keras.layers.SpatialDropout3D, kd_layers.SpatialDropout3D),
    ):
        if type(layer) is keras_cls:
            data_format = config.get("data_format", "channels_last")
            return kd_cls(layer.rate, data_format=data_format, **common)
    if type(layer) is keras.layers.Dropout:
        return kd_layers.Dropout(
            layer.rate, noise_shape=layer.noise_shape, **common
        )
    if type(layer) is keras.layers.GaussianDropout:
        return kd_layers.GaussianDropout(layer.rate, **common)
    return None


def _to_keras(layer, mc=False):
    """A stock Keras layer equivalent to a kerasdrop layer, or None."""
    if not isinstance(layer, kd_layers.DropoutBase):
        return None
    if layer.mc:
        warnings.warn(
            f"Layer '{layer.name}' is an MC layer (drops at inference); the "
            "stock Keras layer drops in training only.",
            stacklevel=3,
        )
    common = {"name": layer.name, "dtype": layer.dtype_policy, "seed": layer.seed}
    rate = layer.rate
    if layer.schedule is not None:
        warnings.warn(
            f"Layer '{layer.name}' follows the schedule {layer.schedule!r}; "
            f"the Keras layer gets its current rate {rate:.6g} as a constant.",
            stacklevel=3,
        )
    for kd_cls, keras_cls in (
        (kd_layers.SpatialDropout1D, keras.layers.SpatialDropout1D),
        (kd_layers.SpatialDropout2D, keras.layers.SpatialDropout2D),
        (kd_layers.SpatialDropout3D, keras.layers.SpatialDropout3D),
    ):
        if type(layer) is kd_cls:
            if kd_cls is kd_layers.SpatialDropout1D:
                if layer.data_format != "channels_last":
                    break
                return keras_cls(rate, **common)
            return keras_cls(rate, data_format=layer.data_format, **common)
    else:
        if type(layer) is kd_layers.Dropout and layer.scaling == "inverted":
            return keras.layers.Dropout(
                rate, noise_shape=layer.noise_shape, **common
            )
        if type(layer) is kd_layers.GaussianDropout:
            return keras.layers.GaussianDropout(rate, **common)
    raise ValueError(
        "Invalid value received for argument `model`. Layer "
        f"'{layer.name}' ({type(layer).__name__}"
        f"{', scaling=classic' if getattr(layer, 'scaling', '') == 'classic' else ''}"
        f"{', channels_first' if getattr(layer, 'data_format', '') == 'channels_first' else ''}"
        ") has no stock Keras equivalent, so `to='keras'` cannot convert "
        f"it. Received: model={layer!r}"
    )


def convert(model, to="kerasdrop", mc=False):
    """Returns a copy of `model` with its dropout layers swapped.

    `to="kerasdrop"` replaces every stock `keras.layers.Dropout`,
    `SpatialDropout1D/2D/3D` and `GaussianDropout` (in nested models too) by
    the kerasdrop layer of the same kind, rate, seed and name, so the rate
    can be scheduled, logged and used for MC sampling. `to="keras"` goes
    back (a scheduled layer keeps its current rate; kinds with no stock
    equivalent raise). All other layers are cloned with their weights; the
    original model is not modified. Warns when nothing was replaced.

    This is also the way to Monte-Carlo dropout for a model built with stock
    Keras layers: `kerasdrop.mc.predict(kerasdrop.convert(model), x)`, or
    `convert(model, mc=True)` for layers that always drop at inference.

    Args:
        model: a built `keras.Sequential` or Functional `keras.Model`.
        to: `"kerasdrop"` (default) or `"keras"`.
        mc: bool, default False. With `to="kerasdrop"`, build the new layers
            with `mc=True` (they also drop at inference).

    Returns:
        The converted copy.

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
    ...                           keras.layers.Dropout(0.5)])
    >>> new = kerasdrop.convert(model)
    >>> type(new.layers[-1]).__name__, new.layers[-1].rate
    ('Dropout', 0.5)
    >>> isinstance(new.layers[-1], kerasdrop.layers.DropoutBase)
    True
    """
    if to not in _TARGETS:
        raise ValueError(
            "Invalid value received for argument `to`. Expected one of "
            f"{_TARGETS}. Received: to={to!r}"
        )
    if not isinstance(model, keras.Model):
        raise TypeError(
            "Invalid value received for argument `model`. Expected a "
            f"`keras.Model`. Received: model={model!r} of type "
            f"{type(model).__name__}"
        )
    is_graph = isinstance(model, keras.Sequential) or (
        type(model).__name__ == "Functional"
    )
    if not is_graph:
        raise TypeError(
            "Invalid value received for argument `model`. Expected a "
            "Sequential or Functional model; a subclassed model's layers are "
            "built in Python code kerasdrop cannot rewrite (use kerasdrop "
            f"layers in its `__init__`). Received: model of type "
            f"{type(model).__name__}"
        )
    if not model.built:
        raise ValueError(
            "Invalid value received for argument `model`. Expected a built "
            "model (give it an `Input` or call it once). "
            f"Received: model '{model.name}' that is not built"
        )

    if not isinstance(mc, bool):
        raise TypeError(
            "Invalid value received for argument `mc`. Expected a bool. "
            f"Received: mc={mc!r} of type {type(mc).__name__}"
        )
    if mc and to != "kerasdrop":
        raise ValueError(
            "Invalid value received for argument `mc`. Stock Keras dropout "
            "has no MC mode, so `mc=True` needs `to='kerasdrop'`. "
            f"Received: mc={mc!r} with to={to!r}"
        )
    convert_one = _to_kerasdrop if to == "kerasdrop" else _to_keras

    def swap(layer):
        return convert_one(layer, mc=mc)

    pairs = []
    replaced = []

    def clone_function(layer):
        new = swap(layer)
        if new is None:
            new = layer.__class__.from_config(layer.get_config())
            pairs.append((layer, new))
        else:
            replaced.append(layer.name)
        return new

    clone = keras.models.clone_model(
        model, clone_function=clone_function, recursive=True
    )
    for old, new in pairs:
        if old.weights:
            if not new.built:
                new.build_from_config(old.get_build_config() or {})
            new.set_weights(old.get_weights())
    if not replaced:
        kind = "stock Keras" if to == "kerasdrop" else "kerasdrop"
        warnings.warn(
            f"convert(to={to!r}) found no {kind} dropout layer in model "
            f"'{model.name}'; the copy is unchanged.",
            stacklevel=2,
        )
    return clone
