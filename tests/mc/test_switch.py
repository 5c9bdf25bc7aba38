"""The sampling switch: `mc.sampling`, MC layers (`mc=True`), `convert`."""

import threading

import keras
import numpy as np
import pytest
from mc_models import bn_model, data, identity_model

import kerasdrop
from kerasdrop import layers as L
from kerasdrop import mc
from helpers import to_numpy


def bn_state(model):
    bn = model.get_layer("bn")
    return [np.array(to_numpy(v)) for v in (bn.moving_mean, bn.moving_variance)]


def test_sampling_activates_dropout_only_and_leaves_batchnorm_alone():
    x = data()
    model = bn_model(rate=0.0)
    before = bn_state(model)
    reference = np.array(to_numpy(model(x, training=False)))
    # Rate 0 under sampling: exactly the inference output (BN uses its
    # moving statistics), while training=True would use batch statistics.
    with mc.sampling(model):
        np.testing.assert_array_equal(np.array(to_numpy(model(x))), to_numpy(reference))
    assert not np.allclose(
        np.array(to_numpy(model(x, training=True))), to_numpy(reference)
    )
    # Rate 0.5: dropout really drops, BN statistics never move.
    model = bn_model(rate=0.5)
    before = bn_state(model)
    reference = np.array(to_numpy(model(x, training=False)))
    result = mc.predict(model, x, samples=30, seed=0, return_samples=True)
    assert result.samples.shape == (30, 40, 1)
    assert np.all(result.samples.std(axis=0) > 0)
    with mc.sampling(model):
        draws = [np.array(to_numpy(model.predict(x, verbose=0))) for _ in range(2)]
    assert not np.allclose(to_numpy(draws[0]), to_numpy(draws[1]))
    for a, b in zip(before, bn_state(model)):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    # Outside the block: deterministic again, also through model.predict.
    after = [model.predict(x, verbose=0) for _ in range(2)]
    np.testing.assert_array_equal(to_numpy(after[0]), to_numpy(after[1]))
    np.testing.assert_allclose(to_numpy(after[0]), to_numpy(reference), atol=1e-6)
    np.testing.assert_array_equal(np.array(to_numpy(model(x))), to_numpy(reference))


def test_sampling_switches_only_the_models_passed():
    x = np.ones((16, 8), "float32")
    a, b, late = (identity_model(n, seed=i) for i, n in enumerate("abc"))
    np.testing.assert_array_equal(
        to_numpy(b.predict(x, verbose=0)), to_numpy(x)
    )  # traced before
    with mc.sampling(a):
        inside_a = [a.predict(x, verbose=0) for _ in range(2)]
        # b's function traced before the block and late's traced inside it:
        # neither samples, neither stays random afterwards.
        np.testing.assert_array_equal(to_numpy(b.predict(x, verbose=0)), to_numpy(x))
        np.testing.assert_array_equal(to_numpy(late.predict(x, verbose=0)), to_numpy(x))
        np.testing.assert_array_equal(np.asarray(to_numpy(b(x))), to_numpy(x))
        assert not np.array_equal(np.asarray(to_numpy(a(x))), to_numpy(x))
    assert not np.array_equal(to_numpy(inside_a[0]), to_numpy(x))
    assert not np.array_equal(to_numpy(inside_a[0]), to_numpy(inside_a[1]))
    for model in (a, b, late):
        np.testing.assert_array_equal(
            to_numpy(model.predict(x, verbose=0)), to_numpy(x)
        )
        np.testing.assert_array_equal(np.asarray(to_numpy(model(x))), to_numpy(x))


def test_evaluate_samples_inside_the_block_only():
    x = np.ones((16, 8), "float32")
    model = identity_model("m")
    model.compile(loss="mse")
    assert model.evaluate(x, x, verbose=0) == 0.0  # traced before the block
    with mc.sampling(model):
        assert model.evaluate(x, x, verbose=0) > 0.0
    assert model.evaluate(x, x, verbose=0) == 0.0


def test_sampling_is_per_thread():
    # Keras' JAX `predict` frees the model's variables while it runs: there,
    # no other thread may call the model meanwhile (kerasdrop or not).
    concurrent_predict = keras.backend.backend() != "jax"
    x = np.ones((16, 8), "float32")
    model = identity_model("shared")
    step, done = threading.Barrier(2, timeout=60), threading.Event()
    draws, errors = [], []

    def calls(outputs):
        outputs.append(np.asarray(to_numpy(model(x))))
        if concurrent_predict:
            outputs.append(model.predict(x, verbose=0))

    def sample():  # thread 1: inside the block, calling the model repeatedly
        try:
            with mc.sampling(model):
                draws.append(model.predict(x, verbose=0))
                step.wait()  # thread 2 predicts, outside the block
                step.wait()
                draws.append(model.predict(x, verbose=0))
                step.wait()  # both call the model at the same time
                while not done.is_set():
                    calls(draws)
        except Exception as err:  # shown by the main thread
            errors.append(err)
            step.abort()

    thread = threading.Thread(target=sample)
    thread.start()
    outside = []
    try:  # thread 2 (this one), outside the block while thread 1 is inside
        step.wait()
        outside += [model.predict(x, verbose=0), np.asarray(to_numpy(model(x)))]
        step.wait()
        step.wait()
        for _ in range(3):
            calls(outside)
        still_inside = thread.is_alive()
    except threading.BrokenBarrierError:
        assert not errors, errors
        raise
    finally:
        done.set()
        thread.join(60)
    assert not errors, errors
    assert still_inside
    for output in outside:
        np.testing.assert_array_equal(to_numpy(output), to_numpy(x))
    assert len(draws) > 2
    assert all(not np.array_equal(to_numpy(draw), to_numpy(x)) for draw in draws)


def test_mc_layer_is_always_on_and_round_trips():
    x = data()
    layer = L.Dropout(0.4, mc=True, seed=3)
    model = keras.Sequential([keras.Input((6,)), layer])
    a, b = model.predict(x, verbose=0), model.predict(x, verbose=0)
    assert not np.array_equal(to_numpy(a), to_numpy(b))
    zero = (a == 0).mean()
    assert abs(zero - 0.4) < 5 * np.sqrt(0.4 * 0.6 / a.size)
    clone = L.Dropout.from_config(layer.get_config())
    assert clone.mc is True and layer.get_config()["mc"] is True
    mc.disable(model)
    np.testing.assert_array_equal(to_numpy(model.predict(x, verbose=0)), to_numpy(x))
    assert [lay.mc for lay in mc.enable(model)] == [True]
    assert not np.array_equal(to_numpy(model.predict(x, verbose=0)), to_numpy(x))


def test_every_kind_samples_under_the_switch():
    x = np.ones((4, 5, 5, 3), "float32")
    for layer in (
        L.Dropout(0.5),
        L.SpatialDropout2D(0.5),
        L.GaussianDropout(0.5),
        L.DropPath(0.5),
        L.ConcreteDropout(keras.layers.Dense(3), init_rate=0.3),
    ):
        deterministic = np.array(to_numpy(layer(x)))
        with mc.sampling(layer):
            sampled = np.array(to_numpy(layer(x)))
        assert not np.allclose(to_numpy(sampled), to_numpy(deterministic)), type(
            layer
        ).__name__
        np.testing.assert_array_equal(
            np.array(to_numpy(layer(x))), to_numpy(deterministic)
        )


def test_convert_gives_stock_models_mc():
    stock = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8), keras.layers.Dropout(0.3)]
    )
    with pytest.raises(ValueError, match="kerasdrop.convert"):
        mc.predict(stock, data(), samples=5)
    converted = kerasdrop.convert(stock)
    assert mc.predict(converted, data(), samples=20).variance.max() > 0
    always = kerasdrop.convert(stock, mc=True)
    assert all(layer.mc for layer in kerasdrop.graph.dropout_layers(always))
    with pytest.raises(ValueError, match="mc"):
        kerasdrop.convert(stock, to="keras", mc=True)


@pytest.mark.parametrize(
    "model, error, match",
    [
        (None, TypeError, "model=None"),
        ("m", TypeError, "model='m'"),
        ({"a": 1}, TypeError, "of type dict"),
        ([], ValueError, r"model=\[\]"),
        ("plain", ValueError, "no kerasdrop dropout layer"),
        ("dense", ValueError, "no kerasdrop dropout layer"),
        ("mixed", TypeError, "of type list"),
        ("missing", TypeError, "model=None"),
    ],
)
def test_sampling_needs_models_with_kerasdrop_layers(model, error, match):
    plain = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2)])
    arguments = (
        {
            "plain": (plain,),
            "dense": (keras.layers.Dense(2),),
            "mixed": ([identity_model("ok"), "x"],),
            "missing": (),
        }.get(model, (model,))
        if isinstance(model, str)
        else (model,)
    )
    with pytest.raises(error, match=f"argument `model`.*{match}"):
        with mc.sampling(*arguments):
            pass
    assert not kerasdrop.layers.base.mc_sampling_active()
