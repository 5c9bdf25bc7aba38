"""The `Schedule` base class, the constant schedule, and (de)serialization."""

import keras

from kerasdrop._checks import (
    F32_MAX,
    check_rate,
    is_real,
    type_error,
    value_error,
)
from kerasdrop.schedules.maths import clip_rate, is_python

register = keras.saving.register_keras_serializable(package="kerasdrop")


def as_step(step):
    """A Python step as a float (checked), a tensor step as float32 >= 0."""
    if isinstance(step, (bool, str, bytes)) or step is None:
        raise type_error("step", "a non-negative number or an integer tensor", step)
    if is_python(step):
        # Compared before any float conversion: a huge int is refused, not
        # an OverflowError.
        if not 0 <= step <= F32_MAX:  # also catches NaN
            raise value_error(
                "step",
                "a finite, non-negative number (at most the largest float32)",
                step,
            )
        return float(step)
    # In-graph the value cannot be checked: a negative step counts as 0.
    return keras.ops.maximum(keras.ops.cast(step, "float32"), 0.0)


class Schedule:
    """Base class of dropout-rate schedules.

    A subclass writes its formula once, in `value(step)`, with the maths
    functions of `kerasdrop.schedules` (`power`, `floor`, `exp`, `cos`,
    `minimum`, `maximum`, `where`, `progress`, `clip_rate`): they keep
    Python numbers as Python numbers and send tensors through `keras.ops`,
    so one formula serves a callback and a compiled train step. `__call__`
    converts the step (a Python step: a finite number >= 0; a tensor step:
    cast to float32, a negative one counts as 0, steps beyond 2**24 resolved
    to float32 precision) and clips the result into `[0, MAX_RATE]`. A
    subclass stores its constructor arguments as attributes of the same
    names and returns them from `get_config`.

    Example (a schedule halving the rate every `every` steps):

    >>> import keras
    >>> from kerasdrop import schedules
    >>> @keras.saving.register_keras_serializable(package="my_schedules")
    ... class Halving(schedules.Schedule):
    ...     def __init__(self, rate, every):
    ...         self.rate, self.every = rate, every
    ...     def value(self, step):  # one formula: Python numbers and tensors
    ...         halvings = schedules.floor(step / self.every)
    ...         return self.rate * schedules.power(0.5, halvings)
    ...     def get_config(self):
    ...         return {"rate": self.rate, "every": self.every}
    >>> s = Halving(0.4, every=10)
    >>> s(25), round(float(s(keras.ops.convert_to_tensor(25))), 6)  # tensor
    (0.1, 0.1)
    >>> schedules.deserialize(schedules.serialize(s)) == s
    True
    """

    def __call__(self, step):
        return clip_rate(self.value(as_step(step)))

    def value(self, step):
        name = type(self).__name__
        raise NotImplementedError(f"{name} must implement `value(step)`.")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == (other.get_config())

    def __hash__(self):
        return hash((type(self).__name__, repr(self.get_config())))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@register
class Constant(Schedule):
    """The same rate at every step (what a float rate stands for).

    >>> Constant(0.3)(1000)
    0.3
    """

    def __init__(self, rate):
        self.rate = check_rate("rate", rate)

    def value(self, step):
        return self.rate + 0.0 * step

    def get_config(self):
        return {"rate": self.rate}


def check_schedule(name, value):
    """A `Schedule`, or a float rate as a `Constant`; a `TypeError` else."""
    if is_real(value):
        return Constant(value)
    if not isinstance(value, Schedule):
        raise type_error(
            name, "a `kerasdrop.schedules.Schedule` or a float rate", value
        )
    return value


def serialize(schedule):
    """Serializes a schedule to a JSON-friendly dict (Keras format).

    Example:

    >>> from kerasdrop import schedules
    >>> config = schedules.serialize(schedules.Linear(0.0, 0.5, steps=100))
    >>> config["class_name"], config["config"]["end"]
    ('Linear', 0.5)
    """
    return keras.saving.serialize_keras_object(schedule)


def deserialize(config, custom_objects=None):
    """Inverse of `serialize`.

    Example:

    >>> from kerasdrop import schedules
    >>> s = schedules.Cosine(0.5, 0.1, steps=1000)
    >>> schedules.deserialize(schedules.serialize(s)) == s
    True
    """
    return keras.saving.deserialize_keras_object(config, custom_objects=custom_objects)


def get(identifier):
    """Returns a `Schedule` from a schedule, a float rate or a config dict.

    Example:

    >>> from kerasdrop import schedules
    >>> schedules.get(0.2)
    Constant(rate=0.2)
    """
    if isinstance(identifier, dict):
        identifier = deserialize(identifier)
    return check_schedule("schedule", identifier)
