"""`mc.predict`'s argument and input checks: each error names the argument."""

import keras
import numpy as np
import pytest
from mc_models import bn_model, data

from kerasdrop import layers as L
from kerasdrop import mc


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"samples": 0}, ValueError, "samples=0"),
        ({"samples": -3}, ValueError, "samples=-3"),
        ({"samples": 2.5}, TypeError, "samples=2.5"),
        ({"samples": True}, TypeError, "samples=True"),
        ({"batch_size": 0}, ValueError, "batch_size=0"),
        ({"seed": "a"}, TypeError, "seed='a'"),
        ({"task": "ranking"}, ValueError, "task='ranking'"),
        ({"return_samples": 1}, TypeError, "return_samples=1"),
        ({"memory_budget": 0}, ValueError, "memory_budget=0"),
        ({"verbose": 2}, ValueError, "verbose=2"),
        ({"samples": None}, TypeError, "samples=None"),
        ({"samples": np.float64(3.0)}, TypeError, "samples=np.float64"),
        ({"batch_size": True}, TypeError, "batch_size=True"),
        ({"seed": -1}, ValueError, "seed=-1"),
        ({"reuse_prefix": None}, TypeError, "reuse_prefix=None"),
        ({"task": None}, TypeError, "task=None"),
        ({"task": 5}, TypeError, "task=5"),
        ({"verbose": True}, TypeError, "verbose=True"),
        ({"verbose": 1.0}, TypeError, "verbose=1.0"),
        ({"verbose": None}, TypeError, "verbose=None"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    model = bn_model()
    with pytest.raises(error, match=match):
        mc.predict(model, data(), **{"samples": 5, **kwargs})


def test_bad_inputs():
    model = bn_model()
    with pytest.raises(ValueError, match=r"shape \(6,\).*\(5,\)"):
        mc.predict(model, data()[:, :5], samples=5)
    x = data()
    x[3, 2] = np.nan
    with pytest.raises(ValueError, match="finite"):
        mc.predict(model, x, samples=5)
    with pytest.raises(ValueError, match="0 rows"):
        mc.predict(model, data()[:0], samples=5)
    plain = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no kerasdrop dropout layer"):
        mc.predict(plain, data(), samples=5)
    with pytest.raises(TypeError, match="model="):
        mc.predict("model", data(), samples=5)
    with pytest.raises(TypeError, match="mc="):
        L.Dropout(0.2, mc="yes")
    with pytest.raises(ValueError, match="no kerasdrop dropout layer"):
        mc.enable(plain)
    with pytest.raises(TypeError, match="model='m'"):
        mc.infer_task("m")


def _generator():
    yield data()


@pytest.mark.parametrize(
    "x, error, match",
    [
        (None, TypeError, "x=None of type NoneType"),
        ("abc", TypeError, "x='abc'"),
        (5, TypeError, "x=5"),
        (_generator(), TypeError, "from_generator.*of type generator"),
        (iter([data()]), TypeError, "of type list_iterator"),
        (data().tolist(), TypeError, "of type list"),
        ([], TypeError, r"x=\[\]"),
        ({1, 2}, TypeError, "of type set"),
        (np.float32(1.0), ValueError, "0-d array"),
        ([data(n=4), data(n=3)], ValueError, r"\[3, 4\] rows"),
        (np.full((4, 6), "a"), TypeError, "numeric arrays.*dtype <U1"),
        (data().astype("complex64"), TypeError, "dtype complex64"),
        ({"zz": data()}, ValueError, r"keys \[.*\].*Received: x with keys \['zz'\]"),
    ],
    ids=lambda value: type(value).__name__,
)
def test_unsupported_x_is_named(x, error, match):
    model = bn_model()
    with pytest.raises(error, match=f"(?s)argument `x`.*{match}"):
        mc.predict(model, x, samples=2)


def test_dict_inputs_are_matched_by_name():
    a, b = keras.Input((3,), name="zeta"), keras.Input((2,), name="alpha")
    h = L.Dropout(0.5)(keras.layers.Concatenate()([a, b]))
    model = keras.Model({"zeta": a, "alpha": b}, keras.layers.Dense(1)(h))
    x = {"zeta": data(n=4)[:, :3], "alpha": data(n=4)[:, :2]}
    assert mc.predict(model, x, samples=2).mean.shape == (4, 1)
    with pytest.raises(ValueError, match=r"'alpha'.*Received: x with keys \['zeta'\]"):
        mc.predict(model, {"zeta": x["zeta"]}, samples=2)


def test_multi_output_and_empty_dataset_are_refused():
    tf = pytest.importorskip("tensorflow")
    inputs = keras.Input((6,))
    h = L.Dropout(0.2)(keras.layers.Dense(4)(inputs))
    two = keras.Model(inputs, [keras.layers.Dense(1)(h), keras.layers.Dense(2)(h)])
    with pytest.raises(ValueError, match="one output.*2 outputs"):
        mc.predict(two, data(), samples=3)
    one = keras.Model(inputs, keras.layers.Dense(1)(h))
    empty = tf.data.Dataset.from_tensor_slices(data()[:0]).batch(4)
    with pytest.raises(ValueError, match="no batches"):
        mc.predict(one, empty, samples=3)
