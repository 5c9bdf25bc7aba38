"""The random draws dropout masks are made of.

Every kind draws through `DropoutBase.noise`, which takes its generator from
here: float32 uniforms in [0, 1) for noise that needs full resolution
(Concrete Dropout's relaxation, DropBlock's paired seeds), normal noise
(Gaussian dropout), and *decision* uniforms for keep/drop masks, which
only compare a uniform with the rate.

A decision uniform lies on the grid k / 2**15 (k = 0 .. 2**15 - 1) and two
of them come from one random 30-bit integer, so a mask costs half the random
draws. Keeping a unit when `u >= rate` then drops it with probability
`ceil(rate * 2**15) / 2**15`: the rate is resolved to 2**-15 (3.1e-5), and
rounded up. On torch, where packing saves nothing, decisions draw float32
uniforms (see `_decision_draw`).
"""

import keras
import numpy as np
from keras import ops

#: Bits of one decision uniform: its grid is k / 2**DECISION_BITS.
DECISION_BITS = 15
_LOW = (1 << DECISION_BITS) - 1


def uniform(shape, seed):
    """Float32 uniforms in [0, 1), full float32 resolution."""
    return keras.random.uniform(shape, dtype="float32", seed=seed)


def normal(shape, seed):
    """Float32 standard normal noise."""
    return keras.random.normal(shape, dtype="float32", seed=seed)


def decision_uniform(shape, seed):
    """Float32 uniforms on the grid k / 2**15, two per random integer.

    Each 30-bit integer's low and high 15 bits are two independent uniform
    values: the last axis is drawn at half its length and the two halves
    concatenated. Needs a static last axis; otherwise (and for a scalar
    shape) it draws full float32 uniforms.

    Example:

    >>> import keras
    >>> u = decision_uniform((4, 6), keras.random.SeedGenerator(0))
    >>> tuple(u.shape), bool(keras.ops.all((u >= 0) & (u < 1)))
    ((4, 6), True)
    >>> bool(keras.ops.all(u * 2**15 == keras.ops.floor(u * 2**15)))
    True
    """
    shape = tuple(shape)
    if not shape or not isinstance(shape[-1], (int, np.integer)):
        return uniform(shape, seed)
    last = shape[-1]
    half = shape[:-1] + ((last + 1) // 2,)
    words = keras.random.randint(
        half, 0, 1 << (2 * DECISION_BITS), dtype="int32", seed=seed
    )
    low = ops.bitwise_and(words, _LOW)
    high = ops.right_shift(words, DECISION_BITS)
    grid = ops.concatenate([low, high], axis=-1)
    if 2 * half[-1] != last:
        grid = grid[..., :last]
    return ops.cast(grid, "float32") * (1.0 / (1 << DECISION_BITS))


def _decision_draw():
    """The generator of keep/drop decisions on the configured backend.

    On torch, Keras' `randint` costs as much per value as `uniform` (torch
    draws both from the same 32-bit stream), so packing draws no fewer bits
    and its extra ops make masks 1.26x slower (`benchmarks/mask_draw.py`):
    torch draws full float32 uniforms, resolving the rate to 2**-24.
    """
    return uniform if keras.backend.backend() == "torch" else decision_uniform


DRAWS = {"uniform": uniform, "normal": normal, "decision": _decision_draw()}
