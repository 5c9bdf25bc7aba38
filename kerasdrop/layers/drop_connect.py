"""`DropConnect` (Wan et al. 2013): drops a layer's weights, not its inputs."""

import keras
from keras import ops

from kerasdrop import _backend
from kerasdrop.layers.base import (
    DropoutBase,
    inverted,
    mc_sample_groups,
    wrapped_layer,
)

SUPPORTED = (
    keras.layers.Dense,
    keras.layers.EinsumDense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
)


@keras.saving.register_keras_serializable(package="kerasdrop")
class DropConnect(DropoutBase):
    """Wraps a `Dense`/`EinsumDense`/`Conv*` layer and drops its kernel.

    In an active call each kernel weight is zeroed with probability `rate`
    and the kept ones are scaled by `1 / (1 - rate)` (inverted dropout, so
    inference uses the weights as they are); the bias is never dropped.
    Training draws one weight mask per batch (as baal's and AWD-LSTM's
    weight dropout do; Wan et al. drew one per example). Under Monte-Carlo
    sampling (`mc=True`, `kerasdrop.mc.sampling`, `kerasdrop.mc.predict`)
    each MC sample gets its own weight mask; the samples `mc.predict` stacks
    in one batch run as one batched matmul (`Dense`) or einsum
    (`EinsumDense`), and convolutions as one grouped convolution on a GPU or
    TPU (on CPU, where grouped convolutions are slow, as one call per
    sample). Inference is the wrapped layer.

    Args:
        layer: the `keras.layers.Dense`, `EinsumDense` or `Conv1D/2D/3D` to
            wrap (its weights are the wrapper's).
        rate: float in `[0, 1)` or a `kerasdrop.schedules.Schedule`: the
            probability that a weight is dropped.
        seed: optional integer seed.
        mc: bool, default False. If True, the layer also drops weights at
            inference (Monte-Carlo DropConnect); `kerasdrop.strip_dropout`
            leaves the wrapped layer for serving.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: floating-point input tensor of the wrapped layer.
        training: Python boolean: training mode (dropping weights) or
            inference mode (the wrapped layer, unless `mc=True` or the layer
            is sampled by `kerasdrop.mc`).

    Input shape:
        The wrapped layer's.

    Output shape:
        The wrapped layer's.

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> layer = kerasdrop.layers.DropConnect(keras.layers.Dense(3), 0.5, seed=0)
    >>> x = np.ones((2, 4), "float32")
    >>> bool(keras.ops.all(layer(x) == layer.layer(x)))  # inference: the Dense itself
    True
    >>> tuple(layer(x, training=True).shape)
    (2, 3)
    """

    def __init__(self, layer, rate=0.5, seed=None, mc=False, **kwargs):
        layer = wrapped_layer(
            layer,
            SUPPORTED,
            "a `keras.layers.Dense`, `EinsumDense`, `Conv1D`, `Conv2D` or `Conv3D`",
        )
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        self.layer = layer

    @property
    def wrapped(self):
        return self.layer

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def inference(self, inputs):
        return self.layer(inputs)

    def _with_kernel(self, inputs, kernel):
        """The wrapped layer's output computed with `kernel` instead of its own."""
        values = [
            kernel if variable is self.layer.kernel else variable.value
            for variable in self.layer.trainable_variables
        ]
        frozen = [variable.value for variable in self.layer.non_trainable_variables]
        outputs, _ = self.layer.stateless_call(values, frozen, inputs)
        return outputs

    def drop(self, inputs, rate):
        # One weight mask per call, or per MC sample when `mc.predict` stacks
        # `count` samples along the batch axis.
        groups = mc_sample_groups()
        count = 1 if groups is None else groups.groups
        kernel = self.layer.kernel.value
        noise = self.noise(
            (count,) + tuple(kernel.shape), distribution="decision", per_sample=True
        )
        kernels = inverted(kernel, ops.greater_equal(noise, rate), rate)
        layer = self.layer
        dense = isinstance(layer, (keras.layers.Dense, keras.layers.EinsumDense))
        if count == 1 or not (dense or _backend.on_accelerator()):
            # On CPU, separate calls (each convolution fused with its bias
            # and activation) beat a grouped convolution (2.2x slower) and
            # separate convolutions sharing one bias/activation pass.
            rows = ops.shape(inputs)[0] // count
            return ops.concatenate(
                [
                    self._with_kernel(inputs[g * rows : (g + 1) * rows], kernels[g])
                    for g in range(count)
                ],
                axis=0,
            )
        # The chunk's `count` samples in one batched op, each with its mask.
        dtype = layer.compute_dtype
        inputs = ops.cast(inputs, dtype)
        kernels = ops.cast(kernels, dtype)
        if isinstance(layer, keras.layers.EinsumDense):
            outputs = _einsum_per_sample(layer.equation, inputs, kernels, count)
        elif isinstance(layer, keras.layers.Dense):
            outputs = _matmul_per_sample(inputs, kernels, count)
        else:
            outputs = _grouped_conv(layer, inputs, kernels, count)
        return _bias_and_activation(layer, outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "layer": keras.saving.serialize_keras_object(self.layer),
        }


# ----------------------------------------------------------------------------
# One kernel per MC sample: `inputs` stacks `count` samples along the batch
# axis (sample-major), `kernels` holds one kernel per sample.
# ----------------------------------------------------------------------------
def _matmul_per_sample(inputs, kernels, count):
    """`Dense`'s product, sample g's rows by `kernels[g]`: one batched matmul."""
    shape = ops.shape(inputs)
    grouped = ops.reshape(inputs, (count, -1, shape[-1]))
    outputs = ops.matmul(grouped, kernels)
    return ops.reshape(outputs, tuple(shape[:-1]) + (ops.shape(kernels)[-1],))


def _einsum_per_sample(equation, inputs, kernels, count):
    """`EinsumDense`'s einsum with a sample axis added to every operand."""
    operands, output = equation.split("->")
    lhs, rhs = operands.split(",")
    axis = next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in equation)
    grouped = ops.reshape(inputs, (count, -1) + tuple(ops.shape(inputs)[1:]))
    outputs = ops.einsum(f"{axis}{lhs},{axis}{rhs}->{axis}{output}", grouped, kernels)
    return ops.reshape(outputs, (-1,) + tuple(ops.shape(outputs)[2:]))


def _grouped_conv(layer, inputs, kernels, count):
    """A `Conv*` call with one kernel per sample (bias and activation aside),
    as one grouped convolution: how accelerators run the chunk's samples.

    The samples move into the channel axis (sample-major), the kernels are
    concatenated along the output channels, and the convolution runs with
    `count * layer.groups` groups: group j of sample g only sees sample g's
    channels of group j and its own kernel. The outputs move back.
    """
    last = layer.data_format == "channels_last"
    rank = layer.rank
    padding = layer.padding
    if padding == "causal":  # Conv1D: pad the past, as Keras' call does
        left = layer.dilation_rate[0] * (layer.kernel_size[0] - 1)
        pads = [[0, 0], [left, 0], [0, 0]] if last else [[0, 0], [0, 0], [left, 0]]
        inputs = ops.pad(inputs, pads)
        padding = "valid"
    packed = _samples_into_channels(inputs, count, last)
    # (count, *kernel_size, in, out) -> (*kernel_size, in, count * out).
    order = tuple(range(1, rank + 2)) + (0, rank + 2)
    kernel = ops.transpose(kernels, order)
    kernel = ops.reshape(kernel, tuple(ops.shape(kernel)[:-2]) + (-1,))
    outputs = ops.conv(
        packed,
        kernel,
        strides=list(layer.strides),
        padding=padding,
        dilation_rate=layer.dilation_rate,
        data_format=layer.data_format,
    )
    return _channels_into_samples(outputs, count, last)


def _samples_into_channels(inputs, count, last):
    """`(count * rows, ..., C)` -> `(rows, ..., count * C)` (sample-major)."""
    shape = tuple(ops.shape(inputs))
    rank = len(shape)
    grouped = ops.reshape(inputs, (count, -1) + shape[1:])
    if last:  # (count, rows, *S, C) -> (rows, *S, count, C)
        order = tuple(range(1, rank)) + (0, rank)
        packed = ops.transpose(grouped, order)
        return ops.reshape(packed, (-1,) + shape[1:-1] + (count * shape[-1],))
    # (count, rows, C, *S) -> (rows, count, C, *S)
    packed = ops.transpose(grouped, (1, 0) + tuple(range(2, rank + 1)))
    return ops.reshape(packed, (-1, count * shape[1]) + shape[2:])


def _channels_into_samples(outputs, count, last):
    """The inverse of `_samples_into_channels` on the convolution's output."""
    shape = tuple(ops.shape(outputs))
    rank = len(shape)
    if last:  # (rows, *S, count, F) -> (count, rows, *S, F)
        split = ops.reshape(outputs, shape[:-1] + (count, -1))
        order = (rank - 1,) + tuple(range(rank - 1)) + (rank,)
    else:  # (rows, count, F, *S) -> (count, rows, F, *S)
        split = ops.reshape(outputs, (shape[0], count, -1) + shape[2:])
        order = (1, 0) + tuple(range(2, rank + 1))
    grouped = ops.transpose(split, order)
    return ops.reshape(grouped, (-1,) + tuple(ops.shape(grouped)[2:]))


def _bias_and_activation(layer, outputs):
    """The end of the wrapped layer's call: its bias, then its activation."""
    bias = getattr(layer, "bias", None)
    if bias is not None:
        bias = ops.cast(bias, outputs.dtype)
        conv_first = getattr(layer, "data_format", None) == "channels_first"
        if conv_first:  # channels on axis 1
            bias = ops.reshape(bias, (1, -1) + (1,) * layer.rank)
        outputs = ops.add(outputs, bias)
    if layer.activation is not None:
        outputs = layer.activation(outputs)
    return outputs
