"""`DropoutBase`: the variable-rate core every kerasdrop dropout layer shares."""

import keras
import numpy as np
from keras import ops

from kerasdrop import _checks, _keras
from kerasdrop import schedules as schedules_lib
from kerasdrop.layers import noise as noise_lib
from kerasdrop.layers.mc_state import (  # noqa: F401 (re-exported)
    mc_held_off,
    mc_inference_only,
    mc_sample_groups,
    mc_sampled_ids,
    mc_sampling_active,
    mc_sampling_layers,
    sample_groups,
    shard_noise,
)


#: What a layer's `rate` argument may be (type errors say it).
RATE_EXPECTED = "a float in [0, 1) or a `kerasdrop.schedules.Schedule`"
#: The step lives in an int32 variable: 0 to MAX_STEP; training stops there.
MAX_STEP = 2**31 - 1
#: Seeds every backend's seed state holds (JAX: uint32).
MAX_SEED = 2**32 - 1


def check_seed(seed):
    """None or an integer in `[0, MAX_SEED]`, as every backend's seed state.

    Example:

    >>> check_seed(7), check_seed(None)
    (7, None)
    """
    return _checks.check_int(
        "seed",
        seed,
        minimum=0,
        maximum=MAX_SEED,
        allow_none=True,
        expected="None or an integer in [0, 2**32 - 1]",
    )


def check_step(step):
    """A layer step: an integer in `[0, MAX_STEP]` (the int32 variable's).

    Example:

    >>> check_step(12)
    12
    """
    return _checks.check_int(
        "step",
        step,
        minimum=0,
        maximum=MAX_STEP,
        expected="an integer in [0, 2**31 - 1] (the step is an int32 variable)",
    )


def check_mc(mc):
    """The `mc` flag: a bool."""
    return _checks.check_bool("mc", mc)


def check_rate_or_schedule(name, value, allow_none=False):
    """A rate argument: a float rate, or a `Schedule` (a serialized one is
    deserialized); with `allow_none`, None passes.

    A plain callable is refused: it cannot run inside the compiled train step.

    Example:

    >>> check_rate_or_schedule("rate", 0.25)
    0.25
    """
    if value is None and allow_none:
        return None
    if isinstance(value, dict):
        value = schedules_lib.deserialize(value)
    if isinstance(value, schedules_lib.Schedule):
        return value
    expected = f"None or {RATE_EXPECTED}" if allow_none else RATE_EXPECTED
    if callable(value) and not _checks.is_real(value):
        raise _checks.type_error(
            name,
            expected,
            value,
            "A plain callable cannot run inside the compiled train step (wrap "
            "the formula in a `Schedule` subclass, or assign `layer.rate` from "
            "a callback).",
        )
    return schedules_lib.check_rate(name, value, expected)


def wrapped_layer(layer, types, expected):
    """The `layer` argument of a wrapper kind: a (serialized) Keras layer."""
    if isinstance(layer, dict):
        layer = keras.saving.deserialize_keras_object(layer)
    return _checks.check_type("layer", layer, types, expected)


def inverted(inputs, keep, rate):
    """Inverted dropout's output: `inputs` times 1/(1 - rate) where `keep`
    (a boolean mask broadcast against `inputs`) is True, 0 elsewhere.

    A product with the cast mask, which TensorFlow and torch compute about
    twice as fast as a select. In float16 a select: there 1/(1 - rate)
    overflows to inf for rates above ~0.99998, and 0 * inf would make the
    dropped units NaN. So outside float16, a dropped inf or NaN input gives
    NaN, as in Keras' dropout on TensorFlow and torch.

    Example:

    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0, 3.0]], "float32")
    >>> np.asarray(inverted(x, np.array([[True, False, True]]), 0.5)).tolist()
    [[2.0, 0.0, 6.0]]
    """
    dtype = keras.backend.standardize_dtype(inputs.dtype)
    scale = ops.cast(1.0 / (1.0 - rate), dtype)
    if dtype == "float16":
        return ops.where(keep, ops.multiply(inputs, scale), ops.zeros_like(inputs))
    return ops.multiply(ops.multiply(inputs, ops.cast(keep, dtype)), scale)


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
            (Monte-Carlo dropout). `kerasdrop.strip_dropout` removes it
            for serving.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: floating-point input tensor.
        training: Python boolean: training mode (drop) or inference mode
            (`inference(inputs)`, unless the layer is an MC layer or sampled).

    Input shape:
        Arbitrary (each kind may require a minimum rank, `min_rank`).

    Output shape:
        Same as input (wrapper kinds: the wrapped layer's output shape).

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
    #: The rate and step variables (`_create_rate_state`); None in a kind
    #: that learns its rate.
    _rate = None
    _step = None

    #: The `Schedule` lent by `attach_driver` (see `driver`).
    _driver = None

    def __init__(self, rate, seed=None, mc=False, **kwargs):
        super().__init__(**kwargs)
        self.mc = check_mc(mc)
        rate = check_rate_or_schedule("rate", rate)
        self.schedule = rate if isinstance(rate, schedules_lib.Schedule) else None
        initial = rate if self.schedule is None else self._schedule_rate(0)
        self.base_rate = float(initial)
        self.seed = check_seed(seed)
        self.supports_masking = True
        self._create_rate_state(initial)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        # All state exists now: mark built as Keras core's Dropout does.
        _keras.build_at_init(self)

    def _create_rate_state(self, initial):
        """Creates the variables the rate lives in, from the `initial` rate.

        The hook that decides which variables a kind owns. Here: the rate,
        non-trainable, and the schedule's step, in this order (saving relies
        on it). A kind that learns its rate overrides it to create its own
        trainable variables instead (and `live_rate` and `assign_rate` to
        read and write them), as `ConcreteDropout` does; it then has no
        `rate_variable` and no step.
        """
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

    # ------------------------------------------------------------------
    # Live values.
    # ------------------------------------------------------------------
    @property
    def rate(self):
        """The live dropout rate, as a float (`live_rate()` read on the host).

        The float32 value is returned as the shortest decimal that rounds to
        it, so `layer.rate = 0.3` reads back as `0.3`.
        """
        return float(str(np.float32(ops.convert_to_numpy(self.live_rate()))))

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
            raise _checks.invalid_value(
                "rate",
                f"Layer '{self.name}' computes its rate from the schedule "
                f"{self.schedule!r}; assign `layer.step` to move along it, or "
                "build the layer with a float rate.",
                f"rate={value!r}",
            )
        self._rate.assign(schedules_lib.check_rate("rate", value, RATE_EXPECTED))

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
        """The non-trainable float32 scalar variable holding the rate (None
        for a kind that learns its rate from its own variables)."""
        return self._rate

    @property
    def step(self):
        """Training calls seen by the layer's schedule (0 without one).

        Assignable (an integer in `[0, 2**31 - 1]`, the int32 variable's
        range) to move along the schedule; it stops at `2**31 - 1`. A kind
        that learns its rate has no step (always 0, not assignable).
        """
        if self._step is None:
            return 0
        return int(ops.convert_to_numpy(self._step.value))

    @step.setter
    def step(self, value):
        value = check_step(value)
        if self._step is None:
            raise _checks.invalid_value(
                "step",
                f"Layer '{self.name}' learns its rate and follows no schedule: "
                "it has no step.",
                f"step={value!r}",
            )
        rate = None if self.schedule is None else self._schedule_rate(value)
        self._step.assign(value)  # both checked: nothing changes on refusal
        if rate is not None:
            self._rate.assign(rate)

    def _schedule_rate(self, step):
        """The schedule's value at a Python `step`, checked as a rate."""
        value = self.schedule(step)
        try:
            return schedules_lib.check_rate("rate", value)
        except (TypeError, ValueError):
            raise _checks.value_error(
                "rate",
                f"a schedule giving rates in [0, 1); it gives {value!r} at step {step}",
                self.schedule,
            ) from None

    # ------------------------------------------------------------------
    # A schedule lent for a while.
    # ------------------------------------------------------------------
    @property
    def driver(self):
        """The schedule lent with `attach_driver`, or None (read-only)."""
        return self._driver

    def attach_driver(self, driver):
        """Lends the layer a schedule that drives its rate in training calls.

        Each training call then computes `driver(step)` in-graph, writes it
        to the rate variable and advances the step, as the layer's own
        `schedule` would; the driver is not part of the config. It is read
        when a call is traced: a compiled train step traced before stays as
        it was (`kerasdrop.callbacks.DropoutScheduler(unit="batch")` lends
        one for each `fit` and traces the train step with it). A driver
        attached before replaces the previous one. `release_driver()` takes
        it back.

        Args:
            driver: a `kerasdrop.schedules.Schedule`.

        Raises:
            ValueError: the layer has its own schedule, or learns its rate
                (no step to drive).

        Example:

        >>> import numpy as np, kerasdrop
        >>> layer = kerasdrop.layers.Dropout(0.0, seed=1)
        >>> layer.attach_driver(kerasdrop.schedules.Linear(0.0, 0.4, steps=4))
        >>> for _ in range(3):
        ...     _ = layer(np.ones((2, 3), "float32"), training=True)
        >>> layer.step, layer.rate  # the rate of the third call, at step 2
        (3, 0.2)
        >>> layer.release_driver()
        >>> layer.driver is None
        True
        """
        _checks.check_type(
            "driver", driver, schedules_lib.Schedule, "a `kerasdrop.schedules.Schedule`"
        )
        if self.schedule is not None or self._step is None:
            why = "its own schedule" if self._step is not None else "a learned rate"
            raise _checks.value_error(
                "driver",
                f"no driver for layer '{self.name}', which follows {why}",
                driver,
            )
        self._driver = driver

    def release_driver(self):
        """Takes back the schedule lent with `attach_driver` (if any): the rate
        is the rate variable's again from the next trace on; the step and
        the rate stay where the driver left them."""
        self._driver = None

    # ------------------------------------------------------------------
    # The single decision.
    # ------------------------------------------------------------------
    def is_active(self, training):
        """Whether the layer drops at all in this call (trace-time flag).

        Training calls, MC layers (`mc=True`) and calls by a thread that
        samples this layer (`kerasdrop.mc.sampling(model)`) drop, unless the
        thread holds the layer at inference (`mc_inference_only`: a verified
        export); everything else is inference.
        """
        if training:
            return True
        return (self.mc or mc_sampling_active(self)) and not mc_held_off(self)

    def active_rate(self, training):
        """`None` when inactive, else the float32 rate tensor for this call.

        With a schedule, a training call computes `schedule(step)` in-graph,
        records it in the rate variable and advances the step.
        """
        if not self.is_active(training):
            return None
        schedule = self.schedule if self.schedule is not None else self._driver
        if schedule is not None and training:
            step = self._step.value
            rate = schedule(step)
            self._rate.assign(rate)
            # Saturating: at MAX_STEP the int32 would wrap to a negative step.
            self._step.assign(step + ops.cast(ops.less(step, MAX_STEP), "int32"))
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

        Drawn from decision uniforms (`kerasdrop.layers.noise`) in float32
        whatever the compute dtype (float16 and bfloat16 policies included):
        the rate is resolved to 2**-15 at half the random draws on TF and
        JAX, to 2**-24 on torch (float32 uniforms, cheaper there).
        """
        noise = self.noise(self.mask_shape(inputs), distribution="decision")
        return ops.greater_equal(noise, rate)

    def noise(self, shape, distribution="uniform", per_sample=False):
        """Float32 noise for a mask of `shape`: every kind draws through here.

        `shape[0]` is the batch axis, or with `per_sample=True` one entry per
        MC sample (DropConnect's weight masks). Inside `kerasdrop.mc.predict`
        with consistent masks the noise is drawn for all samples from the
        rewound generator and sliced, so that sample `t` gets the same mask
        in every batch and chunk, and the rows of one sample share it.
        Sharded over devices, a batch's noise is that of its rows in the
        global batch (`shard_noise`).
        `distribution`: `"uniform"` in [0, 1), `"decision"` (uniform on the
        grid k / 2**15, for keep/drop decisions) or `"normal"`.
        """
        draw = noise_lib.DRAWS.get(distribution)
        if draw is None:
            expected = "one of " + ", ".join(map(repr, noise_lib.DRAWS))
            raise _checks.value_error("distribution", expected, distribution)
        groups = mc_sample_groups()
        if groups is None or not groups.consistent:
            if groups is not None and groups.rows is not None and not per_sample:
                return shard_noise(
                    lambda s: draw(s, self.seed_generator), shape, groups
                )
            return draw(shape, self.seed_generator)
        shape = tuple(shape)
        full = draw((groups.total, 1) + shape[1:], self.seed_generator)
        start = [groups.offset] + [0] * (len(full.shape) - 1)
        mine = ops.slice(full, start, (groups.groups,) + tuple(ops.shape(full)[1:]))
        if per_sample:
            return ops.reshape(mine, shape)
        rows = shape[0] // groups.groups
        mine = ops.broadcast_to(mine, (groups.groups, rows) + shape[1:])
        return ops.reshape(mine, shape)

    #: Input ranks the layer accepts: `min_rank` (1: it needs a batch axis)
    #: to `max_rank` (None: no maximum).
    min_rank = 0
    max_rank = None

    def _check_inputs(self, inputs):
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if "float" not in dtype:
            raise TypeError(
                f"Invalid dtype received for argument `inputs` of layer "
                f"'{self.name}'. Expected a floating-point tensor. "
                f"Received: inputs.dtype={dtype}"
            )
        self._check_rank(tuple(inputs.shape))

    def _check_rank(self, shape):
        high = len(shape) if self.max_rank is None else self.max_rank
        if not self.min_rank <= len(shape) <= high:
            ranks = [str(rank) for rank in range(self.min_rank, high + 1)]
            expected = (
                f">= {self.min_rank}"
                if self.max_rank is None
                else f"{', '.join(ranks[:-1])} or {ranks[-1]}"
            )
            raise _checks.invalid_value(
                "inputs",
                f"Expected rank {expected} for a {type(self).__name__} input.",
                f"inputs.shape={shape}",
                of=f"layer '{self.name}'",
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
