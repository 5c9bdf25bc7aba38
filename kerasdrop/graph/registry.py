"""One entry per dropout kind: how to read it, convert it, and strip it.

The registry maps a dropout-like class to a `Kind`, the one place that says
what kerasdrop does with it:

- `rate`: how to read its rate;
- `to_kerasdrop(layer, mc)`: the kerasdrop layer it becomes (None when
  there is none, e.g. `AlphaDropout`), of class `target`;
- `to_keras(kerasdrop_layer)`: what a `target` layer becomes back in Keras
  (None when it has no stock equivalent);
- `stripped(layer)`: what a layer of the kind, the stock one or its
  kerasdrop `target`, becomes in a stripped model (`keras.layers.Identity`
  by default; None keeps it).

`convert` (both ways) and `strip_dropout` read only these entries; what is
not about one kind (layers owned by a block, wrappers, RNN holders) stays in
them. Built in: Keras' `Dropout`, `SpatialDropout1D/2D/3D`,
`GaussianDropout`, `AlphaDropout`, `GaussianNoise`; keras.applications
ConvNeXt's `StochasticDepth`; the drop-path layers of keras-hub models (Swin,
MiT, DINOv2, DINOv3, MobileNetV5). Users add their own class with
`kerasdrop.register_dropout`. Keras' `LSTM`, `GRU` and `SimpleRNN` are
registered too: their `dropout`/`recurrent_dropout` arguments convert to
kerasdrop's variational RNN layers. `kerasdrop.graph` is the only reader.

>>> import keras
>>> kind = kind_of(keras.layers.SpatialDropout2D(0.2))
>>> kind.target.__name__, kind.read_rate(keras.layers.SpatialDropout2D(0.2))
('SpatialDropout2D', 0.2)
"""

import warnings

import keras
import numpy as np
from keras import ops

from kerasdrop import _checks, _keras
from kerasdrop.layers import base as base_lib
from kerasdrop.layers import drop_path as drop_path_lib
from kerasdrop.layers import dropout as dropout_lib
from kerasdrop.layers import gaussian as gaussian_lib
from kerasdrop.layers import recurrent as recurrent_lib


def identity(layer):
    """`keras.layers.Identity` with `layer`'s name and dtype: dropout at
    inference, and what a kind is stripped to unless it says otherwise.

    >>> import keras
    >>> identity(keras.layers.Dropout(0.5, name="head")).name
    'head'
    """
    return keras.layers.Identity(name=layer.name, dtype=layer.dtype_policy.name)


def _kept(layer):
    """`stripped` of kinds left in the stripped model (None: keep it)."""
    return None


class Kind:
    """What kerasdrop knows of one dropout-like class.

    Attributes:
        rate: name of the attribute holding the rate (or a function of the
            layer returning it).
        to_kerasdrop: `fn(layer, mc) -> kerasdrop layer`, or None when the
            class has no kerasdrop equivalent.
        target: the kerasdrop class `to_kerasdrop` returns, or None. A
            kerasdrop layer of this class (or of a subclass, for stripping)
            is of this kind.
        to_keras: `fn(kerasdrop_layer) -> stock layer` for a layer of exactly
            `target`, returning None when this one has no stock equivalent;
            None when no `target` layer has one.
        stripped: `fn(layer)`, what a layer of the kind (stock, or of
            `target`) becomes in a stripped model; None keeps it.
        why_not: the reason shown when `to_kerasdrop` is None.
        label: the word before the rate in `inspect` ("stddev").

    Example:

    >>> import keras
    >>> kind = kind_of(keras.layers.GaussianNoise(0.3))
    >>> kind.to_kerasdrop is None, kind.rate_text(keras.layers.GaussianNoise(0.3))
    (True, 'stddev 0.3')
    """

    #: True for classes that compute something else and take dropout as
    #: arguments (RNNs): they are sites only with a positive rate, and do
    #: not pass their input through at inference.
    carrier = False

    def __init__(
        self,
        rate,
        to_kerasdrop,
        target=None,
        to_keras=None,
        stripped=identity,
        why_not=None,
        label="",
    ):
        self.rate = rate
        self.to_kerasdrop = to_kerasdrop
        self.target = target
        self.to_keras = to_keras
        self.stripped = stripped
        self.why_not = why_not
        self.label = label

    def holds_dropout(self, layer):
        """Whether `layer` is a dropout site (always, for dropout layers)."""
        return True

    def read_rate(self, layer):
        """The layer's rate as a float; a clear error naming the registered
        `rate` when the layer has no such attribute or it holds no number
        (an attribute name cannot be checked at registration: layers set
        theirs in `__init__`)."""
        if callable(self.rate):
            value = self.rate(layer)
        elif hasattr(layer, self.rate):
            value = getattr(layer, self.rate)
        else:
            raise _checks.invalid_value(
                "rate",
                f"Expected the name of the attribute of {type(layer).__name__} "
                "layers holding their rate (given to `register_dropout`).",
                f"rate={self.rate!r}, which layer '{layer.name}' does not have",
            )
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _checks.invalid_type(
                "rate",
                "Expected an attribute name or a function giving the layer's "
                "rate as a number.",
                f"rate={self.rate!r} giving {value!r} of type "
                f"{type(value).__name__} for layer '{layer.name}'",
            ) from None

    def rate_text(self, layer):
        """The rate as `inspect` shows it ("0.1", "stddev 0.1")."""
        text = f"{self.read_rate(layer):.4g}"
        return f"{self.label} {text}" if self.label else text


class _RNNKind(Kind):
    """Keras' `LSTM`, `GRU`, `SimpleRNN`: `dropout`/`recurrent_dropout`
    arguments, converted to kerasdrop's variational layers. Their dropout
    is the identity at inference, so stripping keeps them."""

    carrier = True

    def __init__(self):
        super().__init__(
            lambda layer: max(recurrent_lib.stock_rates(layer).values()),
            recurrent_lib.from_stock,
            stripped=_kept,
        )

    def holds_dropout(self, layer):
        return self.read_rate(layer) > 0

    def rate_text(self, layer):
        rates = recurrent_lib.stock_rates(layer)
        return ", ".join(f"{k}={v:g}" for k, v in rates.items())


# ----------------------------------------------------------------------------
# The built-in kinds.
# ----------------------------------------------------------------------------
def _common(layer, mc):
    """Arguments every kerasdrop layer built from stock `layer` shares."""
    config = layer.get_config()
    return {
        "name": layer.name,
        "dtype": config.get("dtype"),
        "seed": _int_or_none(config.get("seed", getattr(layer, "seed", None))),
        "mc": mc,
    }


def _stock_common(layer):
    """Arguments every stock layer built from kerasdrop `layer` shares (its
    rate is read separately: a scheduled layer gives its current rate)."""
    return {"name": layer.name, "dtype": layer.dtype_policy, "seed": layer.seed}


def _int_or_none(value):
    return value if _checks.is_int(value) else None


def _dropout(layer, mc):
    return dropout_lib.Dropout(
        float(layer.rate), noise_shape=layer.noise_shape, **_common(layer, mc)
    )


def _dropout_to_keras(layer):
    """Keras' `Dropout` rescales by `1 / (1 - p)`: only inverted scaling."""
    if layer.scaling != "inverted":
        return None
    return keras.layers.Dropout(
        layer.rate, noise_shape=layer.noise_shape, **_stock_common(layer)
    )


def _dropout_stripped(layer):
    """Identity, except kerasdrop's classic `Dropout`, which multiplies by
    the keep probability at inference: `Rescaling(1 - p)`, in float32 as
    the layer computes it, with its live rate."""
    if getattr(layer, "scaling", None) != "classic":
        return identity(layer)
    rate = np.float32(ops.convert_to_numpy(layer.rate_variable.value))
    return keras.layers.Rescaling(
        float(np.float32(1.0) - rate), name=layer.name, dtype=layer.dtype_policy
    )


def _spatial(kd_cls, keras_cls):
    """The kind of Keras' `keras_cls`, kerasdrop's `kd_cls` both ways."""

    def to_kerasdrop(layer, mc):
        data_format = layer.get_config().get("data_format", "channels_last")
        return kd_cls(float(layer.rate), data_format=data_format, **_common(layer, mc))

    def to_keras(layer):
        if keras_cls is keras.layers.SpatialDropout1D:  # channels last only
            if layer.data_format != "channels_last":
                return None
            return keras_cls(layer.rate, **_stock_common(layer))
        return keras_cls(
            layer.rate, data_format=layer.data_format, **_stock_common(layer)
        )

    return Kind("rate", to_kerasdrop, target=kd_cls, to_keras=to_keras)


def _gaussian(layer, mc):
    return gaussian_lib.GaussianDropout(float(layer.rate), **_common(layer, mc))


def _gaussian_to_keras(layer):
    return keras.layers.GaussianDropout(layer.rate, **_stock_common(layer))


def _drop_path(attribute, scale_by_keep=True):
    """A drop-path kind whose rate is `attribute`; Keras has no drop path,
    so `DropPath` does not go back."""

    def build(layer, mc):
        scale = getattr(layer, "scale_by_keep", scale_by_keep)
        return drop_path_lib.DropPath(
            float(getattr(layer, attribute)), scale_by_keep=scale, **_common(layer, mc)
        )

    return Kind(attribute, build, target=drop_path_lib.DropPath)


_NO_EQUIVALENT = "kerasdrop has no {} with a variable rate yet"

#: Built-in kinds. Keys are classes, or "module:Class" strings resolved only
#: once their package is imported (keras-hub stays optional).
_BUILTIN = {
    keras.layers.Dropout: Kind(
        "rate",
        _dropout,
        target=dropout_lib.Dropout,
        to_keras=_dropout_to_keras,
        stripped=_dropout_stripped,
    ),
    keras.layers.SpatialDropout1D: _spatial(
        dropout_lib.SpatialDropout1D, keras.layers.SpatialDropout1D
    ),
    keras.layers.SpatialDropout2D: _spatial(
        dropout_lib.SpatialDropout2D, keras.layers.SpatialDropout2D
    ),
    keras.layers.SpatialDropout3D: _spatial(
        dropout_lib.SpatialDropout3D, keras.layers.SpatialDropout3D
    ),
    keras.layers.GaussianDropout: Kind(
        "rate",
        _gaussian,
        target=gaussian_lib.GaussianDropout,
        to_keras=_gaussian_to_keras,
    ),
    keras.layers.AlphaDropout: Kind(
        "rate", None, why_not=_NO_EQUIVALENT.format("AlphaDropout")
    ),
    keras.layers.LSTM: _RNNKind(),
    keras.layers.GRU: _RNNKind(),
    keras.layers.SimpleRNN: _RNNKind(),
    keras.layers.GaussianNoise: Kind(
        "stddev",
        None,
        why_not="GaussianNoise adds noise of a fixed stddev, not dropout",
        label="stddev",
    ),
    "keras.src.applications.convnext:StochasticDepth": _drop_path("drop_path_rate"),
    "keras_hub.src.models.swin_transformer.swin_transformer_layers:DropPath": (
        _drop_path("drop_prob")
    ),
    "keras_hub.src.models.mit.mit_layers:DropPath": _drop_path("rate"),
    "keras_hub.src.models.dinov2.dinov2_layers:DINOV2DropPath": _drop_path("rate"),
    "keras_hub.src.models.dinov3.dinov3_layers:DINOV3DropPath": _drop_path("rate"),
    "keras_hub.src.models.mobilenetv5.mobilenetv5_layers:DropPath": (
        _drop_path("drop_prob")
    ),
}

_USER = {}

#: Registered paths the installed packages lack (each warned about once).
_MISSING = set()


# ----------------------------------------------------------------------------
# Lookups.
# ----------------------------------------------------------------------------
def _resolve(key):
    """The class a registry key names; None while its package is not
    imported, or (with a warning, once per path) when it names a class the
    installed package does not have."""
    if isinstance(key, type):
        return key
    if key in _MISSING:
        return None
    try:
        return _keras.loaded_class(key)
    except LookupError as err:
        _MISSING.add(key)
        warnings.warn(
            f"kerasdrop's registry names the dropout class '{key}', which the "
            f"installed package does not have ({err}); its layers are not "
            "recognised as dropout (convert, inspect, MC and strip skip "
            "them). Report it to kerasdrop, or register the class with "
            "`kerasdrop.register_dropout`.",
            stacklevel=3,
        )
        return None


def kinds():
    """`{class: Kind}` of every known class whose module is loaded."""
    found = {}
    for key, kind in list(_BUILTIN.items()) + list(_USER.items()):
        cls = _resolve(key)
        if cls is not None:
            found[cls] = kind
    return found


def kind_of(layer):
    """The `Kind` of stock `layer` (most specific class first), or None.

    kerasdrop's own layers are not looked up here: they are the targets
    (see `kerasdrop_kind`).
    """
    if isinstance(layer, base_lib.DropoutBase) or recurrent_lib.is_variational(layer):
        return None
    table = kinds()
    for cls in type(layer).__mro__:
        if cls in table:
            return table[cls]
    return None


def _targets(skip=None):
    """`{kerasdrop class: Kind}`, the first entry naming a target winning
    (built-in ones first; the drop-path kinds share `DropPath`)."""
    found = {}
    for key, kind in list(_BUILTIN.items()) + list(_USER.items()):
        if kind.target is not None and key is not skip:
            found.setdefault(kind.target, kind)
    return found


def kerasdrop_kind(layer):
    """The `Kind` whose `target` is kerasdrop `layer`'s class (its nearest
    base class that is one), or None.

    >>> import kerasdrop
    >>> kind = kerasdrop_kind(kerasdrop.layers.SpatialDropout1D(0.1))
    >>> type(kind.to_keras(kerasdrop.layers.SpatialDropout1D(0.1))).__name__
    'SpatialDropout1D'
    """
    table = _targets()
    for cls in type(layer).__mro__:
        if cls in table:
            return table[cls]
    return None


# ----------------------------------------------------------------------------
# Registration.
# ----------------------------------------------------------------------------
def _check_function(name, value, expected):
    if value is not None and not callable(value):
        raise _checks.type_error(name, expected, value)


def _check_target(cls, to_keras, target):
    """`target`: None, or a kerasdrop class no other kind goes back from
    (needed when `to_keras` is given)."""
    if target is None:
        if to_keras is not None:
            raise _checks.value_error(
                "target",
                "the kerasdrop class `to_kerasdrop` returns, since `to_keras` "
                "converts layers of that class back",
                target,
            )
        return
    if not isinstance(target, type) or not issubclass(target, base_lib.DropoutBase):
        raise _checks.type_error(
            "target",
            "None or a subclass of `kerasdrop.layers.DropoutBase`",
            target,
        )
    owner = _targets(skip=cls).get(target)
    if owner is not None:
        raise _checks.value_error(
            "target",
            "a kerasdrop class that no other kind converts to (subclass it "
            "to give your kind its own way back and its own stripping)",
            target,
            f"{target.__name__} is already a registered kind's target.",
        )


def _check_registration(cls, to_kerasdrop, rate, to_keras, stripped, target):
    """Every argument of `register_dropout`, before anything is stored."""
    if not isinstance(cls, type) or not issubclass(cls, keras.layers.Layer):
        raise TypeError(
            _checks.message("cls", "a subclass of `keras.layers.Layer`", cls)
        )
    if issubclass(cls, base_lib.DropoutBase):
        raise _checks.invalid_value(
            "cls",
            "Expected a layer class that is not already a kerasdrop dropout layer.",
            f"cls={cls.__name__}",
        )
    if to_kerasdrop is not None and not callable(to_kerasdrop):
        raise TypeError(
            _checks.message(
                "to_kerasdrop",
                "a function `fn(layer, mc)` returning a kerasdrop layer, or None",
                to_kerasdrop,
            )
        )
    if not (isinstance(rate, str) and rate.isidentifier()) and not callable(rate):
        raise TypeError(
            _checks.message(
                "rate",
                "an attribute name or a function `fn(layer) -> float`",
                rate,
            )
        )
    _check_function(
        "to_keras",
        to_keras,
        "None or a function `fn(kerasdrop_layer)` returning a stock layer "
        "(or None when that one has none)",
    )
    _check_function(
        "stripped",
        stripped,
        "None or a function `fn(layer)` returning the layer that replaces it "
        "in a stripped model (or None to keep it)",
    )
    _check_target(cls, to_keras, target)


def register_dropout(
    cls, to_kerasdrop, rate="rate", to_keras=None, stripped=None, target=None
):
    """Tells kerasdrop that `cls` is a dropout layer, and what it becomes.

    From then on `kerasdrop.convert` replaces every `cls` layer of a model
    (at any depth) by `to_kerasdrop(layer, mc)`, `kerasdrop inspect` lists
    them, MC sampling, schedulers and export name the ones not yet
    converted, and `strip_dropout` replaces them by `stripped(layer)`.
    Registering a class again replaces its entry.

    Args:
        cls: a subclass of `keras.layers.Layer` (not a kerasdrop layer).
        to_kerasdrop: `fn(layer, mc)` returning the kerasdrop layer that
            replaces `layer` (give it `layer.name` and pass `mc=mc`), or None
            for a class kerasdrop should list but cannot convert.
        rate: name of the attribute holding the layer's rate, or a function
            `fn(layer) -> float`.
        to_keras: None, or `fn(kerasdrop_layer)` returning the layer
            `convert(model, to="keras")` puts back for a `target` layer (or
            None when that one has none: convert raises). Needs `target`.
        stripped: None (an `Identity`), or `fn(layer)` returning what a
            `cls` or `target` layer becomes in `strip_dropout` (None: kept).
        target: None, or the kerasdrop class `to_kerasdrop` returns, a
            `DropoutBase` subclass that is no other kind's target
            (subclass `kerasdrop.layers.Dropout`, say).

    Example:

    >>> import keras, kerasdrop
    >>> class MyDrop(keras.layers.Layer):
    ...     def __init__(self, p=0.1, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.p = p
    ...     def call(self, x, training=False):
    ...         return x
    >>> class MyKerasdropDrop(kerasdrop.layers.Dropout):
    ...     pass
    >>> kerasdrop.register_dropout(MyDrop,
    ...     lambda layer, mc: MyKerasdropDrop(layer.p, name=layer.name, mc=mc),
    ...     rate="p", to_keras=lambda layer: MyDrop(layer.rate, name=layer.name),
    ...     target=MyKerasdropDrop)
    >>> model = keras.Sequential([keras.Input((3,)), MyDrop(0.2)])
    >>> layer = kerasdrop.convert(model, copy=False).layers[0]
    >>> type(layer).__name__, layer.rate
    ('MyKerasdropDrop', 0.2)
    >>> back = kerasdrop.convert(model, to="keras", copy=False).layers[0]
    >>> type(back).__name__, back.p
    ('MyDrop', 0.2)
    >>> kerasdrop.unregister_dropout(MyDrop)
    """
    _check_registration(cls, to_kerasdrop, rate, to_keras, stripped, target)
    why = None if to_kerasdrop is not None else "registered without a conversion"
    stripped = identity if stripped is None else stripped
    _USER[cls] = Kind(rate, to_kerasdrop, target, to_keras, stripped, why)


def unregister_dropout(cls):
    """Removes a class registered with `register_dropout` (no error if absent)."""
    _USER.pop(cls, None)
