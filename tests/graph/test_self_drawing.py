"""Layers that draw their own random numbers in `call` without declaring a
dropout rate: found by reading their class's source, listed unreachable,
warned about once by every caller."""

import warnings

import keras
import numpy as np
import pytest
from keras import random as krandom

import kerasdrop
from kerasdrop import graph
from kerasdrop import layers as L
from kerasdrop.graph import sites as sites_lib
from kerasdrop.inspection import dropout_summary, format_summary


def _mask(x, p, seed):
    return krandom.dropout(x, p, seed=seed)  # through an aliased module


@keras.saving.register_keras_serializable(package="test_self_drawing")
class Noisy(keras.layers.Layer):
    """Drops with `keras.random.dropout`, its rate under the name `p`."""

    def __init__(self, p=0.3, **kwargs):
        super().__init__(**kwargs)
        self.p = p
        self.seed_generator = keras.random.SeedGenerator(0)

    def call(self, x, training=False):
        if training:
            return keras.random.dropout(x, self.p, seed=self.seed_generator)
        return x

    def get_config(self):
        return {**super().get_config(), "p": self.p}


class Delegating(keras.layers.Layer):
    """Draws in a helper method, which calls a module function."""

    def call(self, x, training=False):
        raise RuntimeError("never run by the check")
        return self._noise(x)

    def _noise(self, x):
        return _mask(x, 0.1, None)


class Quiet(keras.layers.Layer):
    def call(self, x):
        return x * 2.0


def model_fn():
    inputs = keras.Input((4,))
    h = keras.layers.Dense(4)(inputs)
    h = Noisy(name="noisy")(h)
    h = L.Dropout(0.1, name="head_drop")(Quiet(name="quiet")(h))
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile("sgd", "mse")
    return model


X = np.ones((4, 4), "float32")
Y = np.zeros((4, 1), "float32")
REASON = "(?s)'noisy'.*its call draws random numbers \\(keras.random.dropout\\)"


def test_the_check_reads_calls_methods_and_functions_without_running_them():
    assert sites_lib.draws(Noisy) == ("keras.random.dropout",)
    assert sites_lib.draws(Delegating) == ("krandom.dropout",)
    assert sites_lib.draws(Quiet) == ()
    assert sites_lib.draws(Noisy) is sites_lib.draws(Noisy)  # cached per class
    # Keras' and kerasdrop's own layers are not read: noise layers are
    # registry kinds, augmentation is no dropout.
    for cls in (keras.layers.RandomFlip, keras.layers.GaussianNoise, L.Dropout):
        assert sites_lib.draws(cls) == ()


def test_a_class_without_source_is_not_flagged():
    scope = {"keras": keras}
    exec(  # no file to read the source from
        "class Hidden(keras.layers.Layer):\n"
        "    def call(self, x):\n"
        "        return keras.random.dropout(x, 0.5)\n",
        scope,
    )
    assert sites_lib.draws(scope["Hidden"]) == ()


def test_inspect_lists_it_unreachable_with_the_reason():
    model = model_fn()
    rows = {row["path"]: row for row in dropout_summary(model)}
    assert set(rows) == {"noisy", "head_drop"}  # not the quiet layer
    assert rows["noisy"]["reach"] == "no" and rows["noisy"]["rate"] == "unknown"
    assert "kerasdrop.register_dropout" in rows["noisy"]["why"]
    assert "NOT REACHED: 'noisy'" in format_summary(model)
    assert [s.path for s in graph.unreached(model)] == ["noisy"]


def _messages(record, who):
    return [str(w.message) for w in record if f"{who} does not reach" in str(w.message)]


def test_convert_mc_and_scheduler_warn_once_per_model():
    model = model_fn()
    with pytest.warns(UserWarning, match=REASON):
        kerasdrop.convert(model)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(2):
            kerasdrop.mc.predict(model, X, samples=2, verbose=0, task="regression")
            cb = kerasdrop.callbacks.DropoutScheduler(0.2)
            model.fit(X, Y, epochs=2, verbose=0, callbacks=[cb])
    for who in ("mc.predict", "DropoutScheduler"):
        found = _messages(record, who)
        assert len(found) == 1, (who, [str(w.message) for w in record])
        assert "keras.random.dropout" in found[0]
    assert model.get_layer("head_drop").rate == pytest.approx(0.2)


def test_registered_it_is_no_longer_unreachable():
    kerasdrop.register_dropout(
        Noisy, lambda layer, mc: L.Dropout(layer.p, name=layer.name, mc=mc), rate="p"
    )
    try:
        model = model_fn()
        [site] = [s for s in graph.find(model) if s.path == "noisy"]
        assert site.status == "convertible"
        assert graph.unreached(kerasdrop.convert(model)) == []
    finally:
        kerasdrop.unregister_dropout(Noisy)


@pytest.mark.tf_only
def test_export_mc_signature_warns(tmp_path):
    model = model_fn()
    match = "(?s)export \\(mc signature\\).*" + REASON[4:]
    with pytest.warns(UserWarning, match=match):
        kerasdrop.export(model, tmp_path / "m", mc_samples=2, sample_inputs=X)


def test_every_drawing_keras_hub_layer_is_a_kind_or_reviewed():
    """On a keras-hub upgrade, a new drawing layer is listed here: register
    it (dropout) or add it to `sites._NOT_DROPOUT` (no dropout)."""
    import importlib
    import pkgutil

    import keras_hub

    found = set()
    for info in pkgutil.walk_packages(keras_hub.__path__, prefix="keras_hub."):
        if "test" in info.name:
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception:  # an optional dependency keras-hub lacks here
            continue
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, keras.layers.Layer)
                and value.__module__ == module.__name__
                and sites_lib.draws(value)
            ):
                found.add(value)
    kinds = graph.kinds()
    assert [cls.__qualname__ for cls in found if cls not in kinds] == []
    assert len(found) >= 5  # the drop paths, read like a user's layer
