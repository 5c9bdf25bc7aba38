"""`DropPath` (stochastic depth) with a variable (or scheduled) rate."""

import keras
from keras import ops

from kerasdrop.layers.base import DropoutBase


@keras.saving.register_keras_serializable(package="kerasdrop")
class DropPath(DropoutBase):
    """Drops a whole example's residual branch (stochastic depth).

    Put it on the branch of a residual block, `x + DropPath(r)(f(x))`: in
    training each example's branch output is zeroed with probability `rate`
    and, with `scale_by_keep=True`, kept examples are scaled by
    `1 / (1 - rate)`; inference is the identity.

    Args:
        rate: float in `[0, 1)` or a `kerasdrop.schedules.Schedule`.
        seed: optional integer seed.
        scale_by_keep: rescale kept examples by `1 / (1 - rate)`.

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> x = keras.Input((8,))
    >>> y = keras.layers.Add()([x, kerasdrop.layers.DropPath(0.1)(
    ...     keras.layers.Dense(8)(x))])
    >>> keras.Model(x, y).output_shape
    (None, 8)
    """

    def __init__(self, rate, seed=None, scale_by_keep=True, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        if not isinstance(scale_by_keep, bool):
            raise TypeError(
                "Invalid value received for argument `scale_by_keep`. "
                f"Expected a bool. Received: scale_by_keep={scale_by_keep!r}"
            )
        self.scale_by_keep = scale_by_keep

    def mask_shape(self, inputs):
        shape = ops.shape(inputs)
        return (shape[0],) + (1,) * (len(shape) - 1)

    def drop(self, inputs, rate):
        keep = ops.cast(self.keep_mask(inputs, rate), inputs.dtype)
        if self.scale_by_keep:
            keep = keep * ops.cast(1.0 / (1.0 - rate), inputs.dtype)
        return inputs * keep

    def get_config(self):
        return {**super().get_config(), "scale_by_keep": self.scale_by_keep}
