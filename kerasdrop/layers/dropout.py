"""`Dropout` and `SpatialDropout1D/2D/3D` with a variable (or scheduled) rate."""

import keras
from keras import ops

from kerasdrop import _checks
from kerasdrop.layers.base import DropoutBase, inverted

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
    expected = "a tuple or list of positive integers or None"
    if isinstance(noise_shape, (str, bytes)) or not hasattr(noise_shape, "__iter__"):
        raise _checks.type_error("noise_shape", expected, noise_shape)
    noise_shape = tuple(noise_shape)
    for i, dim in enumerate(noise_shape):
        if dim is not None and not _checks.is_int(dim):
            raise _checks.type_error(
                "noise_shape",
                expected,
                noise_shape,
                f"Got {dim!r} at index {i} (of type {type(dim).__name__}).",
            )
        if dim is not None and dim <= 0:
            raise _checks.value_error(
                "noise_shape", expected, noise_shape, f"Got {dim} at index {i}."
            )
    return tuple(None if dim is None else int(dim) for dim in noise_shape)


def validate_data_format(data_format):
    """`"channels_last"` or `"channels_first"`; None: Keras' image format.

    >>> validate_data_format("channels_first")
    'channels_first'
    """
    if data_format is None:
        data_format = keras.backend.image_data_format()
    return _checks.check_choice(
        "data_format", data_format, ("channels_last", "channels_first")
    )


def channel_mask_shape(shape, data_format):
    """The mask shape of spatial dropout: one entry per (example, channel),
    shared over the spatial axes of an input of `shape`.

    >>> channel_mask_shape((8, 5, 5, 3), "channels_last")
    (8, 1, 1, 3)
    >>> channel_mask_shape((8, 3, 5, 5), "channels_first")
    (8, 3, 1, 1)
    """
    ones = (1,) * (len(shape) - 2)
    if data_format == "channels_first":
        return (shape[0], shape[1]) + ones
    return (shape[0],) + ones + (shape[-1],)


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
        mc: bool, default False. If True, the layer also drops at inference
            (Monte-Carlo dropout); `kerasdrop.strip_dropout` removes
            it for serving.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: floating-point input tensor (of any rank).
        training: Python boolean: training mode (dropping) or inference mode
            (the identity, unless `mc=True` or the layer is sampled by
            `kerasdrop.mc`).

    Input shape:
        Arbitrary.

    Output shape:
        Same as input.

    Example:

    >>> import numpy as np, kerasdrop
    >>> layer = kerasdrop.layers.Dropout(
    ...     kerasdrop.schedules.Linear(0.0, 0.5, steps=1000), seed=1)
    >>> y = layer(np.ones((2, 4)), training=True)  # step 0: rate 0
    >>> layer.step
    1
    """

    def __init__(
        self,
        rate,
        noise_shape=None,
        seed=None,
        scaling="inverted",
        mc=False,
        **kwargs,
    ):
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        self.noise_shape = validate_noise_shape(noise_shape)
        self.scaling = _checks.check_choice("scaling", scaling, SCALINGS)

    def mask_shape(self, inputs):
        shape = ops.shape(inputs)
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise _checks.value_error(
                "noise_shape",
                f"rank {len(shape)} to match the inputs of shape {shape}",
                self.noise_shape,
            )
        for i, (dim, size) in enumerate(zip(self.noise_shape, shape)):
            if dim not in (None, 1) and isinstance(size, int) and dim != size:
                raise _checks.value_error(
                    "noise_shape",
                    f"1 or {size} at index {i} to broadcast against inputs of "
                    f"shape {shape}",
                    self.noise_shape,
                )
        return tuple(
            size if dim is None else dim for dim, size in zip(self.noise_shape, shape)
        )

    def drop(self, inputs, rate):
        keep = self.keep_mask(inputs, rate)
        if self.scaling == "classic":
            return inputs * ops.cast(keep, inputs.dtype)
        return inverted(inputs, keep, rate)

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
    """Drops whole feature maps (channels) of an input of fixed rank.

    The spatial variants differ from `Dropout` in one method, `mask_shape`
    (Keras' `_get_noise_shape`); `__init__` and `get_config` only carry the
    `data_format` argument in place of `noise_shape` and `scaling`.
    """

    rank = None  # spatial rank: 1, 2 or 3

    def __init__(self, rate, data_format=None, seed=None, mc=False, **kwargs):
        for name in ("noise_shape", "scaling"):
            if name in kwargs:
                raise TypeError(
                    _checks.message(
                        name,
                        f"no `{name}`: {type(self).__name__} has a fixed "
                        "per-channel mask and inverted scaling",
                        kwargs[name],
                    )
                )
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        self.data_format = validate_data_format(data_format)
        self.input_spec = keras.layers.InputSpec(ndim=self.rank + 2)

    def mask_shape(self, inputs):
        return channel_mask_shape(ops.shape(inputs), self.data_format)

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape", None)
        config.pop("scaling", None)
        return {**config, "data_format": self.data_format}


_SPATIAL_DOC = """Spatial {rank}D dropout with a variable rate: zeroes whole {what}.

    As `kerasdrop.layers.Dropout`, with one mask entry per (example,
    channel), shared over the spatial axes (Tompson et al., 2014):
    the drop-in for `keras.layers.SpatialDropout{rank}D`.

    Args:
        rate: float in `[0, 1)` or a `kerasdrop.schedules.Schedule`.
        data_format: `"channels_last"` (default: Keras' image data format)
            or `"channels_first"`.
        seed: optional integer seed.
        mc: bool, default False. If True, the layer also drops at inference
            (Monte-Carlo dropout); `kerasdrop.strip_dropout` removes
            it for serving.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: floating-point input tensor of rank {rank_total}.
        training: Python boolean: training mode (dropping) or inference mode
            (the identity, unless `mc=True` or the layer is sampled by
            `kerasdrop.mc`).

    Input shape:
        {rank_total}D tensor `(batch, {axes}, channels)`, or
        `(batch, channels, {axes})` with `data_format="channels_first"`.

    Output shape:
        Same as input.

    Example:

{example}"""


def _spatial_doc(rank, what, example):
    axes = ", ".join(("steps",) if rank == 1 else [f"dim{i + 1}" for i in range(rank)])
    return _SPATIAL_DOC.format(
        rank=rank, what=what, axes=axes, rank_total=rank + 2, example=example
    )


@_register
class SpatialDropout1D(_SpatialDropout):
    __doc__ = _spatial_doc(
        1,
        "channels",
        """\
    >>> import numpy as np, kerasdrop
    >>> y = kerasdrop.layers.SpatialDropout1D(0.5, seed=0)(
    ...     np.ones((2, 8, 3)), training=True)
    >>> y = np.asarray(y)
    >>> bool(((y == 0).all(axis=1) | (y == 2).all(axis=1)).all())
    True
    """,
    )

    rank = 1


@_register
class SpatialDropout2D(_SpatialDropout):
    __doc__ = _spatial_doc(
        2,
        "feature maps",
        """\
    >>> import numpy as np, kerasdrop
    >>> layer = kerasdrop.layers.SpatialDropout2D(0.2)
    >>> tuple(layer(np.ones((1, 4, 4, 3)), training=False).shape)
    (1, 4, 4, 3)
    """,
    )

    rank = 2


@_register
class SpatialDropout3D(_SpatialDropout):
    __doc__ = _spatial_doc(
        3,
        "feature volumes",
        """\
    >>> import numpy as np, kerasdrop
    >>> layer = kerasdrop.layers.SpatialDropout3D(0.2)
    >>> tuple(layer(np.ones((1, 2, 2, 2, 3)), training=False).shape)
    (1, 2, 2, 2, 3)
    """,
    )

    rank = 3
