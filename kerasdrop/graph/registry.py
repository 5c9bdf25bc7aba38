"""Which layer classes are dropout, and what kerasdrop layer each becomes.

The registry maps a dropout-like class to a `Kind`: how to read its rate and
how to build the equivalent kerasdrop layer (`None` when there is none, e.g.
`AlphaDropout`). Built in: Keras' `Dropout`, `SpatialDropout1D/2D/3D`,
`GaussianDropout`, `AlphaDropout`, `GaussianNoise`; keras.applications
ConvNeXt's `StochasticDepth`; the drop-path layers of keras-hub models (Swin,
MiT, DINOv2, DINOv3, MobileNetV5). Users add their own class with
`kerasdrop.register_dropout`. Keras' `LSTM`, `GRU` and `SimpleRNN` are
registered too: their `dropout`/`recurrent_dropout` arguments convert to
kerasdrop's variational RNN layers. `kerasdrop.graph` is the only reader.
"""

import importlib
import sys

import keras

from kerasdrop import _checks
from kerasdrop.layers import base as base_lib
from kerasdrop.layers import drop_path as drop_path_lib
from kerasdrop.layers import dropout as dropout_lib
from kerasdrop.layers import gaussian as gaussian_lib
from kerasdrop.layers import recurrent as recurrent_lib


class Kind:
    """What kerasdrop knows of one dropout-like class.

    Attributes:
        rate: name of the attribute holding the rate (or a function of the
            layer returning it).
        to_kerasdrop: `fn(layer, mc) -> kerasdrop layer`, or None when the
            class has no kerasdrop equivalent.
        why_not: the reason shown when `to_kerasdrop` is None.
    """

    #: True for classes that compute something else and take dropout as
    #: arguments (RNNs): they are sites only with a positive rate, and do
    #: not pass their input through at inference.
    carrier = False

    def __init__(self, rate, to_kerasdrop, why_not=None, label=""):
        self.rate = rate
        self.to_kerasdrop = to_kerasdrop
        self.why_not = why_not
        self.label = label

    def holds_dropout(self, layer):
        """Whether `layer` is a dropout site (always, for dropout layers)."""
        return True

    def read_rate(self, layer):
        value = self.rate(layer) if callable(self.rate) else getattr(layer, self.rate)
        return float(value)

    def rate_text(self, layer):
        """The rate as `inspect` shows it ("0.1", "stddev 0.1")."""
        text = f"{self.read_rate(layer):.4g}"
        return f"{self.label} {text}" if self.label else text


class _RNNKind(Kind):
    """Keras' `LSTM`, `GRU`, `SimpleRNN`: `dropout`/`recurrent_dropout`
    arguments, converted to kerasdrop's variational layers."""

    carrier = True

    def __init__(self):
        super().__init__(
            lambda layer: max(recurrent_lib.stock_rates(layer).values()),
            recurrent_lib.from_stock,
        )

    def holds_dropout(self, layer):
        return self.read_rate(layer) > 0

    def rate_text(self, layer):
        rates = recurrent_lib.stock_rates(layer)
        return ", ".join(f"{k}={v:g}" for k, v in rates.items())


def _common(layer, mc):
    config = layer.get_config()
    return {
        "name": layer.name,
        "dtype": config.get("dtype"),
        "seed": _int_or_none(config.get("seed", getattr(layer, "seed", None))),
        "mc": mc,
    }


def _int_or_none(value):
    return value if _checks.is_int(value) else None


def _dropout(layer, mc):
    return dropout_lib.Dropout(
        float(layer.rate), noise_shape=layer.noise_shape, **_common(layer, mc)
    )


def _spatial(kd_cls):
    def build(layer, mc):
        data_format = layer.get_config().get("data_format", "channels_last")
        return kd_cls(float(layer.rate), data_format=data_format, **_common(layer, mc))

    return build


def _gaussian(layer, mc):
    return gaussian_lib.GaussianDropout(float(layer.rate), **_common(layer, mc))


def _drop_path(attribute, scale_by_keep=True):
    def build(layer, mc):
        scale = getattr(layer, "scale_by_keep", scale_by_keep)
        return drop_path_lib.DropPath(
            float(getattr(layer, attribute)), scale_by_keep=scale, **_common(layer, mc)
        )

    return build


_NO_EQUIVALENT = "kerasdrop has no {} with a variable rate yet"

#: Built-in kinds. Keys are classes, or "module:Class" strings resolved only
#: once their module is imported (keras-hub stays optional).
_BUILTIN = {
    keras.layers.Dropout: Kind("rate", _dropout),
    keras.layers.SpatialDropout1D: Kind("rate", _spatial(dropout_lib.SpatialDropout1D)),
    keras.layers.SpatialDropout2D: Kind("rate", _spatial(dropout_lib.SpatialDropout2D)),
    keras.layers.SpatialDropout3D: Kind("rate", _spatial(dropout_lib.SpatialDropout3D)),
    keras.layers.GaussianDropout: Kind("rate", _gaussian),
    keras.layers.AlphaDropout: Kind(
        "rate", None, _NO_EQUIVALENT.format("AlphaDropout")
    ),
    keras.layers.LSTM: _RNNKind(),
    keras.layers.GRU: _RNNKind(),
    keras.layers.SimpleRNN: _RNNKind(),
    keras.layers.GaussianNoise: Kind(
        "stddev",
        None,
        "GaussianNoise adds noise of a fixed stddev, not dropout",
        label="stddev",
    ),
    "keras.src.applications.convnext:StochasticDepth": Kind(
        "drop_path_rate", _drop_path("drop_path_rate")
    ),
    "keras_hub.src.models.swin_transformer.swin_transformer_layers:DropPath": Kind(
        "drop_prob", _drop_path("drop_prob")
    ),
    "keras_hub.src.models.mit.mit_layers:DropPath": Kind("rate", _drop_path("rate")),
    "keras_hub.src.models.dinov2.dinov2_layers:DINOV2DropPath": Kind(
        "rate", _drop_path("rate")
    ),
    "keras_hub.src.models.dinov3.dinov3_layers:DINOV3DropPath": Kind(
        "rate", _drop_path("rate")
    ),
    "keras_hub.src.models.mobilenetv5.mobilenetv5_layers:DropPath": Kind(
        "drop_prob", _drop_path("drop_prob")
    ),
}

_USER = {}


def _resolve(key):
    """The class a registry key names, or None while its module is not loaded."""
    if isinstance(key, type):
        return key
    module, _, name = key.partition(":")
    if module not in sys.modules:
        return None
    return getattr(importlib.import_module(module), name, None)


def kinds():
    """`{class: Kind}` of every known class whose module is loaded."""
    found = {}
    for key, kind in list(_BUILTIN.items()) + list(_USER.items()):
        cls = _resolve(key)
        if cls is not None:
            found[cls] = kind
    return found


def kind_of(layer):
    """The `Kind` of `layer` (most specific class first), or None.

    kerasdrop's own layers are not in the registry: they are the targets.
    """
    if isinstance(layer, base_lib.DropoutBase) or recurrent_lib.is_variational(layer):
        return None
    table = kinds()
    for cls in type(layer).__mro__:
        if cls in table:
            return table[cls]
    return None


def register_dropout(cls, to_kerasdrop, rate="rate"):
    """Tells kerasdrop that `cls` is a dropout layer, and how to convert it.

    From then on `kerasdrop.convert` replaces every `cls` layer of a model
    (at any depth) by `to_kerasdrop(layer, mc)`, `kerasdrop inspect` lists
    them, and MC sampling, schedulers and export name the ones not yet
    converted. Registering a class again replaces its entry.

    Args:
        cls: a subclass of `keras.layers.Layer` (not a kerasdrop layer).
        to_kerasdrop: `fn(layer, mc)` returning the kerasdrop layer that
            replaces `layer` (give it `layer.name` and pass `mc=mc`), or None
            for a class kerasdrop should list but cannot convert.
        rate: name of the attribute holding the layer's rate, or a function
            `fn(layer) -> float`.

    Example:

    >>> import keras, kerasdrop
    >>> class MyDrop(keras.layers.Layer):
    ...     def __init__(self, p=0.1, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.p = p
    ...     def call(self, x, training=False):
    ...         return x
    >>> kerasdrop.register_dropout(
    ...     MyDrop, lambda layer, mc: kerasdrop.layers.Dropout(
    ...         layer.p, name=layer.name, mc=mc), rate="p")
    >>> model = keras.Sequential([keras.Input((3,)), MyDrop(0.2)])
    >>> type(kerasdrop.convert(model, copy=False).layers[0]).__name__
    'Dropout'
    """
    if not isinstance(cls, type) or not issubclass(cls, keras.layers.Layer):
        raise TypeError(
            "Invalid value received for argument `cls`. Expected a subclass "
            f"of `keras.layers.Layer`. Received: cls={cls!r}"
        )
    if issubclass(cls, base_lib.DropoutBase):
        raise ValueError(
            "Invalid value received for argument `cls`. Expected a layer "
            "class that is not already a kerasdrop dropout layer. "
            f"Received: cls={cls.__name__}"
        )
    if to_kerasdrop is not None and not callable(to_kerasdrop):
        raise TypeError(
            "Invalid value received for argument `to_kerasdrop`. Expected a "
            "function `fn(layer, mc)` returning a kerasdrop layer, or None. "
            f"Received: to_kerasdrop={to_kerasdrop!r}"
        )
    if not (isinstance(rate, str) and rate.isidentifier()) and not callable(rate):
        raise TypeError(
            "Invalid value received for argument `rate`. Expected an "
            "attribute name or a function `fn(layer) -> float`. "
            f"Received: rate={rate!r}"
        )
    why = None if to_kerasdrop is not None else "registered without a conversion"
    _USER[cls] = Kind(rate, to_kerasdrop, why)


def unregister_dropout(cls):
    """Removes a class registered with `register_dropout` (no error if absent)."""
    _USER.pop(cls, None)
