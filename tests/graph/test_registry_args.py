"""Bad arguments of `kerasdrop.register_dropout`: at registration, or, for
a rate attribute (set in `__init__`, so unknown to the class), at first use
with an error naming `rate`."""

import keras
import pytest

import kerasdrop
from kerasdrop import inspection
from helpers import assert_bad_input


class MyDrop(keras.layers.Layer):
    def __init__(self, p=0.1, **kwargs):
        super().__init__(**kwargs)
        self.p = p
        self.label = "half"

    def call(self, x, training=False):
        return x


def _convert(layer, mc):
    return kerasdrop.layers.Dropout(layer.p, name=layer.name, mc=mc)


@pytest.fixture
def registered():
    yield lambda **kw: kerasdrop.register_dropout(MyDrop, _convert, **kw)
    kerasdrop.unregister_dropout(MyDrop)


def _model():
    return keras.Sequential([keras.Input((3,)), MyDrop(0.2, name="mine")])


REGISTRATION = [
    ({"cls": 3}, TypeError, "cls", "cls=3"),
    ({"cls": kerasdrop.layers.Dropout}, ValueError, "cls", "cls=Dropout"),
    ({"to_kerasdrop": "x"}, TypeError, "to_kerasdrop", "to_kerasdrop='x'"),
    ({"rate": "not an identifier"}, TypeError, "rate", "'not an identifier'"),
    ({"rate": 3}, TypeError, "rate", "rate=3"),
    ({"to_keras": 1}, TypeError, "to_keras", "to_keras=1"),
    ({"to_keras": lambda layer: None}, ValueError, "target", "target=None"),
    ({"stripped": "identity"}, TypeError, "stripped", "'identity'"),
    ({"target": int}, TypeError, "target", "target=<class 'int'>"),
    ({"target": kerasdrop.layers.Dropout}, ValueError, "target", "Dropout"),
]


@pytest.mark.parametrize("changes, exc, name, received", REGISTRATION)
def test_registration_refuses(changes, exc, name, received):
    args = {"cls": MyDrop, "to_kerasdrop": _convert, **changes}
    assert_bad_input(lambda: kerasdrop.register_dropout(**args), exc, name, received)
    assert kerasdrop.graph.registry.kind_of(MyDrop()) is None  # nothing stored


USE = [
    ("missing_attr", ValueError, "rate='missing_attr', which layer 'mine'"),
    ("label", TypeError, "rate='label' giving 'half' of type str"),
    (lambda layer: None, TypeError, "giving None of type NoneType"),
]


@pytest.mark.parametrize("rate, exc, received", USE)
@pytest.mark.parametrize("use", ["inspect", "convert"])
def test_rate_attribute_checked_at_first_use(registered, rate, exc, received, use):
    registered(rate=rate)
    model = _model()
    if use == "inspect":
        call = lambda: inspection.format_summary(model)  # noqa: E731
    else:
        call = lambda: kerasdrop.convert(model, copy=False)  # noqa: E731
    assert_bad_input(call, exc, "rate", received)
    assert type(model.layers[0]) is MyDrop  # not converted


def test_good_rate_attribute_reads(registered):
    registered(rate="p")
    kind = kerasdrop.graph.registry.kind_of(MyDrop(0.3))
    assert kind.read_rate(MyDrop(0.3)) == 0.3
