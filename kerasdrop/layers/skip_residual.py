"""`SkipResidual`: stochastic depth that skips the dropped branch's work."""

import keras
from keras import ops

from kerasdrop import _backend, _checks, _keras
from kerasdrop.layers.base import DropoutBase, mc_sample_groups, mc_sampling_active
from kerasdrop.layers.drop_path import drop_examples, example_mask_shape


#: Layers XLA on CPU differentiates slowly inside a conditional.
CONVOLUTIONS = (
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
)


def selects_on_this_device(branch):
    """Whether a skipping step computes `branch` and selects (JAX on CPU,
    a branch with a convolution) instead of running it under `cond`.

    XLA on CPU differentiates a convolution inside a conditional on a slow
    path (jax-ml/jax#12868): a 3x3 Conv2D's kernel gradient takes ~44x,
    its input gradient ~12x as long as outside it (forward: ~1.7x;
    `benchmarks/stochastic_depth.py --conv-in-cond`). There the
    branch runs every step and the step's draw selects the output (the same
    values and the same exact-zero gradients, without the saving).

    >>> import keras
    >>> selects_on_this_device(keras.layers.Dense(2))
    False
    """
    if keras.backend.backend() != "jax" or _backend.on_accelerator():
        return False
    return any(
        isinstance(layer, CONVOLUTIONS) for layer in _keras.flatten_layers(branch)
    )


def _check_branch(branch):
    """The `branch` argument: a (serialized) Keras layer or model."""
    if isinstance(branch, dict):
        branch = keras.saving.deserialize_keras_object(branch)
    return _checks.check_type(
        "branch", branch, keras.layers.Layer, "a Keras layer or model"
    )


@keras.saving.register_keras_serializable(package="kerasdrop")
class SkipResidual(DropoutBase):
    """A residual block `x + branch(x)` whose dropped branch is not computed.

    It means `x + DropPath(rate)(branch(x))` (stochastic depth, Huang et al.
    2016), but in training ONE draw per batch decides whether the branch
    runs at all (`keras.ops.cond`: only one side executes, on TF graphs,
    JAX and torch). A kept branch is scaled by `1 / (1 - rate)` (with
    `scale_by_keep=True`); a skipped step returns `x`, and the branch's
    forward and backward work is saved. The branch's trainable weights get
    an exact zero gradient on skipped steps (not None). Inference is
    `x + branch(x)`, as with `DropPath`.

    Under Monte-Carlo sampling (`mc=True` at inference, `kerasdrop.mc.sampling`,
    `kerasdrop.mc.predict`) the layer draws per example, as `DropPath` does,
    and computes the branch for every example: the T samples that
    `mc.predict` stacks along the batch axis stay independent.

    The branch runs statelessly inside the conditional (its non-trainable
    state, BatchNormalization's moving statistics or a dropout layer's
    seed, is carried out of it and written back), so stateful branches work
    on JAX as well; a skipped step leaves that state as it was. Losses a
    branch adds with `add_loss` are not collected in skipping training
    calls. On JAX on CPU, where XLA differentiates a convolution inside a
    conditional ~44x slower, a branch holding a convolution runs every
    step and the draw selects its output (same values and gradients, no
    saving; `selects_on_this_device`, the Limitations page).

    The rate is a variable like every kerasdrop rate (assignable, a
    `kerasdrop.schedules.Schedule`, the depth rule of
    `kerasdrop.recipes.stochastic_depth(..., skip_compute=True)`).
    `kerasdrop.strip_dropout` replaces the layer by a stock Keras Functional
    model computing `x + branch(x)` with the same weights.

    Args:
        branch: a Keras layer or model mapping `x` to a tensor of the same
            shape (its weights are the block's).
        rate: float in `[0, 1)` or a `kerasdrop.schedules.Schedule`: the
            probability that the branch is dropped.
        seed: optional integer seed.
        scale_by_keep: rescale a kept branch by `1 / (1 - rate)`.
        mc: bool, default False. If True, the layer also drops at inference
            (per example); `kerasdrop.strip_dropout` leaves `x + branch(x)`.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: floating-point tensor of rank >= 1, the block's input `x`.
        training: Python boolean: training mode (one draw per batch) or
            inference mode (`x + branch(x)`, unless `mc=True` or the layer
            is sampled by `kerasdrop.mc`).

    Input shape:
        `(batch, ...)`: what the branch accepts.

    Output shape:
        Same as input.

    Example:

    >>> import keras, kerasdrop
    >>> block = kerasdrop.layers.SkipResidual(keras.layers.Dense(4), 0.5, seed=0)
    >>> x = keras.ops.ones((2, 4))
    >>> bool(keras.ops.all(block(x) == x + block.branch(x)))  # inference
    True
    >>> tuple(block(x, training=True).shape)
    (2, 4)
    """

    min_rank = 1  # one draw per example under MC sampling
    #: Its branch may hold dropout layers: `kerasdrop.graph.find` walks into
    #: it, and its config serializes the branch as it is (no owner).
    holds_sites = True

    def __init__(
        self, branch, rate=0.1, seed=None, scale_by_keep=True, mc=False, **kwargs
    ):
        branch = _check_branch(branch)
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        self.scale_by_keep = _checks.check_bool("scale_by_keep", scale_by_keep)
        self.branch = branch

    @property
    def wrapped(self):
        return self.branch

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if not self.branch.built:
            self.branch.build(input_shape)
        output_shape = self.branch.compute_output_shape(input_shape)
        if tuple(output_shape) != input_shape:
            raise _checks.invalid_value(
                "branch",
                "Expected a branch whose output has the shape of its input "
                f"(a residual block adds them); it maps {input_shape} to "
                f"{tuple(output_shape)}.",
                f"branch={self.branch.name!r}",
                of=f"layer '{self.name}'",
            )
        self.block_input_shape = input_shape
        self.built = True

    def inference(self, inputs):
        return inputs + self.branch(inputs)

    def _per_batch(self, training):
        """Whether this active call draws once per batch (training, not MC)."""
        return bool(training) and not (
            mc_sampling_active(self) or mc_sample_groups() is not None
        )

    def call(self, inputs, training=False):
        self._check_inputs(inputs)
        rate = self.active_rate(training)
        if rate is None:
            return self.inference(inputs)
        if self._per_batch(training):
            return self.skip(inputs, rate)
        return self.drop(inputs, rate)

    def _scale(self, rate, dtype):
        if not self.scale_by_keep:
            return ops.cast(1.0, dtype)
        return ops.cast(1.0 / (1.0 - rate), dtype)

    def drop(self, inputs, rate):
        """Per example, as `DropPath`: the branch runs for every example."""
        outputs = self.branch(inputs)
        keep = self.keep_mask(inputs, rate)
        return inputs + drop_examples(outputs, keep, rate, self.scale_by_keep)

    def mask_shape(self, inputs):
        return example_mask_shape(inputs)

    def skip(self, inputs, rate):
        """One draw for the batch; only the chosen side of `cond` runs."""
        keep = ops.greater_equal(self.noise((1,))[0], rate)
        trainable = [v.value for v in self.branch.trainable_variables]
        state = [v.value for v in self.branch.non_trainable_variables]

        def kept():
            outputs, new_state = self.branch.stateless_call(
                trainable, state, inputs, training=True
            )
            outputs = inputs + outputs * self._scale(rate, outputs.dtype)
            return [outputs] + [ops.convert_to_tensor(s) for s in new_state]

        def skipped():
            # Exact zero gradients (not None) for the unused weights.
            zero = sum((ops.sum(w) * 0.0 for w in trainable), ops.zeros(()))
            outputs = inputs + ops.cast(zero, inputs.dtype)
            return [outputs] + [ops.convert_to_tensor(s) for s in state]

        if selects_on_this_device(self.branch):
            chosen = zip(kept(), [inputs] + [ops.convert_to_tensor(s) for s in state])
            results = [ops.where(keep, new, old) for new, old in chosen]
        else:
            results = ops.cond(keep, kept, skipped)
        for variable, value in zip(self.branch.non_trainable_variables, results[1:]):
            variable.assign(value)
        return results[0]

    def compute_output_shape(self, input_shape):
        return input_shape

    def stripped(self):
        """The stock form `kerasdrop.strip_dropout` puts in its place: a
        Functional `keras.Model` of the layer's name computing
        `x + branch(x)` with the branch itself (same weights)."""
        if not self.built:
            raise _checks.invalid_value(
                "layer",
                f"Layer '{self.name}' is not built: build it (call it once) "
                "before stripping, so its input shape is known.",
                f"layer={self.name!r}",
            )
        inputs = keras.Input(self.block_input_shape[1:], name=f"{self.name}_input")
        outputs = keras.layers.Add(name=f"{self.name}_add", dtype=self.dtype_policy)(
            [inputs, self.branch(inputs)]
        )
        return keras.Model(inputs, outputs, name=self.name)

    def get_config(self):
        return {
            **super().get_config(),
            "branch": keras.saving.serialize_keras_object(self.branch),
            "scale_by_keep": self.scale_by_keep,
        }
