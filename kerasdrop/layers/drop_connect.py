"""`DropConnect` (Wan et al. 2013): drops a layer's weights, not its inputs."""

import keras
from keras import ops

from kerasdrop.layers.base import DropoutBase, mc_sample_groups, wrapped_layer

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
    each MC sample gets its own weight mask. Inference is the wrapped layer.

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
        noise = self.noise((count,) + tuple(kernel.shape), per_sample=True)
        # `where`, not `kernel * keep * scale`: under float16 the scale can
        # overflow near rate 1, and 0 * inf would be NaN.
        scale = ops.cast(1.0 / (1.0 - rate), kernel.dtype)
        kernels = ops.where(ops.greater_equal(noise, rate), kernel * scale, 0.0)
        if count == 1:
            return self._with_kernel(inputs, kernels[0])
        rows = ops.shape(inputs)[0] // count
        return ops.concatenate(
            [
                self._with_kernel(inputs[g * rows : (g + 1) * rows], kernels[g])
                for g in range(count)
            ],
            axis=0,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "layer": keras.saving.serialize_keras_object(self.layer),
        }
