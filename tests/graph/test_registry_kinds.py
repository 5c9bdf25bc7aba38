"""One registry entry per dropout kind: conversion both ways and stripping
read only that entry; registrations are checked; stale paths warn."""

import warnings

import keras
import numpy as np
import pytest

import kerasdrop
from kerasdrop import graph
from kerasdrop import layers as L
from kerasdrop.graph import registry
from helpers import to_numpy


@keras.saving.register_keras_serializable(package="test_registry_kinds")
class Blackout(keras.layers.Layer):
    """A user's dropout layer: its rate is `drop`, not `rate`."""

    def __init__(self, drop=0.1, **kwargs):
        super().__init__(**kwargs)
        self.drop = drop

    def call(self, x, training=False):
        if training:
            return keras.random.dropout(x, self.drop)
        return x

    def get_config(self):
        return {**super().get_config(), "drop": self.drop}


@keras.saving.register_keras_serializable(package="test_registry_kinds")
class KerasdropBlackout(L.Dropout):
    """The kerasdrop layer a `Blackout` becomes (the kind's own target)."""


def _to_kerasdrop(layer, mc):
    return KerasdropBlackout(layer.drop, name=layer.name, mc=mc)


def _to_keras(layer):
    return Blackout(layer.rate, name=layer.name)


def _stripped(layer):
    # Not Identity, so that the test sees this entry was the one used.
    return keras.layers.Activation("linear", name=layer.name)


@pytest.fixture
def blackout_kind():
    kerasdrop.register_dropout(
        Blackout,
        _to_kerasdrop,
        rate="drop",
        to_keras=_to_keras,
        stripped=_stripped,
        target=KerasdropBlackout,
    )
    yield registry._USER[Blackout]
    kerasdrop.unregister_dropout(Blackout)


def _model():
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, name="dense"),
            Blackout(0.3, name="mine"),
            keras.layers.Dropout(0.2, name="stock"),
            keras.layers.Dense(2, name="out"),
        ]
    )


def _assert_same_outputs(a, b, x):
    np.testing.assert_allclose(
        to_numpy(a(x, training=False)), to_numpy(b(x, training=False)), rtol=1e-6
    )


def test_a_registered_kind_round_trips_through_its_entry(blackout_kind):
    model = _model()
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    (site, _) = graph.find(model)
    assert (site.path, site.status, site.rate) == ("mine", "convertible", "0.3")
    converted = kerasdrop.convert(model)
    mine = converted.get_layer("mine")
    assert type(mine) is KerasdropBlackout and mine.rate == pytest.approx(0.3)
    assert registry.kerasdrop_kind(mine) is blackout_kind
    assert type(converted.get_layer("stock")) is L.Dropout  # built-in kind
    _assert_same_outputs(converted, model, x)

    back = kerasdrop.convert(converted, to="keras")
    assert type(back.get_layer("mine")) is Blackout
    assert back.get_layer("mine").drop == pytest.approx(0.3)
    assert type(back.get_layer("stock")) is keras.layers.Dropout
    _assert_same_outputs(back, model, x)

    for source in (converted, back):
        stripped = kerasdrop.strip_dropout(source)
        assert type(stripped.get_layer("mine")) is keras.layers.Activation
        assert type(stripped.get_layer("stock")) is keras.layers.Identity
        assert graph.dropout_layers(stripped) == []
        _assert_same_outputs(stripped, model, x)


def test_a_kind_without_to_keras_or_stripped_keeps_the_defaults():
    kerasdrop.register_dropout(Blackout, _to_kerasdrop, rate="drop")
    try:
        converted = kerasdrop.convert(_model())
        # No target: the kerasdrop layer is stripped as kerasdrop's Dropout.
        stripped = kerasdrop.strip_dropout(converted)
        assert type(stripped.get_layer("mine")) is keras.layers.Identity
        # ... and has no way back of its own (KerasdropBlackout is no kind's).
        with pytest.raises(ValueError, match="'mine' .*no stock Keras equivalent"):
            kerasdrop.convert(converted, to="keras")
    finally:
        kerasdrop.unregister_dropout(Blackout)


def test_to_keras_is_for_the_exact_class_and_stripping_follows_bases():
    class Classic(L.Dropout):
        pass

    model = keras.Sequential(
        [keras.Input((3,)), Classic(0.25, scaling="classic", name="c")]
    )
    with pytest.raises(ValueError, match=r"'c' \(Classic, scaling=classic\)"):
        kerasdrop.convert(model, to="keras", copy=False)
    stripped = kerasdrop.strip_dropout(model)
    layer = stripped.get_layer("c")
    assert type(layer) is keras.layers.Rescaling
    assert layer.scale == pytest.approx(0.75)


def test_a_subclass_overriding_inference_is_not_stripped_silently():
    class Halving(L.Dropout):
        def inference(self, inputs):
            return inputs * 0.5

    model = keras.Sequential([keras.Input((3,)), Halving(0.1, name="h")])
    with pytest.raises(ValueError, match=r"'h' \(Halving\) overrides `inference"):
        kerasdrop.strip_dropout(model)


def test_a_kind_returning_the_wrong_thing_is_named(blackout_kind):
    model = kerasdrop.convert(_model())
    blackout_kind.to_keras = lambda layer: L.Dropout(0.1, name=layer.name)
    with pytest.raises(TypeError, match="argument `to_keras` .*KerasdropBlackout"):
        kerasdrop.convert(model, to="keras")
    blackout_kind.stripped = lambda layer: "nothing"
    with pytest.raises(TypeError, match="argument `stripped` .*KerasdropBlackout"):
        kerasdrop.strip_dropout(model)


# ----------------------------------------------------------------------------
# Registered paths the installed packages lack.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    ["keras.src.nope:Thing", "keras.src.layers:NoSuchDropoutLayer"],
)
def test_a_stale_registered_path_warns_once_naming_it(monkeypatch, path):
    monkeypatch.setitem(registry._BUILTIN, path, registry.Kind("rate", None))
    monkeypatch.setattr(registry, "_MISSING", set())
    with pytest.warns(UserWarning, match=f"'{path}'"):
        table = registry.kinds()
    assert keras.layers.Dropout in table  # the other kinds still work
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry.kinds()
        graph.find(_model())
    assert not [w for w in caught if path in str(w.message)]


def test_a_path_of_a_package_not_imported_is_silent(monkeypatch):
    path = "kerasdrop_no_such_package.layers:Drop"
    monkeypatch.setitem(registry._BUILTIN, path, registry.Kind("rate", None))
    monkeypatch.setattr(registry, "_MISSING", set())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        registry.kinds()
    assert registry._MISSING == set()


def test_the_built_in_paths_resolve_in_the_installed_packages():
    pytest.importorskip("keras_hub")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = registry.kinds()
    found = {f"{cls.__module__}:{cls.__name__}" for cls in table}
    paths = {key for key in registry._BUILTIN if isinstance(key, str)}
    assert paths <= found


# ----------------------------------------------------------------------------
# Bad registrations.
# ----------------------------------------------------------------------------
def _fn(*args):
    return None


BAD = [
    ({"cls": 3}, TypeError, "cls", "3"),
    ({"to_kerasdrop": "nope"}, TypeError, "to_kerasdrop", "'nope'"),
    ({"rate": 3}, TypeError, "rate", "3"),
    ({"rate": "not a name"}, TypeError, "rate", "'not a name'"),
    ({"to_keras": "back"}, TypeError, "to_keras", "'back' of type str"),
    ({"stripped": 5}, TypeError, "stripped", "5 of type int"),
    ({"target": "Dropout"}, TypeError, "target", "'Dropout' of type str"),
    ({"target": keras.layers.Dense}, TypeError, "target", "<class "),
    ({"to_keras": _fn}, ValueError, "target", "None"),
    ({"target": L.Dropout}, ValueError, "target", "<class "),
    ({"target": L.DropPath}, ValueError, "target", "<class "),
]


@pytest.mark.parametrize("kwargs, error, name, received", BAD)
def test_bad_registrations_name_the_argument_and_change_nothing(
    blackout_kind, kwargs, error, name, received
):
    args = {"cls": Blackout, "to_kerasdrop": _to_kerasdrop, "rate": "drop"}
    before = dict(registry._USER)
    with pytest.raises(error) as info:
        kerasdrop.register_dropout(**{**args, **kwargs})
    message = str(info.value)
    assert message.startswith(f"Invalid value received for argument `{name}`.")
    assert f"Received: {name}={received}" in message
    assert registry._USER == before
    assert registry._USER[Blackout] is blackout_kind


def test_a_target_belongs_to_one_kind(blackout_kind):
    class Other(keras.layers.Layer):
        pass

    with pytest.raises(ValueError, match="KerasdropBlackout is already"):
        kerasdrop.register_dropout(Other, _to_kerasdrop, target=KerasdropBlackout)
    assert Other not in registry._USER
    # Registering the same class again replaces its entry, target included.
    kerasdrop.register_dropout(
        Blackout, _to_kerasdrop, rate="drop", target=KerasdropBlackout
    )
    assert registry._USER[Blackout].to_keras is None
