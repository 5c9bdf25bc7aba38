"""The one home of argument checks: its rule and its message format."""

import math

import numpy as np
import pytest

import kerasdrop
from kerasdrop import _checks


def test_message_format_is_keras_cores():
    with pytest.raises(ValueError) as info:
        _checks.check_int("samples", 0, minimum=1)
    assert str(info.value) == (
        "Invalid value received for argument `samples`. Expected an integer "
        ">= 1. Received: samples=0"
    )
    with pytest.raises(TypeError) as info:
        _checks.check_int("samples", 2.0, minimum=1)
    assert str(info.value).endswith("Received: samples=2.0 of type float")


@pytest.mark.parametrize("value", [True, 1.5, "3", None, np.float32(2.0)])
def test_a_wrong_type_is_a_type_error(value):
    with pytest.raises(TypeError, match="`n`"):
        _checks.check_int("n", value, minimum=0)


@pytest.mark.parametrize("value", [-1, 11])
def test_a_bad_value_is_a_value_error(value):
    with pytest.raises(ValueError, match=f"n={value}"):
        _checks.check_int("n", value, minimum=0, maximum=10)


def test_canonical_values_are_returned():
    assert type(_checks.check_int("n", np.int64(3))) is int
    assert _checks.check_int("n", None, allow_none=True) is None
    assert type(_checks.check_number("x", np.float64(0.5))) is float
    assert _checks.check_sequence("b", np.array([1, 2]), "integers") == [1, 2]
    assert _checks.check_bool("flag", np.bool_(True)) is True
    assert _checks.check_rate("rate", 0) == 0.0


@pytest.mark.parametrize(
    "value, exc",
    [
        (math.nan, ValueError),
        (math.inf, ValueError),
        (1e39, ValueError),
        (0.0, ValueError),
        (1e-39, ValueError),
        ("1", TypeError),
        (False, TypeError),
    ],
)
def test_number_must_be_finite_in_float32(value, exc):
    with pytest.raises(exc, match="`x`"):
        _checks.check_number("x", value, minimum=0, strict=True)


def test_rate_rounding_to_one_in_float32_is_refused():
    assert _checks.check_rate("rate", _checks.MAX_RATE) == _checks.MAX_RATE
    with pytest.raises(ValueError, match="rounds to 1.0"):
        _checks.check_rate("rate", 0.99999999)
    assert kerasdrop.schedules.check_rate is _checks.check_rate  # one check


@pytest.mark.parametrize("value", [True, 1, "min ", np.array(["min", "max"])])
def test_choice_is_exact(value):
    with pytest.raises(ValueError, match="Expected one of"):
        _checks.check_choice("mode", value, ("min", "max", 0))


def test_bool_refuses_integers_and_strings():
    for value in (0, 1, "True", None):
        with pytest.raises(TypeError, match="Expected a bool"):
            _checks.check_bool("copy", value)


def test_type_refuses_bool_for_int():
    assert _checks.check_type("n", 3, int, "an int") == 3
    assert _checks.check_type("flag", True, bool, "a bool") is True
    with pytest.raises(TypeError, match="of type bool"):
        _checks.check_type("n", True, int, "an int")


def test_model_check():
    import keras

    unbuilt = keras.Sequential([keras.layers.Dense(1)])
    assert _checks.check_model(unbuilt) is unbuilt
    with pytest.raises(ValueError, match="not built"):
        _checks.check_model(unbuilt, built=True)
    with pytest.raises(TypeError, match="model=3 of type int"):
        _checks.check_model(3)


@pytest.mark.parametrize(
    "call, exc",
    [
        (lambda: kerasdrop.recipes.early_dropout(epochs=2.5), TypeError),
        (lambda: kerasdrop.recipes.early_dropout(epochs=True), TypeError),
        (lambda: kerasdrop.recipes.early_dropout(epochs=0), ValueError),
        (lambda: kerasdrop.recipes.late_dropout(epochs=6, cutoff="2"), TypeError),
        (lambda: kerasdrop.recipes.late_dropout(epochs=6, cutoff=-2), ValueError),
    ],
)
def test_recipes_follow_the_rule(call, exc):
    """Before the one checks module, recipes raised ValueError for a type."""
    with pytest.raises(exc, match="Invalid value received for argument"):
        call()
