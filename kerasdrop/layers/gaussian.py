"""`GaussianDropout` with a variable (or scheduled) rate."""

import keras
from keras import ops

from kerasdrop.layers.base import DropoutBase


@keras.saving.register_keras_serializable(package="kerasdrop")
class GaussianDropout(DropoutBase):
    """Multiplicative Gaussian noise `N(1, p / (1 - p))` with a variable `p`.

    In training the input is multiplied by `1 + sqrt(p / (1 - p)) * eps`,
    `eps ~ N(0, 1)` (drawn in float32), which matches the mean and variance
    of inverted Bernoulli dropout at rate `p`; inference is the identity.
    `p` lives in a variable, so it can be assigned or scheduled during `fit`.

    Args:
        rate: float in `[0, 1)` or a `kerasdrop.schedules.Schedule`.
        seed: optional integer seed.
        mc: bool, default False. If True, the layer also adds noise at
            inference (Monte-Carlo dropout); `kerasdrop.strip_dropout`
            removes it for serving.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: floating-point input tensor (of any rank).
        training: Python boolean: training mode (adding noise) or inference
            mode (the identity, unless `mc=True` or the layer is sampled by
            `kerasdrop.mc`).

    Input shape:
        Arbitrary.

    Output shape:
        Same as input.

    Example:

    >>> import numpy as np, kerasdrop
    >>> layer = kerasdrop.layers.GaussianDropout(0.2, seed=3)
    >>> np.asarray(layer(np.ones((2, 3)), training=False)).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, rate, seed=None, mc=False, **kwargs):
        super().__init__(rate, seed=seed, mc=mc, **kwargs)

    def drop(self, inputs, rate):
        stddev = ops.sqrt(rate / (1.0 - rate))
        noise = self.noise(ops.shape(inputs), distribution="normal")
        return inputs * ops.cast(1.0 + stddev * noise, inputs.dtype)
