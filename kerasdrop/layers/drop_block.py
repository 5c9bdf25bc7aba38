"""`DropBlock2D` / `DropBlock3D` (Ghiasi et al. 2018) with a variable rate."""

import keras
from keras import ops

from kerasdrop import _checks
from kerasdrop.layers.base import DropoutBase
from kerasdrop.layers.dropout import validate_data_format


def validate_block_size(block_size, rank):
    """A positive int, or a tuple of `rank` positive ints (one per axis).

    Example:

    >>> validate_block_size(3, 2), validate_block_size((3, 5), 2)
    ((3, 3), (3, 5))
    """
    expected = f"a positive integer or a tuple of {rank} positive integers"
    sizes = (block_size,) * rank if _checks.is_int(block_size) else block_size
    if not isinstance(sizes, (tuple, list)) or not all(map(_checks.is_int, sizes)):
        raise _checks.type_error("block_size", expected, block_size)
    if len(sizes) != rank or min(sizes) < 1:
        raise _checks.value_error("block_size", expected, block_size)
    return tuple(int(s) for s in sizes)


def window_any(mask, axis, size):
    """Whether any of `size` consecutive entries along `axis` is True.

    A "valid" sliding window (the axis shrinks by `size - 1`) computed by
    doubling: windows of 1, 2, 4, ... entries are or-ed from two shifted
    halves, and the last step joins two overlapping windows of the largest
    power of two: `ceil(log2(size))` element-wise ors on booleans, cheaper
    than a max pool on floats on every backend.

    Example:

    >>> import numpy as np
    >>> m = np.array([[0, 0, 1, 0, 0, 0, 0, 1]], bool)
    >>> np.asarray(window_any(m, 1, 3)).astype(int).tolist()
    [[1, 1, 1, 0, 0, 1]]
    """

    def shifted(x, start, shrink):
        # Entries start .. len - (shrink - start) of `axis`.
        stop = start - shrink
        index = [slice(None)] * len(x.shape)
        index[axis] = slice(start, stop if stop < 0 else None)
        return x[tuple(index)]

    width = 1
    while 2 * width <= size:
        mask = ops.logical_or(shifted(mask, 0, width), shifted(mask, width, width))
        width *= 2
    if width < size:
        rest = size - width
        mask = ops.logical_or(shifted(mask, 0, rest), shifted(mask, rest, rest))
    return mask


class _DropBlock(DropoutBase):
    """Drops contiguous blocks of each feature map; the rank is set below."""

    rank = None

    def __init__(
        self, rate, block_size=7, data_format=None, seed=None, mc=False, **kwargs
    ):
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        self.block_size = validate_block_size(block_size, self.rank)
        self.data_format = validate_data_format(data_format)

    def _spatial_axes(self):
        first = 2 if self.data_format == "channels_first" else 1
        return tuple(range(first, first + self.rank))

    def _check_inputs(self, inputs):
        super()._check_inputs(inputs)
        if len(inputs.shape) != self.rank + 2:
            raise _checks.invalid_value(
                "inputs",
                f"Expected a tensor of rank {self.rank + 2} "
                f"(batch, {self.rank} spatial axes, channels).",
                f"inputs.shape={tuple(inputs.shape)}",
                of=f"layer '{self.name}'",
            )
        for axis, size in zip(self._spatial_axes(), self.block_size):
            dim = inputs.shape[axis]
            if dim is not None and dim < size:
                raise _checks.invalid_value(
                    "block_size",
                    "Expected blocks no larger than the feature map.",
                    f"block_size={self.block_size} for "
                    f"inputs.shape={tuple(inputs.shape)}",
                    of=f"layer '{self.name}'",
                )

    def seed_rate(self, rate):
        """Probability that a position starts a block.

        Seeds are drawn on the feature map padded by `block_size - 1`, so
        every unit is covered by exactly `prod(block_size)` candidate blocks
        and is dropped with probability
        `1 - (1 - gamma) ** prod(block_size) = rate`, exactly, borders
        included. (The paper's `gamma = rate / block_size**2 * ...` counts
        overlapping blocks twice and drops less than `rate`.)
        """
        area = 1
        for size in self.block_size:
            area *= size
        return 1.0 - ops.power(1.0 - rate, 1.0 / area)

    def mask_shape(self, inputs):
        shape = list(ops.shape(inputs))
        for axis, size in zip(self._spatial_axes(), self.block_size):
            shape[axis] = shape[axis] + size - 1
        return tuple(shape)

    def seeds(self, shape, gamma):
        """Bernoulli(`gamma`) block seeds of `shape` (bool), two per uniform.

        One uniform `u` decides two positions exactly: the first is a seed
        when `u < gamma`; the second, by splitting each side of `gamma` in
        the same proportion again, when `u < gamma**2` or
        `gamma <= u < gamma + gamma * (1 - gamma)` (that is, when what is
        left of `u` in the interval it fell in, rescaled to [0, 1), is below
        `gamma`: independent of the first outcome). Half the noise and only
        comparisons; the same distribution up to float32 rounding.
        """
        axis = self._spatial_axes()[0]
        half = list(shape)
        half[axis] = (shape[axis] + 1) // 2
        u = self.noise(tuple(half))
        first = ops.less(u, gamma)
        second = ops.logical_or(
            ops.less(u, gamma * gamma),
            ops.logical_and(
                ops.logical_not(first), ops.less(u, gamma + gamma * (1.0 - gamma))
            ),
        )
        both = ops.concatenate([first, second], axis=axis)
        return ops.slice(both, [0] * len(shape), shape)

    def drop(self, inputs, rate):
        dropped = self.seeds(self.mask_shape(inputs), self.seed_rate(rate))
        # A unit is dropped when a seed lies in its window: an "any" over the
        # window, one axis at a time, on booleans.
        for axis, size in zip(self._spatial_axes(), self.block_size):
            dropped = window_any(dropped, axis, size)
        # The mask does not depend on the inputs: no gradient through it.
        keep = ops.cast(ops.logical_not(dropped), inputs.dtype)
        # Normalise by the kept fraction: the expected sum is preserved.
        kept = ops.sum(ops.cast(keep, "float32"))
        scale = ops.cast(ops.size(keep), "float32") / ops.maximum(kept, 1.0)
        return inputs * ops.stop_gradient(keep * ops.cast(scale, inputs.dtype))

    def get_config(self):
        return {
            **super().get_config(),
            "block_size": self.block_size,
            "data_format": self.data_format,
        }


@keras.saving.register_keras_serializable(package="kerasdrop")
class DropBlock2D(_DropBlock):
    """DropBlock for images (Ghiasi et al. 2018), with a variable rate.

    In training, drops contiguous `block_size` squares of every feature map
    (each channel its own blocks) so that each unit is dropped with
    probability `rate`, and multiplies what is kept by
    `count(units) / count(kept units)` (the expected sum is preserved).
    Inference is the identity. Blocks at the border are clipped. The mask
    costs half a uniform per position of the map padded by
    `block_size - 1` (one uniform decides two block seeds) and a separable
    boolean window "any"; no gradient flows through it. The paper
    schedules the rate linearly from 0: pass a
    `kerasdrop.schedules.Linear` or use `DropoutScheduler`.

    Args:
        rate: float in `[0, 1)` or a `kerasdrop.schedules.Schedule`: the
            probability that a unit is dropped.
        block_size: int or tuple of 2 ints, the side of the dropped blocks
            (default 7, the paper's). At most the feature map's size.
        data_format: `"channels_last"` (default: Keras' image data format)
            or `"channels_first"`.
        seed: optional integer seed.
        mc: bool, default False. If True, the layer also drops at inference
            (Monte-Carlo dropout); `kerasdrop.strip_dropout` removes
            it for serving.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: floating-point input tensor of rank 4.
        training: Python boolean: training mode (dropping blocks) or
            inference mode (the identity, unless `mc=True` or the layer is
            sampled by `kerasdrop.mc`).

    Input shape:
        4D tensor `(batch, rows, cols, channels)`, or
        `(batch, channels, rows, cols)` with `data_format="channels_first"`.

    Output shape:
        Same as input.

    Example:

    >>> import numpy as np, kerasdrop
    >>> layer = kerasdrop.layers.DropBlock2D(0.3, block_size=3, seed=0)
    >>> y = np.asarray(layer(np.ones((1, 16, 16, 1)), training=True))
    >>> y.shape, bool(np.any(y == 0)), bool(abs(y.mean() - 1) < 1e-5)
    ((1, 16, 16, 1), True, True)
    """

    rank = 2


@keras.saving.register_keras_serializable(package="kerasdrop")
class DropBlock3D(_DropBlock):
    """DropBlock for volumes (3 spatial axes); see `DropBlock2D`.

    Args:
        rate: float in `[0, 1)` or a `kerasdrop.schedules.Schedule`.
        block_size: int or tuple of 3 ints, the side of the dropped cubes.
        data_format: `"channels_last"` (default: Keras' image data format)
            or `"channels_first"`.
        seed: optional integer seed.
        mc: bool, default False. If True, the layer also drops at inference
            (Monte-Carlo dropout).
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: floating-point input tensor of rank 5.
        training: Python boolean: training mode (dropping blocks) or
            inference mode (the identity, unless `mc=True` or the layer is
            sampled by `kerasdrop.mc`).

    Input shape:
        5D tensor `(batch, dim1, dim2, dim3, channels)`, or
        `(batch, channels, dim1, dim2, dim3)` with
        `data_format="channels_first"`.

    Output shape:
        Same as input.

    Example:

    >>> import numpy as np, kerasdrop
    >>> layer = kerasdrop.layers.DropBlock3D(0.2, block_size=2, seed=0)
    >>> tuple(layer(np.ones((1, 4, 4, 4, 2)), training=True).shape)
    (1, 4, 4, 4, 2)
    """

    rank = 3
