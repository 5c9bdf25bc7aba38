"""`DropoutBase`: the variable-rate core every kerasdrop dropout layer shares."""

import numbers

import keras
import numpy as np
from keras import ops

from kerasdrop import schedules as schedules_lib
from kerasdrop.layers.mc_state import (  # noqa: F401 (re-exported)
    mc_sample_groups,
    mc_sampled_ids,
    mc_sampling_active,
    mc_sampling_layers,
    sample_groups,
)


def check_rate(value, name="rate"):
    """Validates a constant layer rate (see `schedules.check_rate`).

    Example:

    >>> check_rate(0.25)
    0.25
    """
    return schedules_lib.check_rate(
        name, value, expected="a float in [0, 1) or a `kerasdrop.schedules.Schedule`"
    )


def check_seed(seed):
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
    ):
        raise TypeError(
            "Invalid value received for argument `seed`. Expected None or an "
            f"integer. Received: seed={seed!r} of type {type(seed).__name__}"
        )
    return None if seed is None else int(seed)


def check_mc(mc):
    if not isinstance(mc, bool):
        raise TypeError(
            "Invalid value received for argument `mc`. Expected a bool. "
            f"Received: mc={mc!r} of type {type(mc).__name__}"
        )
    return mc


class DropoutBase(keras.layers.Layer):
    """Base class of kerasdrop's dropout layers.

    The rate lives in a non-trainable float32 scalar variable
    (`aggregation="only_first_replica"`), so it can be changed while a
    compiled train step runs, is saved with the weights, and reaches every
    replica under `tf.distribute`. The layer always owns a
    `keras.random.SeedGenerator`, even at rate 0, so a rate scheduled to start
    at 0 can rise later.

    `rate` may be a float in `[0, 1)` or a `kerasdrop.schedules.Schedule`.
    With a schedule, the layer keeps its own step variable: each training
    call computes `schedule(step)` in-graph, writes it to the rate variable,
    and advances the step by one.

    Whether the layer is active and at what rate is decided in one place,
    `active_rate(training)`; subclasses only say what "drop at rate r" and
    "inference" mean for their kind (`drop(inputs, rate)` and
    `inference(inputs)`).

    The layer is active in training calls, and also at inference when it
    is an MC layer (`mc=True`: Monte-Carlo dropout, always on) or when the
    calling thread samples it (inside `kerasdrop.mc.sampling(model)` for a
    model holding it). Both are Python flags read when the call is traced;
    nothing else in the model changes mode (unlike `model(x,
    training=True)`, BatchNormalization stays in inference mode).

    Args:
        rate: float in `[0, 1)` or a `kerasdrop.schedules.Schedule`.
        seed: optional integer seed of the layer's `SeedGenerator`.
        mc: bool, default False. If True, the layer also drops at inference
            (Monte-Carlo dropout). `kerasdrop.export.strip_dropout` removes it
            for serving.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Example (a new kind only says how it drops):

    >>> import numpy as np, keras, kerasdrop
    >>> class ZeroOut(kerasdrop.layers.DropoutBase):
    ...     def drop(self, inputs, rate):  # zero everything with prob. rate
    ...         keep = keras.random.uniform((), seed=self.seed_generator) >= rate
    ...         return inputs * keras.ops.cast(keep, inputs.dtype)
    >>> layer = ZeroOut(0.5, seed=0)
    >>> layer.rate = 0.0  # a variable: assignable, also inside `fit`
    >>> np.asarray(layer(np.ones((1, 2)), training=True)).tolist()
    [[1.0, 1.0]]
    """

    #: True for layers that learn their rate (Concrete Dropout): schedulers
    #: leave them alone, loggers still report them.
    learned = False

    def __init__(self, rate, seed=None, mc=False, **kwargs):
        super().__init__(**kwargs)
        self.mc = check_mc(mc)
        if isinstance(rate, dict):
            rate = schedules_lib.deserialize(rate)
        if isinstance(rate, schedules_lib.Schedule):
            self.schedule = rate
            initial = self.schedule(0)
        elif callable(rate) and not isinstance(rate, numbers.Number):
            raise TypeError(
                "Invalid value received for argument `rate`. Expected a float "
                "in [0, 1) or a `kerasdrop.schedules.Schedule`; a plain "
                "callable cannot run inside the compiled train step (wrap the "
                "formula in a `Schedule` subclass, or assign `layer.rate` from "
                "a callback). "
                f"Received: rate={rate!r} of type {type(rate).__name__}"
            )
        else:
            self.schedule = None
            initial = check_rate(rate)
        self.base_rate = float(initial)
        self.seed = check_seed(seed)
        self.supports_masking = True
        # Fixed creation order (rate, step, seed state): saving relies on it.
        self._rate = self.add_weight(
            name="rate",
            shape=(),
            dtype="float32",
            initializer=keras.initializers.Constant(initial),
            trainable=False,
            aggregation="only_first_replica",
        )
        self._step = self.add_weight(
            name="step",
            shape=(),
            dtype="int32",
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
        )
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        # All state exists now: mark built as Keras core's Dropout does.
        build_at_init = getattr(self, "_build_at_init", None)
        if build_at_init is not None:
            build_at_init()

    # ------------------------------------------------------------------
    # Live values.
    # ------------------------------------------------------------------
    @property
    def rate(self):
        """The live dropout rate, read from the rate variable, as a float.

        The float32 value is returned as the shortest decimal that rounds to
        it, so `layer.rate = 0.3` reads back as `0.3`.
        """
        return float(str(np.float32(ops.convert_to_numpy(self._rate.value))))

    @rate.setter
    def rate(self, value):
        self.assign_rate(value)

    def assign_rate(self, value):
        """Validates `value` and writes it to the rate variable.

        The compiled train step reads the variable, so the new rate applies
        from the next step on, with no retrace. Layers built with a schedule
        refuse (assign `layer.step` instead).
        """
        if self.schedule is not None:
            raise ValueError(
                f"Invalid value received for argument `rate`. Layer "
                f"'{self.name}' computes its rate from the schedule "
                f"{self.schedule!r}; assign `layer.step` to move along it, or "
                f"build the layer with a float rate. Received: rate={value!r}"
            )
        self._rate.assign(check_rate(value))

    def __setattr__(self, name, value):
        # `rate` and `step` are properties over variables: skip Keras'
        # attribute tracking (4x the cost of the assignment itself).
        if name in ("rate", "step"):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    # `base_rate` (set in __init__): the rate the layer was built with (a
    # schedule's value at step 0). `DropoutScheduler(mode="scale")` multiplies
    # it; `get_config` returns it, while the live rate travels with weights.

    @property
    def rate_variable(self):
        """The non-trainable float32 scalar variable holding the rate."""
        return self._rate

    @property
    def step(self):
        """Training calls seen by the layer's schedule (0 without one)."""
        return int(ops.convert_to_numpy(self._step.value))

    @step.setter
    def step(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(
                "Invalid value received for argument `step`. Expected a "
                f"non-negative integer. Received: step={value!r}"
            )
        if value < 0:
            raise ValueError(
                "Invalid value received for argument `step`. Expected a "
                f"non-negative integer. Received: step={value!r}"
            )
        self._step.assign(int(value))
        if self.schedule is not None:
            self._rate.assign(self.schedule(int(value)))

    # ------------------------------------------------------------------
    # The single decision.
    # ------------------------------------------------------------------
    def is_active(self, training):
        """Whether the layer drops at all in this call (trace-time flag).

        Training calls, MC layers (`mc=True`) and calls by a thread that
        samples this layer (`kerasdrop.mc.sampling(model)`) drop; everything
        else is inference.
        """
        return bool(training) or self.mc or mc_sampling_active(self)

    def active_rate(self, training):
        """`None` when inactive, else the float32 rate tensor for this call.

        With a schedule, a training call computes `schedule(step)` in-graph,
        records it in the rate variable and advances the step.
        """
        if not self.is_active(training):
            return None
        if self.schedule is not None and training:
            rate = self.schedule(self._step.value)
            self._rate.assign(rate)
            self._step.assign_add(ops.cast(1, "int32"))
            return rate
        return self.live_rate()

    def live_rate(self):
        """The current rate as a float32 tensor (learned layers override)."""
        return ops.convert_to_tensor(self._rate.value)

    def call(self, inputs, training=False):
        self._check_inputs(inputs)
        rate = self.active_rate(training)
        if rate is None:
            return self.inference(inputs)
        return self.drop(inputs, rate)

    # ------------------------------------------------------------------
    # What subclasses define.
    # ------------------------------------------------------------------
    def drop(self, inputs, rate):
        raise NotImplementedError

    def inference(self, inputs):
        return inputs

    @property
    def wrapped(self):
        """The layer a wrapper kind drops around (Concrete, DropConnect), which
        is what stripping leaves; None for plain dropout layers."""
        return None

    def mask_shape(self, inputs):
        """Shape of the random mask; broadcast against `inputs`."""
        return ops.shape(inputs)

    # ------------------------------------------------------------------
    # Shared helpers.
    # ------------------------------------------------------------------
    def keep_mask(self, inputs, rate):
        """Boolean keep-mask of `mask_shape(inputs)`: P(keep) = 1 - rate.

        Uniform noise is drawn in float32 whatever the compute dtype, so the
        rate keeps full resolution under float16/bfloat16 policies.
        """
        return ops.greater_equal(self.noise(self.mask_shape(inputs)), rate)

    def noise(self, shape, distribution="uniform", per_sample=False):
        """Float32 noise for a mask of `shape`: every kind draws through here.

        `shape[0]` is the batch axis, or with `per_sample=True` one entry per
        MC sample (DropConnect's weight masks). Inside `kerasdrop.mc.predict`
        with consistent masks the noise is drawn for all samples from the
        rewound generator and sliced, so that sample `t` gets the same mask
        in every batch and chunk, and the rows of one sample share it.
        `distribution`: `"uniform"` in [0, 1) or `"normal"`.
        """
        draw = keras.random.uniform if distribution == "uniform" else keras.random.normal
        groups = mc_sample_groups()
        if groups is None or not groups.consistent:
            return draw(shape, dtype="float32", seed=self.seed_generator)
        shape = tuple(shape)
        full = draw((groups.total, 1) + shape[1:], dtype="float32", seed=self.seed_generator)
        start = [groups.offset] + [0] * (len(full.shape) - 1)
        mine = ops.slice(full, start, (groups.groups,) + tuple(full.shape[1:]))
        if per_sample:
            return ops.reshape(mine, shape)
        rows = shape[0] // groups.groups
        mine = ops.broadcast_to(mine, (groups.groups, rows) + shape[1:])
        return ops.reshape(mine, shape)

    def _check_inputs(self, inputs):
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if "float" not in dtype:
            raise TypeError(
                f"Invalid dtype received for argument `inputs` of layer "
                f"'{self.name}'. Expected a floating-point tensor. "
                f"Received: inputs.dtype={dtype}"
            )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        base_config = super().get_config()
        # Constructor values; the live rate and step are weights.
        if self.schedule is not None:
            rate = schedules_lib.serialize(self.schedule)
        else:
            rate = self.base_rate
        return {**base_config, "rate": rate, "seed": self.seed, "mc": self.mc}
