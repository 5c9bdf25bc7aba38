"""The one home of argument checks: its rule and its message format."""

import ast
import math
import pathlib
import re

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


def test_free_text_errors_share_the_one_format():
    err = _checks.invalid_value("x", "Expected one row.", "x with 0 rows")
    assert type(err) is ValueError
    assert str(err) == (
        "Invalid value received for argument `x`. Expected one row. "
        "Received: x with 0 rows"
    )
    err = _checks.invalid_type("inputs", "Expected rank 2.", "a", of="layer 'd'")
    assert type(err) is TypeError
    assert str(err).startswith("Invalid value received for argument `inputs` of ")
    assert _checks.invalid("m", "No copy.") == (
        "Invalid value received for argument `m`. No copy."
    )
    # The common shape is the free one with "Expected ..." and "name=<v>".
    assert _checks.message("n", "an int", 2.5) == _checks.invalid(
        "n", "Expected an int.", "n=2.5"
    )


ERROR_PHRASE = re.compile(r"invalid\s+value", re.IGNORECASE)


def _string_texts(tree):
    """(line, text) of each string expression: a constant, an f-string's
    literal parts joined, and the strings of a `+` chain joined (implicit
    concatenation is already one constant or f-string in the AST)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
            yield node.lineno, "".join(parts)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            leaves = [
                leaf
                for leaf in ast.walk(node)
                if isinstance(leaf, ast.Constant) and isinstance(leaf.value, str)
            ]
            yield node.lineno, "".join(leaf.value for leaf in leaves)


def test_argument_errors_are_written_in_checks_only():
    """No module but `_checks` spells out "Invalid value received ...":
    every argument error goes through `_checks` (one format, one home)."""
    package = pathlib.Path(kerasdrop.__file__).parent
    found = set()
    for path in sorted(package.rglob("*.py")):
        if path.name == "_checks.py" and path.parent == package:
            continue
        source = path.read_text()
        where = path.relative_to(package.parent)
        for number, line in enumerate(source.splitlines(), 1):
            if ERROR_PHRASE.search(line):
                found.add((str(where), number))
        for number, text in _string_texts(ast.parse(source)):
            if ERROR_PHRASE.search(text):
                found.add((str(where), number))
    assert not found, (
        "argument errors written outside kerasdrop/_checks.py (use "
        f"_checks.invalid_value & co.): {[f'{w}:{n}' for w, n in sorted(found)]}"
    )
