"""`Dropout` and `SpatialDropout1D/2D/3D` with a variable (or scheduled) rate."""

import keras
from keras import ops

from kerasdrop.layers.base import DropoutBase

_register = keras.saving.register_keras_serializable(package="kerasdrop")

SCALINGS = ("inverted", "classic")


def validate_noise_shape(noise_shape):
    """Keras' rules: None, or a tuple of positive integers / None.

    Example:

    >>> validate_noise_shape([None, 1, 8])
    (None, 1, 8)
    """
    if noise_shape is None:
        return None
    if isinstance(noise_shape, (str, bytes)):
        raise ValueError(
            "Invalid value received for argument `noise_shape`. Expected a "
            f"tuple or list of integers. Received: noise_shape={noise_shape!r}"
        )
    try:
        noise_shape = tuple(noise_shape)
    except TypeError:
        raise ValueError(
            "Invalid value received for argument `noise_shape`. Expected an "
            "iterable of integers (e.g., a tuple or list). "
            f"Received: noise_shape={noise_shape!r}"
        ) from None
    for i, dim in enumerate(noise_shape):
        if dim is None:
            continue
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise ValueError(
                "Invalid value received for argument `noise_shape`. Expected "
                "all elements to be integers or None. Received element at "
                f"index {i}: {dim!r} (type: {type(dim).__name__}) in "
                f"noise_shape={noise_shape!r}"
            )
        if dim <= 0:
            raise ValueError(
                "Invalid value received for argument `noise_shape`. Expected "
                "all dimensions to be positive integers or None. Received "
                f"{dim} at index {i} in noise_shape={noise_shape!r}"
            )
    return noise_shape


def validate_data_format(data_format):
    if data_format is None:
        data_format = keras.backend.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "Invalid value received for argument `data_format`. Expected "
            "'channels_last' or 'channels_first'. "
            f"Received: data_format={data_format!r}"
        )
    return data_format


@_register
class Dropout(DropoutBase):
    """Dropout whose rate is a variable: assignable or scheduled in `fit`.

    A drop-in for `keras.layers.Dropout`. In training each unit is zeroed
    with probability `rate` and, with the default inverted scaling, kept
    units are multiplied by `1 / (1 - rate)`; inference is the identity.
    With `scaling="classic"` (the original formulation) nothing is rescaled
    in training and inference multiplies by the keep probability `1 - rate`.

    Unlike the stock layer, `layer.rate = 0.3` during `fit` takes effect in
    the already-compiled train step (no retrace), and `rate` may be a
    `kerasdrop.schedules.Schedule` evaluated in-graph each training step.

    Args:
        rate: float in `[0, 1)` or a `kerasdrop.schedules.Schedule`.
        noise_shape: shape of the binary mask, broadcast against the input;
            `None` entries take the input's size (e.g. `(None, 1, None)` shares
            the mask over time steps).
        seed: optional integer seed.
        scaling: `"inverted"` (default) or `"classic"`.

    Example:

    >>> import numpy as np, kerasdrop
    >>> layer = kerasdrop.layers.Dropout(
    ...     kerasdrop.schedules.Linear(0.0, 0.5, steps=1000), seed=1)
    >>> y = layer(np.ones((2, 4)), training=True)  # step 0: rate 0
    >>> layer.step
    1
    """

    def __init__(
        self, rate, noise_shape=None, seed=None, scaling="inverted", **kwargs
    ):
        super().__init__(rate, seed=seed, **kwargs)
        self.noise_shape = validate_noise_shape(noise_shape)
        if scaling not in SCALINGS:
            raise ValueError(
                "Invalid value received for argument `scaling`. Expected one "
                f"of {SCALINGS}. Received: scaling={scaling!r}"
            )
        self.scaling = scaling

    def mask_shape(self, inputs):
        if self.noise_shape is None:
            return ops.shape(inputs)
        shape = ops.shape(inputs)
        if len(self.noise_shape) != len(shape):
            raise ValueError(
                "Invalid value received for argument `noise_shape`. Expected "
                f"rank {len(shape)} to match the inputs of shape {shape}. "
                f"Received: noise_shape={self.noise_shape}"
            )
        out = []
        for i, (dim, size) in enumerate(zip(self.noise_shape, shape)):
            if dim is None:
                out.append(size)
                continue
            if dim != 1 and isinstance(size, int) and dim != size:
                raise ValueError(
                    "Invalid value received for argument `noise_shape`. "
                    f"Expected 1 or {size} at index {i} to broadcast against "
                    f"inputs of shape {shape}. "
                    f"Received: noise_shape={self.noise_shape}"
                )
            out.append(dim)
        return tuple(out)

    def drop(self, inputs, rate):
        keep = self.keep_mask(inputs, rate)
        if self.scaling == "classic":
            return inputs * ops.cast(keep, inputs.dtype)
        # `where`, not `keep * scale`: in float16 a scale beyond 65504
        # (rate > ~0.99998) is inf, and 0 * inf would make dropped units NaN.
        scale = ops.cast(1.0 / (1.0 - rate), inputs.dtype)
        return ops.where(keep, inputs * scale, ops.zeros_like(inputs))

    def inference(self, inputs):
        if self.scaling == "classic":
            keep_prob = ops.cast(1.0 - self._rate.value, inputs.dtype)
            return inputs * keep_prob
        return inputs

    def get_config(self):
        return {
            **super().get_config(),
            "noise_shape": self.noise_shape,
            "scaling": self.scaling,
        }


class _SpatialDropout(Dropout):
    """Drops whole feature maps (channels) of an input of fixed rank."""

    rank = None  # spatial rank: 1, 2 or 3

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        for name in ("noise_shape", "scaling"):
            if name in kwargs:
                raise TypeError(
                    f"Invalid value received for argument `{name}`. "
                    f"{type(self).__name__} has a fixed per-channel mask and "
                    f"inverted scaling. Received: {name}={kwargs[name]!r}"
                )
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = validate_data_format(data_format)
        self.input_spec = keras.layers.InputSpec(ndim=self.rank + 2)

    def mask_shape(self, inputs):
        shape = ops.shape(inputs)
        ones = (1,) * self.rank
        if self.data_format == "channels_first":
            return (shape[0], shape[1]) + ones
        return (shape[0],) + ones + (shape[-1],)

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape", None)
        config.pop("scaling", None)
        return {**config, "data_format": self.data_format}


@_register
class SpatialDropout1D(_SpatialDropout):
    """Spatial 1D dropout with a variable rate: zeroes whole channels.

    Input `(batch, steps, channels)` (or `(batch, channels, steps)` with
    `data_format="channels_first"`); the mask is shared along the steps.

    Example:

    >>> import numpy as np, kerasdrop
    >>> y = kerasdrop.layers.SpatialDropout1D(0.5, seed=0)(
    ...     np.ones((2, 8, 3)), training=True)
    >>> bool(((np.asarray(y) == 0).all(axis=1) | (np.asarray(y) == 2).all(axis=1)).all())
    True
    """

    rank = 1


@_register
class SpatialDropout2D(_SpatialDropout):
    """Spatial 2D dropout with a variable rate: zeroes whole feature maps.

    Example:

    >>> import numpy as np, kerasdrop
    >>> layer = kerasdrop.layers.SpatialDropout2D(0.2)
    >>> tuple(layer(np.ones((1, 4, 4, 3)), training=False).shape)
    (1, 4, 4, 3)
    """

    rank = 2


@_register
class SpatialDropout3D(_SpatialDropout):
    """Spatial 3D dropout with a variable rate: zeroes whole feature volumes.

    Example:

    >>> import numpy as np, kerasdrop
    >>> layer = kerasdrop.layers.SpatialDropout3D(0.2)
    >>> tuple(layer(np.ones((1, 2, 2, 2, 3)), training=False).shape)
    (1, 2, 2, 2, 3)
    """

    rank = 3
