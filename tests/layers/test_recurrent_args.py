"""Bad arguments of kerasdrop's LSTM, GRU and SimpleRNN: checked by
kerasdrop before Keras' constructor sees them (Keras takes `units=True` as
one unit and `return_sequences="yes"` as truthy)."""

import numpy as np
import pytest

from helpers import assert_bad_input
from kerasdrop import layers as L


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """These probes build no model: no `clear_session` per case (the
    conftest fixture's cost, paid hundreds of times, is most of their time)."""
    yield


RNNS = (L.LSTM, L.GRU, L.SimpleRNN)

# (keyword arguments, error type, argument named, received fragment)
COMMON = [
    ({"units": True}, TypeError, "units", "units=True"),
    ({"units": 2.0}, TypeError, "units", "units=2.0"),
    ({"units": "4"}, TypeError, "units", "units='4'"),
    ({"units": None}, TypeError, "units", "units=None"),
    ({"units": 0}, ValueError, "units", "units=0"),
    ({"units": -3}, ValueError, "units", "units=-3"),
    ({"return_sequences": "yes"}, TypeError, "return_sequences", "'yes'"),
    ({"return_sequences": 1}, TypeError, "return_sequences", "=1"),
    ({"return_state": None}, TypeError, "return_state", "=None"),
    ({"go_backwards": 2}, TypeError, "go_backwards", "=2"),
    ({"stateful": "no"}, TypeError, "stateful", "'no'"),
    ({"unroll": 1}, TypeError, "unroll", "=1"),
    ({"use_bias": "x"}, TypeError, "use_bias", "'x'"),
    ({"activation": "nope"}, ValueError, "activation", "'nope'"),
    ({"activation": 3}, TypeError, "activation", "activation=3"),
    ({"kernel_initializer": "nope"}, ValueError, "kernel_initializer", "'nope'"),
    ({"recurrent_initializer": 1.5}, TypeError, "recurrent_initializer", "1.5"),
    ({"kernel_regularizer": "nope"}, ValueError, "kernel_regularizer", "'nope'"),
    ({"bias_constraint": "nope"}, ValueError, "bias_constraint", "'nope'"),
    ({"dropout": 1.0}, ValueError, "dropout", "dropout=1.0"),
    ({"dropout": "0.1"}, TypeError, "dropout", "'0.1'"),
    ({"recurrent_dropout": -0.1}, ValueError, "recurrent_dropout", "-0.1"),
    ({"seed": -1}, ValueError, "seed", "seed=-1"),
    ({"seed": 1.5}, TypeError, "seed", "seed=1.5"),
    ({"mc": 1}, TypeError, "mc", "mc=1"),
    ({"recurrent_mc": 0}, TypeError, "recurrent_mc", "recurrent_mc=0"),
]
GATED = [  # LSTM and GRU only
    ({"recurrent_activation": "nope"}, ValueError, "recurrent_activation", "'nope'"),
    ({"use_cudnn": "x"}, ValueError, "use_cudnn", "use_cudnn='x'"),
    ({"use_cudnn": 1}, ValueError, "use_cudnn", "use_cudnn=1"),
    ({"implementation": 3}, ValueError, "implementation", "implementation=3"),
    ({"implementation": 0}, ValueError, "implementation", "implementation=0"),
    ({"implementation": True}, TypeError, "implementation", "implementation=True"),
    ({"implementation": 2.0}, TypeError, "implementation", "implementation=2.0"),
    (
        {"use_cudnn": True, "recurrent_dropout": 0.1},
        ValueError,
        "use_cudnn",
        "use_cudnn=True",
    ),
]
CASES = [(cls, *case) for cls in RNNS for case in COMMON]
CASES += [(cls, *case) for cls in (L.LSTM, L.GRU) for case in GATED]
CASES += [
    (L.LSTM, {"unit_forget_bias": "x"}, TypeError, "unit_forget_bias", "'x'"),
    (L.GRU, {"reset_after": 0}, TypeError, "reset_after", "reset_after=0"),
]


@pytest.mark.parametrize(
    "cls, kwargs, exc, name, received",
    CASES,
    ids=[f"{c[0].__name__}-{'-'.join(map(str, c[1].items()))}" for c in CASES],
)
def test_bad_argument_is_refused_before_keras(cls, kwargs, exc, name, received):
    kwargs = {"units": 3, **kwargs}
    assert_bad_input(lambda: cls(**kwargs), exc, name, received)


@pytest.mark.parametrize("cls", RNNS)
def test_good_arguments_in_their_canonical_form(cls):
    """NumPy integers are integers; names, configs and callables of Keras
    objects pass; the layer still runs."""
    layer = cls(
        np.int64(3),
        activation="relu",
        kernel_initializer={"class_name": "Zeros", "config": {}},
        kernel_regularizer=None,
        return_sequences=True,
        use_bias=np.bool_(True),
    )
    assert type(layer.cell.units) is int
    assert layer(np.ones((1, 2, 4), "float32")).shape == (1, 2, 3)
    again = cls.from_config(layer.get_config())
    assert again.return_sequences is True


def test_unknown_keyword_is_still_keras_error():
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        L.SimpleRNN(3, implementation=2)
