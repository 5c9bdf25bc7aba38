"""Argument checks: the one home of kerasdrop's Keras-style argument errors.

Every public argument is checked here, with one message format (Keras
core's):

    Invalid value received for argument `x`. Expected <what>. Received: x=<v>

`invalid` writes it, and every message of the package goes through it:
`message`, `type_error` and `value_error` for the common shape above, and
`invalid_type` / `invalid_value` for a message of free text (a sentence
that is not "Expected <what>.", a received part that is not `x=<v>`, an
argument of a layer). No module but this one spells the format out.

A value of the wrong type raises `TypeError` (the message adds "of type T");
a value of the right type that is out of range raises `ValueError`. Booleans
are never accepted where a number is expected (`True` is an `int` in
Python, but `rate=True` is a mistake). Each check returns the value in a
canonical form (`int`, `float`, `list`), so a caller can write
`self.n = check_int("n", n, minimum=1)`.

Standard library and NumPy only: every module of the package may import it.

Example:

>>> check_int("samples", 8, minimum=1)
8
>>> check_int("samples", 0, minimum=1)
Traceback (most recent call last):
...
ValueError: Invalid value received for argument `samples`. Expected an integer >= 1. Received: samples=0
>>> check_int("samples", 2.0, minimum=1)
Traceback (most recent call last):
...
TypeError: Invalid value received for argument `samples`. Expected an integer >= 1. Received: samples=2.0 of type float
"""  # noqa: E501

import numbers

import numpy as np

#: Largest finite float32 (about 3.4e38); in-graph parameters must fit.
F32_MAX = float(np.finfo(np.float32).max)
#: Smallest normal float32 (about 1.2e-38): a parameter that must be > 0
#: must be at least this, so it stays > 0 in float32.
F32_TINY = float(np.finfo(np.float32).tiny)
#: The largest rate a float32 variable holds below 1.0 (0.99999994).
MAX_RATE = float(np.nextafter(np.float32(1.0), np.float32(0.0)))


def invalid(name, text, received=None, of=None):
    """The one formatter underneath every argument error of the package.

    `text` is the sentence(s) saying what is wrong or expected; `received`
    (a string, as it should read) says what came, and is left out when
    None; `of` names the owner of the argument, e.g. a layer.

    >>> invalid("x", "Expected at least one row.", "x with 0 rows")
    'Invalid value received for argument `x`. Expected at least one row. Received: x with 0 rows'
    >>> invalid("inputs", "Expected rank 3.", "inputs.shape=(2,)", of="layer 'd'")
    "Invalid value received for argument `inputs` of layer 'd'. Expected rank 3. Received: inputs.shape=(2,)"
    >>> invalid("model", "Its copy has 2 dropout layers instead of 3.")
    'Invalid value received for argument `model`. Its copy has 2 dropout layers instead of 3.'
    """  # noqa: E501
    owner = f" of {of}" if of else ""
    tail = "" if received is None else f" Received: {received}"
    return f"Invalid value received for argument `{name}`{owner}. {text}{tail}"


def invalid_type(name, text, received=None, of=None):
    """A `TypeError` with the message `invalid(name, text, received, of)`."""
    return TypeError(invalid(name, text, received, of))


def invalid_value(name, text, received=None, of=None):
    """A `ValueError` with the message `invalid(name, text, received, of)`.

    >>> raise invalid_value("path", "A name ending in '.onnx' is for ONNX.",
    ...                     "path='m.tflite'")
    Traceback (most recent call last):
    ...
    ValueError: Invalid value received for argument `path`. A name ending in '.onnx' is for ONNX. Received: path='m.tflite'
    """  # noqa: E501
    return ValueError(invalid(name, text, received, of))


def message(name, expected, value, detail=""):
    """The common shape: "Expected <expected>.<detail> Received: name=<v>".

    `detail` goes between expected and received.

    >>> message("rate", "a float in [0, 1)", 2)
    'Invalid value received for argument `rate`. Expected a float in [0, 1). Received: rate=2'
    """  # noqa: E501
    detail = f" {detail}" if detail else ""
    return invalid(name, f"Expected {expected}.{detail}", f"{name}={value!r}")


def type_error(name, expected, value, detail=""):
    """A `TypeError` for a value of the wrong type (names the type).

    >>> type_error("path", "a str or os.PathLike", 3)
    TypeError('Invalid value received for argument `path`. Expected a str or os.PathLike. Received: path=3 of type int')
    """  # noqa: E501
    text = message(name, expected, value, detail)
    return TypeError(f"{text} of type {type(value).__name__}")


def value_error(name, expected, value, detail=""):
    """A `ValueError` for a value of the right type but out of range."""
    return ValueError(message(name, expected, value, detail))


def is_int(value):
    """True for an integer that is not a bool (NumPy integers included)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value):
    """True for a real number that is not a bool (NumPy numbers included)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_bool(name, value):
    """A real `bool` (not 0/1, not a string).

    >>> check_bool("overwrite", True)
    True
    """
    if not isinstance(value, (bool, np.bool_)):
        raise type_error(name, "a bool", value)
    return bool(value)


def check_choice(name, value, choices):
    """One of `choices` (compared with `==`); a `ValueError` otherwise.

    >>> check_choice("mode", "min", ("min", "max"))
    'min'
    """
    try:
        found = any(
            bool(value == choice)
            and isinstance(value, bool) == isinstance(choice, bool)
            for choice in choices
        )
    except (TypeError, ValueError):  # an array compares elementwise
        found = False
    if not found:
        raise value_error(name, f"one of {tuple(choices)}", value)
    return value


def _bounds(kind, minimum, maximum, strict):
    rel = ">" if strict else ">="
    if minimum is not None and maximum is not None and not strict:
        return f"{kind} in [{minimum}, {maximum}]"
    low = "" if minimum is None else f" {rel} {minimum}"
    high = "" if maximum is None else f" <= {maximum}"
    return f"{kind}{low}{' and' if low and high else ''}{high}"


def check_int(name, value, minimum=None, maximum=None, allow_none=False, expected=None):
    """An integer in `[minimum, maximum]` (None: unbounded), as an `int`.

    `allow_none` lets None through; `expected` replaces the generated
    description of what is expected.

    >>> check_int("seed", None, minimum=0, allow_none=True) is None
    True
    """
    if value is None and allow_none:
        return None
    expected = expected or _bounds("an integer", minimum, maximum, False)
    if allow_none and not expected.startswith("None"):
        expected = f"None or {expected}"
    if not is_int(value):
        raise type_error(name, expected, value)
    if (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        raise value_error(name, expected, value)
    return int(value)


def check_number(
    name,
    value,
    minimum=None,
    maximum=None,
    strict=False,
    allow_none=False,
    expected=None,
):
    """A real number, finite in float32, `>= minimum` (`>` if `strict`).

    Numbers meet tensors in float32, so a value beyond float32's range (or
    NaN) is refused, and one that must be `> 0` must be at least `F32_TINY`,
    so it cannot become 0 in-graph. Returns an `int` for an integer, a
    `float` otherwise.

    >>> check_number("temperature", 0.1, minimum=0, strict=True)
    0.1
    """
    if value is None and allow_none:
        return None
    expected = expected or _bounds("a number", minimum, maximum, strict)
    if not is_real(value):
        raise type_error(name, expected, value)
    low = minimum is not None and (value <= minimum if strict else value < minimum)
    tiny = strict and minimum == 0 and value < F32_TINY
    high = maximum is not None and value > maximum
    if not -F32_MAX <= value <= F32_MAX or low or tiny or high:  # NaN too
        raise value_error(
            name,
            expected,
            value,
            f"It must be finite in float32 (at most {F32_MAX:.4g} in size"
            + (f", at least {F32_TINY:.4g} when > 0)." if strict else ")."),
        )
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def check_rate(name, value, expected="a float in [0, 1)"):
    """A dropout rate as float32 stores it; returns it as a `float`.

    A rate is a real number in `[0, 1)` (NaN refused) that does not round to
    1.0 in float32, the dtype of every rate variable: at most `MAX_RATE`
    (0.99999994) once stored, so `1 / (1 - rate)` stays finite. `expected`
    words the type error, e.g. to mention schedules.

    >>> check_rate("rate", 0.5)
    0.5
    >>> check_rate("rate", 1.0)
    Traceback (most recent call last):
    ...
    ValueError: Invalid value received for argument `rate`. Expected a float in [0, 1). Received: rate=1.0
    """  # noqa: E501
    if not is_real(value):
        raise type_error(name, expected, value)
    if not 0 <= value < 1:  # also catches NaN; no float() of a huge int
        raise value_error(name, "a float in [0, 1)", value)
    if np.float32(value) == 1.0:
        raise value_error(
            name,
            "a float in [0, 1) as stored in float32, where this value rounds "
            f"to 1.0 (the largest rate is {np.float32(MAX_RATE)})",
            value,
        )
    return float(value)


def check_sequence(name, value, expected, allow_array=True):
    """A list or tuple (or a 1-D NumPy array) of `expected`, as a `list`.

    >>> check_sequence("boundaries", (10, 20), "integers")
    [10, 20]
    """
    if allow_array and isinstance(value, np.ndarray) and value.ndim == 1:
        return value.tolist()
    if not isinstance(value, (list, tuple)):
        raise type_error(name, f"a list of {expected}", value)
    return list(value)


def check_type(name, value, types, expected):
    """`value` an instance of `types`; a `TypeError` naming `expected` else.

    >>> check_type("name", "dense", str, "a string")
    'dense'
    """
    types = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, types) or (
        isinstance(value, bool)
        and not any(issubclass(bool, t) and t is not int for t in types)
    ):
        raise type_error(name, expected, value)
    return value


def check_model(model, name="model", built=False):
    """A `keras.Model` (built, if `built`): the one model check of the package.

    >>> import keras
    >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> check_model(m, built=True) is m
    True
    """
    import keras  # here, so that this module stays importable on its own

    if not isinstance(model, keras.Model):
        raise type_error(name, "a `keras.Model`", model)
    if built and not model.built:
        raise invalid_value(
            name,
            "Expected a built model (give it an `Input` or call it once).",
            f"{name} '{model.name}' that is not built",
        )
    return model
