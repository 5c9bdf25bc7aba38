"""`DropPath` (stochastic depth) with a variable (or scheduled) rate, and
the depth-wise rate rule that spreads a maximum rate over a network."""

import keras
from keras import ops

from kerasdrop import _checks
from kerasdrop import schedules as schedules_lib
from kerasdrop.layers.base import DropoutBase, inverted


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
        mc: bool, default False. If True, the layer also drops at inference
            (Monte-Carlo dropout); `kerasdrop.strip_dropout` removes
            it for serving.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: floating-point tensor of rank >= 1, the branch's output.
        training: Python boolean: training mode (dropping examples) or
            inference mode (the identity, unless `mc=True` or the layer is
            sampled by `kerasdrop.mc`).

    Input shape:
        `(batch, ...)`: any rank >= 1; the mask has one entry per example.

    Output shape:
        Same as input.

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> x = keras.Input((8,))
    >>> y = keras.layers.Add()([x, kerasdrop.layers.DropPath(0.1)(
    ...     keras.layers.Dense(8)(x))])
    >>> keras.Model(x, y).output_shape
    (None, 8)
    """

    min_rank = 1  # one mask entry per example

    def __init__(self, rate, seed=None, scale_by_keep=True, mc=False, **kwargs):
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        self.scale_by_keep = _checks.check_bool("scale_by_keep", scale_by_keep)

    def mask_shape(self, inputs):
        return example_mask_shape(inputs)

    def drop(self, inputs, rate):
        keep = self.keep_mask(inputs, rate)
        return drop_examples(inputs, keep, rate, self.scale_by_keep)

    def get_config(self):
        return {**super().get_config(), "scale_by_keep": self.scale_by_keep}


def example_mask_shape(inputs):
    """`(batch, 1, ..., 1)`: one mask entry per example of `inputs`."""
    shape = ops.shape(inputs)
    return (shape[0],) + (1,) * (len(shape) - 1)


def drop_examples(inputs, keep, rate, scale_by_keep):
    """`inputs` with the examples where `keep` is False zeroed and the kept
    ones scaled by 1/(1 - rate) (left as they are without `scale_by_keep`).
    """
    if not scale_by_keep:
        return inputs * ops.cast(keep, inputs.dtype)
    return inverted(inputs, keep, rate)


RULES = ("linear", "stage")


def _check_depths(depth, stages):
    """The blocks per stage (`[depth]` without stages), as a list of ints."""
    if stages is None:
        return [_checks.check_int("depth", depth, minimum=1)]
    expected = "a list of positive integers (blocks per stage)"
    stages = _checks.check_sequence("stages", stages, "positive integers", False)
    if not all(_checks.is_int(count) for count in stages):
        raise _checks.type_error("stages", expected, stages)
    if not stages or min(stages) < 1 or (depth is not None and sum(stages) != depth):
        raise _checks.value_error(
            "stages", f"positive block counts summing to depth={depth!r}", stages
        )
    return [int(count) for count in stages]


def depth_rates(max_rate, depth=None, rule="linear", stages=None):
    """Drop-path rates for `depth` residual blocks, shallow to deep.

    `rule="linear"` (Huang et al. 2016; timm's `drop_path_rate`): block `i`
    of `n` gets `max_rate * i / (n - 1)`, i.e. `linspace(0, max_rate, n)`
    (a single block gets 0, as in numpy and timm).
    `rule="stage"`: one rate per stage, constant within it and linear across
    stages (`max_rate * s / (S - 1)` for stage `s` of `S`), for hierarchical
    networks (give `stages`, the blocks per stage).

    Args:
        max_rate: float in `[0, 1)`, the deepest block's rate.
        depth: number of blocks (may be omitted when `stages` is given).
        rule: `"linear"` or `"stage"`.
        stages: list of blocks per stage (required for `"stage"`).

    Returns:
        A list of `depth` Python floats.

    Example:

    >>> from kerasdrop.layers.drop_path import depth_rates
    >>> depth_rates(0.3, 4)
    [0.0, 0.1, 0.2, 0.3]
    >>> depth_rates(0.2, rule="stage", stages=[1, 2, 1])
    [0.0, 0.1, 0.1, 0.2]
    """
    max_rate = schedules_lib.check_rate("max_rate", max_rate)
    # Rounded so that linspace(0, 0.3, 4) reads 0.1, not 0.09999999999999999.
    return [round(max_rate * f, 12) for f in depth_fractions(depth, rule, stages)]


def depth_fractions(depth=None, rule="linear", stages=None):
    """The depth rule's factors in `[0, 1]`: `depth_rates(1, ...)`, for
    spreading a time schedule over depth (`schedules.Scaled`).

    Example:

    >>> depth_fractions(5)
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    _checks.check_choice("rule", rule, RULES)
    if rule == "stage" and stages is None:
        raise _checks.value_error(
            "stages", "the blocks per stage with rule='stage'", None
        )
    counts = _check_depths(depth, stages)
    if rule == "linear":
        return _fractions(sum(counts))
    return [
        f for f, count in zip(_fractions(len(counts)), counts) for _ in range(count)
    ]


def _fractions(n):
    """`numpy.linspace(0, 1, n)` as Python floats (`[0.0]` for n = 1, as
    numpy and timm give)."""
    return [i / (n - 1) for i in range(n)] if n > 1 else [0.0]
