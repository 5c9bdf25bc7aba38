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

import keras
from keras import ops

from kerasdrop import _checks
from kerasdrop.layers.base import DropoutBase, wrapped_layer
from kerasdrop.layers.dropout import channel_mask_shape, validate_data_format

_register = keras.saving.register_keras_serializable(package="kerasdrop")

#: Keeps p inside (EPS, 1 - EPS) and logs finite.
EPS = 1e-7
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
    if not _checks.is_int(n_samples):
        raise _checks.type_error("n_samples", "a positive integer", n_samples)
    _checks.check_number(
        "n_samples", n_samples, minimum=0, strict=True, expected="a positive integer"
    )
    for name, value in (("length_scale", length_scale), ("precision", precision)):
        _checks.check_number(name, value, minimum=0, strict=True)
    _checks.check_choice("loss", loss, LOSSES)
    tau_n = float(precision) * float(n_samples)
    weight = float(length_scale) ** 2 / tau_n  # all <= float32 max: no overflow
    dropout = (2.0 if loss == "gaussian" else 1.0) / tau_n
    if not (weight <= _checks.F32_MAX and dropout <= _checks.F32_MAX):
        raise _checks.value_error(
            "length_scale",
            "length_scale, precision and n_samples giving regularizers finite "
            f"in float32; they give weight={weight!r}, dropout={dropout!r} with "
            f"precision={precision!r}, n_samples={n_samples!r}",
            length_scale,
        )
    return weight, dropout


def _check_open_rate(name, value):
    """A rate strictly inside (0, 1), as p = sigmoid(p_logit) must be."""
    if not _checks.is_real(value):
        raise _checks.type_error(name, "a float in (0, 1)", value)
    if not EPS < value < 1.0 - EPS:  # also catches NaN
        raise _checks.value_error(name, "a float in (0, 1)", value)
    return float(value)


def _check_coefficient(name, value, strict=False):
    """A regularizer coefficient (>= 0) or temperature (> 0), as a float."""
    return float(_checks.check_number(name, value, minimum=0, strict=strict))


@_register
class ConcreteDropout(DropoutBase):
    """Wraps a layer with a kernel and learns the dropout rate of its input.

    In training the input is dropped with the relaxed mask; at inference the
    wrapper is the wrapped layer (the inverted rule needs no rescaling).
    `rate` is the learned p (read through `DropoutBase`, like every kind's
    rate); `rate = 0.3` sets it. The layer owns one variable of its own,
    `p_logit` (trainable, float32): no rate variable, no schedule, no step.
    Its regularizer is added by every call, so `model.losses` carries it
    into `fit`.

    Args:
        layer: the layer to wrap (Dense, Conv*, anything with a `kernel`).
        weight_regularizer: coefficient of `sum(W^2) / (1 - p)` (>= 0).
        dropout_regularizer: coefficient of `K (p log p + (1-p) log(1-p))`
            (>= 0). `concrete_regularizers(n_samples)` derives both.
        temperature: of the concrete relaxation (> 0); 0.1 as in the paper.
        init_rate: initial p, in (0, 1).
        seed: optional integer seed.
        mc: bool, default False. If True, the layer also drops at inference
            (Monte-Carlo dropout); `kerasdrop.strip_dropout` leaves
            the wrapped layer for serving.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: floating-point input tensor of the wrapped layer (rank >= 1;
            K is its last axis).
        training: Python boolean: training mode (relaxed dropout of the
            input) or inference mode (the wrapped layer, unless `mc=True` or
            the layer is sampled by `kerasdrop.mc`). Both add the
            regularizer.

    Input shape:
        The wrapped layer's, e.g. `(batch, features)` for a `Dense`.

    Output shape:
        The wrapped layer's.

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
    default_temperature = 0.1
    #: Where the dropped axis is: None (features last, as `"channels_last"`)
    #: here; the spatial variant's `data_format` argument.
    data_format = None

    def __init__(
        self,
        layer,
        weight_regularizer=1e-6,
        dropout_regularizer=1e-5,
        temperature=None,
        init_rate=0.1,
        seed=None,
        mc=False,
        **kwargs,
    ):
        layer = wrapped_layer(layer, keras.layers.Layer, "a Keras layer with a kernel")
        init_rate = _check_open_rate("init_rate", init_rate)
        super().__init__(init_rate, seed=seed, mc=mc, **kwargs)
        self.layer = layer
        self.weight_regularizer = _check_coefficient(
            "weight_regularizer", weight_regularizer
        )
        self.dropout_regularizer = _check_coefficient(
            "dropout_regularizer", dropout_regularizer
        )
        if temperature is None:
            temperature = self.default_temperature
        self.temperature = _check_coefficient("temperature", temperature, strict=True)
        self.init_rate = init_rate

    def _create_rate_state(self, initial):
        # The rate is learned: p = sigmoid(p_logit), the only variable.
        logit = math.log(initial) - math.log1p(-initial)
        self.p_logit = self.add_weight(
            name="p_logit",
            shape=(),
            dtype="float32",
            initializer=keras.initializers.Constant(logit),
            trainable=True,
        )

    def load_own_variables(self, store):
        # kerasdrop 0.1.0 saved (p_logit, rate, step): the two it inherited
        # from `DropoutBase` and never used. Only p_logit carries a value.
        if len(store.keys()) == 3:
            store = {"0": store["0"]}
        super().load_own_variables(store)

    @property
    def wrapped(self):
        return self.layer

    # -- build ----------------------------------------------------------------
    def build(self, input_shape):
        self._check_rank(tuple(input_shape))
        if not self.layer.built:
            self.layer.build(input_shape)
        if getattr(self.layer, "kernel", None) is None:
            raise _checks.value_error(
                "layer",
                "a layer with a `kernel` (Dense, Conv1D/2D/3D, ...): the "
                "regularizer needs its weights",
                self.layer.name,
                f"It is a {type(self.layer).__name__}.",
            )
        self.built = True

    # -- the learned rate -----------------------------------------------------
    def live_rate(self):
        p = ops.sigmoid(ops.cast(self.p_logit.value, "float32"))
        return ops.clip(p, EPS, 1.0 - EPS)

    def assign_rate(self, value):
        """Sets p (the logit is assigned), e.g. to restart learning from it."""
        value = _check_open_rate("rate", value)
        self.p_logit.assign(math.log(value) - math.log1p(-value))

    # -- regularizer ----------------------------------------------------------
    def dropped_dim(self, input_shape):
        """K: the size of the dropped axis (features, or channels)."""
        return input_shape[1 if self.data_format == "channels_first" else -1]

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
        return config


@_register
class SpatialConcreteDropout(ConcreteDropout):
    """Concrete Dropout of whole channels for Conv1D/2D/3D inputs.

    One mask entry per (example, channel), shared over the spatial axes; K in
    the regularizer is the number of input channels. Default temperature
    2/3, as for the spatial variant of the reference code. It differs from
    `ConcreteDropout` in one method, `mask_shape` (Keras' spatial dropout
    overrides `_get_noise_shape` only); `__init__` and `get_config` carry
    the `data_format` argument.

    Args:
        layer: the layer to wrap (Conv1D/2D/3D, anything with a `kernel`).
        weight_regularizer: coefficient of `sum(W^2) / (1 - p)` (>= 0).
        dropout_regularizer: coefficient of `K (p log p + (1-p) log(1-p))`
            (>= 0), K the number of channels.
        temperature: of the concrete relaxation (> 0); default 2/3.
        init_rate: initial p, in (0, 1).
        seed: optional integer seed.
        data_format: `"channels_last"` (default: Keras' image data format)
            or `"channels_first"`.
        mc: bool, default False. If True, the layer also drops at inference
            (Monte-Carlo dropout).
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: floating-point input tensor of rank 3, 4 or 5.
        training: Python boolean: training mode (relaxed dropout of whole
            channels) or inference mode (the wrapped layer, unless `mc=True`
            or the layer is sampled by `kerasdrop.mc`).

    Input shape:
        3D, 4D or 5D tensor `(batch, ..., channels)`, or
        `(batch, channels, ...)` with `data_format="channels_first"`.

    Output shape:
        The wrapped layer's.

    Example:

    >>> import keras, kerasdrop
    >>> layer = kerasdrop.layers.SpatialConcreteDropout(keras.layers.Conv2D(4, 3))
    >>> keras.Sequential([keras.Input((8, 8, 3)), layer]).output_shape
    (None, 6, 6, 4)
    """

    default_temperature = 2.0 / 3.0
    min_rank, max_rank = 3, 5  # Conv1D/2D/3D inputs

    def __init__(
        self,
        layer,
        weight_regularizer=1e-6,
        dropout_regularizer=1e-5,
        temperature=None,
        init_rate=0.1,
        seed=None,
        data_format=None,
        mc=False,
        **kwargs,
    ):
        super().__init__(
            layer,
            weight_regularizer=weight_regularizer,
            dropout_regularizer=dropout_regularizer,
            temperature=temperature,
            init_rate=init_rate,
            seed=seed,
            mc=mc,
            **kwargs,
        )
        self.data_format = validate_data_format(data_format)

    def mask_shape(self, inputs):
        return channel_mask_shape(ops.shape(inputs), self.data_format)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}
