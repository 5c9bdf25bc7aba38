"""Concrete Dropout (Gal, Hron & Kendall, NeurIPS 2017): a learned dropout rate.

The wrapper drops its wrapped layer's *input* with the concrete (relaxed
Bernoulli) mask and learns `p = sigmoid(p_logit)` by gradient descent:

    z  = sigmoid((log p - log(1-p) + log u - log(1-u)) / t),  u ~ U(0, 1)
    x' = x * (1 - z) / (1 - p)

and adds, at every call, the regularizer

    weight_regularizer * sum(W^2) / (1 - p)
      + dropout_regularizer * K * (p log p + (1-p) log(1-p))

with W the wrapped layer's kernel and K the dropped input dimension
(features for dense layers, channels for spatial ones). The loss is added in
`call` (not in `build`, where TF2 loses it: yaringal/ConcreteDropout#13).
"""

import math
import numbers

import keras
import numpy as np
from keras import ops

from kerasdrop.layers.base import DropoutBase
from kerasdrop.layers.dropout import validate_data_format

_register = keras.saving.register_keras_serializable(package="kerasdrop")

#: Keeps p inside (EPS, 1 - EPS) and logs finite.
EPS = 1e-7
#: Largest finite float32: coefficients meet the weights in float32.
_F32_MAX = float(np.finfo(np.float32).max)
LOSSES = ("gaussian", "cross_entropy")


def concrete_regularizers(n_samples, length_scale=1e-4, precision=1.0, loss="gaussian"):
    """Derives `(weight_regularizer, dropout_regularizer)` from the data.

    Gal et al.: with N training points, prior length-scale l and model
    precision tau, `weight_regularizer = l^2 / (tau N)` and
    `dropout_regularizer = 2 / (tau N)` for a Gaussian likelihood
    (`1 / (tau N)` for cross-entropy). The defaults (l = 1e-4, tau = 1) are
    the reference code's.

    Example:

    >>> wr, dr = concrete_regularizers(1000)
    >>> float(f"{wr:.6g}"), dr  # l^2 / N = 1e-8 / 1000, 2 / N
    (1e-11, 0.002)
    >>> concrete_regularizers(1000, loss="cross_entropy")[1]
    0.001
    """
    for name, value, integer in (
        ("n_samples", n_samples, True),
        ("length_scale", length_scale, False),
        ("precision", precision, False),
    ):
        kind = numbers.Integral if integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kind):
            raise TypeError(
                f"Invalid value received for argument `{name}`. Expected a "
                f"positive {'integer' if integer else 'number'}. "
                f"Received: {name}={value!r}"
            )
        if not 0 < value <= _F32_MAX:  # also NaN; no float() of a huge int
            raise ValueError(
                f"Invalid value received for argument `{name}`. Expected a "
                f"positive {'integer' if integer else 'number'}, finite in "
                f"float32. Received: {name}={value!r}"
            )
    if loss not in LOSSES:
        raise ValueError(
            "Invalid value received for argument `loss`. Expected one of "
            f"{LOSSES}. Received: loss={loss!r}"
        )
    tau_n = float(precision) * float(n_samples)
    weight = float(length_scale) ** 2 / tau_n  # all <= float32 max: no overflow
    dropout = (2.0 if loss == "gaussian" else 1.0) / tau_n
    if not (weight <= _F32_MAX and dropout <= _F32_MAX):
        raise ValueError(
            "Invalid value received for argument `length_scale`. Expected "
            "length_scale, precision and n_samples giving regularizers "
            f"finite in float32; they give weight={weight!r}, "
            f"dropout={dropout!r}. Received: length_scale={length_scale!r}, "
            f"precision={precision!r}, n_samples={n_samples!r}"
        )
    return weight, dropout


def _check_open_rate(name, value):
    """A rate strictly inside (0, 1), as p = sigmoid(p_logit) must be."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Invalid value received for argument `{name}`. Expected a float "
            f"in (0, 1). Received: {name}={value!r}"
        )
    if not (EPS < value < 1.0 - EPS):  # also catches NaN
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a float "
            f"in (0, 1). Received: {name}={value!r}"
        )
    return float(value)


def _check_positive(name, value, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Invalid value received for argument `{name}`. Expected a number. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    ok = value >= 0 if allow_zero else value > 0
    if not ok or not value <= _F32_MAX:  # also NaN, inf
        rel = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a number "
            f"{rel}, finite in float32. Received: {name}={value!r}"
        )
    return float(value)


@_register
class ConcreteDropout(DropoutBase):
    """Wraps a layer with a kernel and learns the dropout rate of its input.

    Args:
        layer: the layer to wrap (Dense, Conv*, anything with a `kernel`).
        weight_regularizer: coefficient of `sum(W^2) / (1 - p)` (>= 0).
        dropout_regularizer: coefficient of `K (p log p + (1-p) log(1-p))`
            (>= 0). `concrete_regularizers(n_samples)` derives both.
        temperature: of the concrete relaxation (> 0); 0.1 as in the paper.
        init_rate: initial p, in (0, 1).
        seed: optional integer seed.

    In training the input is dropped with the relaxed mask; at inference the
    wrapper is the wrapped layer (the inverted rule needs no rescaling).
    `rate` is the learned p; `rate = 0.3` sets it. Its regularizer is added
    by every call, so `model.losses` carries it into `fit`.

    Example:

    >>> import keras, kerasdrop
    >>> wr, dr = kerasdrop.layers.concrete_regularizers(n_samples=500)
    >>> layer = kerasdrop.layers.ConcreteDropout(
    ...     keras.layers.Dense(16), weight_regularizer=wr, dropout_regularizer=dr)
    >>> model = keras.Sequential([keras.Input((8,)), layer, keras.layers.Dense(1)])
    >>> round(layer.rate, 4)
    0.1
    """

    learned = True
    min_rank = 1  # K in the regularizer is the last (or channel) axis
    spatial = False  # True: one mask entry per (example, channel)
    default_temperature = 0.1

    def __init__(
        self,
        layer,
        weight_regularizer=1e-6,
        dropout_regularizer=1e-5,
        temperature=None,
        init_rate=0.1,
        seed=None,
        data_format=None,
        **kwargs,
    ):
        if isinstance(layer, dict):
            layer = keras.saving.deserialize_keras_object(layer)
        if not isinstance(layer, keras.layers.Layer):
            raise TypeError(
                "Invalid value received for argument `layer`. Expected a Keras "
                f"layer with a kernel. Received: layer={layer!r} of type "
                f"{type(layer).__name__}"
            )
        init_rate = _check_open_rate("init_rate", init_rate)
        super().__init__(init_rate, seed=seed, **kwargs)
        self.layer = layer
        self.weight_regularizer = _check_positive(
            "weight_regularizer", weight_regularizer, allow_zero=True
        )
        self.dropout_regularizer = _check_positive(
            "dropout_regularizer", dropout_regularizer, allow_zero=True
        )
        if temperature is None:
            temperature = self.default_temperature
        self.temperature = _check_positive("temperature", temperature)
        self.init_rate = float(init_rate)
        if self.spatial:
            self.data_format = validate_data_format(data_format)
        elif data_format is not None:
            raise ValueError(
                "Invalid value received for argument `data_format`. "
                "ConcreteDropout drops features; use SpatialConcreteDropout "
                f"for channels. Received: data_format={data_format!r}"
            )
        else:
            self.data_format = None
        logit = math.log(self.init_rate) - math.log1p(-self.init_rate)
        self.p_logit = self.add_weight(
            name="p_logit",
            shape=(),
            dtype="float32",
            initializer=keras.initializers.Constant(logit),
            trainable=True,
        )

    @property
    def wrapped(self):
        return self.layer

    # -- build ----------------------------------------------------------------
    def build(self, input_shape):
        self._check_rank(tuple(input_shape))
        if self.spatial and len(input_shape) not in (3, 4, 5):
            raise ValueError(
                f"Invalid input shape for layer '{self.name}'. Expected rank 3, "
                f"4 or 5 (a Conv1D/2D/3D input). Received: input_shape={input_shape}"
            )
        if not self.layer.built:
            self.layer.build(input_shape)
        if getattr(self.layer, "kernel", None) is None:
            raise ValueError(
                "Invalid value received for argument `layer`. Expected a layer "
                "with a `kernel` (Dense, Conv1D/2D/3D, ...): the regularizer "
                "needs its weights. "
                f"Received: layer={self.layer.name!r} of type "
                f"{type(self.layer).__name__}"
            )
        self.built = True

    # -- the learned rate -----------------------------------------------------
    def live_rate(self):
        p = ops.sigmoid(ops.cast(self.p_logit.value, "float32"))
        return ops.clip(p, EPS, 1.0 - EPS)

    @property
    def rate(self):
        """The learned dropout rate p = sigmoid(p_logit), as a float."""
        return float(str(np.float32(ops.convert_to_numpy(self.live_rate()))))

    @rate.setter
    def rate(self, value):
        self.assign_rate(value)

    def assign_rate(self, value):
        """Sets p (the logit is assigned), e.g. to restart learning from it."""
        value = _check_open_rate("rate", value)
        self.p_logit.assign(math.log(value) - math.log1p(-value))

    # -- regularizer ----------------------------------------------------------
    def dropped_dim(self, input_shape):
        if self.spatial:
            axis = 1 if self.data_format == "channels_first" else -1
            return input_shape[axis]
        return input_shape[-1]

    def regularization(self, input_shape):
        """The Concrete Dropout regularizer for the current p (a scalar)."""
        p = self.live_rate()
        kernel = ops.cast(self.layer.kernel.value, "float32")
        weight = self.weight_regularizer * ops.sum(ops.square(kernel)) / (1.0 - p)
        neg_entropy = p * ops.log(p) + (1.0 - p) * ops.log1p(-p)
        k = float(self.dropped_dim(input_shape))
        return weight + self.dropout_regularizer * k * neg_entropy

    # -- call -----------------------------------------------------------------
    def call(self, inputs, training=False):
        self._check_inputs(inputs)  # before the regularizer reads the shape
        self.add_loss(self.regularization(tuple(inputs.shape)))
        return super().call(inputs, training=training)

    def mask_shape(self, inputs):
        shape = ops.shape(inputs)
        if not self.spatial:
            return shape
        ones = (1,) * (len(shape) - 2)
        if self.data_format == "channels_first":
            return (shape[0], shape[1]) + ones
        return (shape[0],) + ones + (shape[-1],)

    def drop(self, inputs, rate):
        u = EPS + (1.0 - 2.0 * EPS) * self.noise(self.mask_shape(inputs))
        # 1 - z = sigmoid(-(logit p + logit u) / t): with logit u =
        # -log((1 - u) / u) and the scalars folded, the mask costs ~7
        # elementwise ops (forward) instead of ~10.
        logit_p = ops.log(rate) - ops.log1p(-rate)  # = p_logit, clipped like p
        inv_t = 1.0 / self.temperature
        keep = ops.sigmoid(inv_t * ops.log((1.0 - u) / u) - inv_t * logit_p)
        keep = keep * (1.0 / (1.0 - rate))
        return self.layer(inputs * ops.cast(keep, inputs.dtype))

    def inference(self, inputs):
        return self.layer(inputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.pop("rate", None)
        config.update(
            {
                "layer": keras.saving.serialize_keras_object(self.layer),
                "weight_regularizer": self.weight_regularizer,
                "dropout_regularizer": self.dropout_regularizer,
                "temperature": self.temperature,
                "init_rate": self.init_rate,
            }
        )
        if self.spatial:
            config["data_format"] = self.data_format
        return config


@_register
class SpatialConcreteDropout(ConcreteDropout):
    """Concrete Dropout of whole channels for Conv1D/2D/3D inputs.

    One mask entry per (example, channel), shared over the spatial axes; K in
    the regularizer is the number of input channels. Default temperature
    2/3, as for the spatial variant of the reference code.

    Example:

    >>> import keras, kerasdrop
    >>> layer = kerasdrop.layers.SpatialConcreteDropout(keras.layers.Conv2D(4, 3))
    >>> keras.Sequential([keras.Input((8, 8, 3)), layer]).output_shape
    (None, 6, 6, 4)
    """

    spatial = True
    default_temperature = 2.0 / 3.0
