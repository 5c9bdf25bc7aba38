"""Concrete Dropout: the regularizer, learning p, the reference toy trend."""

import logging
import math
import pathlib

import keras
import numpy as np
import pytest
from keras import ops

import kerasdrop
from kerasdrop import callbacks as C
from kerasdrop import layers as L
from kerasdrop.layers import (
    ConcreteDropout,
    SpatialConcreteDropout,
    concrete_regularizers,
)
from helpers import to_numpy


def to_np(x):
    return np.asarray(to_numpy(ops.convert_to_numpy(x)))


def test_regularizer_matches_hand_computation():
    wr, dr, p = 1e-2, 1e-3, 0.2
    layer = ConcreteDropout(
        keras.layers.Dense(3),
        weight_regularizer=wr,
        dropout_regularizer=dr,
        init_rate=p,
    )
    x = np.ones((4, 5), "float32")
    layer(x)  # build
    kernel = np.arange(15, dtype="float32").reshape(5, 3) / 10.0
    layer.layer.kernel.assign(kernel)
    layer.rate = p
    layer(x, training=True)
    expected = wr * (kernel**2).sum() / (1 - p) + dr * 5 * (
        p * math.log(p) + (1 - p) * math.log(1 - p)
    )
    assert len(layer.losses) == 1
    assert float(to_np(layer.losses[0])) == pytest.approx(expected, rel=1e-5)
    assert layer.rate == pytest.approx(p, rel=1e-6)


def test_spatial_regularizer_uses_channels_and_mask_is_per_channel():
    channels = 3
    conv = keras.layers.Conv2D(channels, 1, use_bias=False)
    layer = SpatialConcreteDropout(
        conv,
        weight_regularizer=0.0,
        dropout_regularizer=1.0,
        temperature=0.05,
        init_rate=0.4,
        seed=1,
    )
    x = (
        np.random.default_rng(0)
        .uniform(1, 2, size=(16, 5, 5, channels))
        .astype("float32")
    )
    layer(x)
    conv.kernel.assign(
        np.eye(channels, dtype="float32").reshape(1, 1, channels, channels)
    )
    y = to_np(layer(x, training=True))
    ratio = y / x
    # One factor per (example, channel), shared over the spatial positions.
    np.testing.assert_allclose(
        to_numpy(ratio), ratio[:, :1, :1, :] * np.ones_like(ratio), rtol=1e-4
    )
    p = 0.4
    expected = channels * (p * math.log(p) + (1 - p) * math.log(1 - p))
    assert float(to_np(layer.losses[-1])) == pytest.approx(expected, rel=1e-5)
    assert layer.temperature == pytest.approx(0.05)
    assert SpatialConcreteDropout(
        keras.layers.Conv1D(2, 1)
    ).temperature == pytest.approx(2 / 3)
    # The channel axis comes from `data_format`, not from the wrapped layer:
    # a Dense on the last axis (TF on CPU has no channels_first Conv2D).
    cf = SpatialConcreteDropout(
        keras.layers.Dense(2),
        data_format="channels_first",
        dropout_regularizer=1.0,
        weight_regularizer=0.0,
        init_rate=0.4,
    )
    cf(np.ones((2, 7, 4, 4), "float32"))
    assert float(to_np(cf.losses[-1])) == pytest.approx(
        7 * (p * math.log(p) + (1 - p) * math.log(1 - p)), rel=1e-5
    )


def test_inference_is_the_wrapped_layer_and_training_drops():
    layer = ConcreteDropout(keras.layers.Dense(4), init_rate=0.5, seed=0)
    x = np.random.default_rng(1).normal(size=(64, 6)).astype("float32")
    np.testing.assert_allclose(
        to_numpy(to_np(layer(x))), to_numpy(to_np(layer.layer(x))), rtol=1e-6
    )
    assert not np.allclose(
        to_numpy(to_np(layer(x, training=True))), to_numpy(to_np(layer.layer(x)))
    )


def relaxed_mask(p, seed=0, features=400):
    """(1 - z) / (1 - p) for an input of ones: wrap an identity Dense."""
    dense = keras.layers.Dense(features, use_bias=False)
    probe = ConcreteDropout(dense, init_rate=p, temperature=0.01, seed=seed)
    ones = np.ones((1000, features), "float32")
    probe(ones)
    dense.kernel.assign(np.eye(features, dtype="float32"))
    return to_np(probe(ones, training=True))


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_relaxed_mask_statistics(p):
    x = relaxed_mask(p)  # (1 - z) / (1 - p) for an input of ones
    n = x.size
    dropped = (x < 0.5 / (1 - p)).mean()
    assert abs(dropped - p) <= 5 * math.sqrt(p * (1 - p) / n) + 0.01
    assert abs(x.mean() - 1) < 0.02


def regression_data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1)).astype("float32")
    y = (2 * x + 8 + rng.normal(size=(n, 1))).astype("float32")
    return x, y


def toy_model(n, width=64, init_rate=0.1, wr=None, dr=None, lr=1e-3):
    if wr is None:
        wr, dr = concrete_regularizers(n, length_scale=1e-4)
    wrap = lambda units, name, activation=None: ConcreteDropout(  # noqa: E731
        keras.layers.Dense(units, activation=activation),
        weight_regularizer=wr,
        dropout_regularizer=dr,
        init_rate=init_rate,
        name=name,
    )
    inputs = keras.Input((1,))
    h = wrap(width, "cd_in", "relu")(inputs)
    h = wrap(width, "cd_h1", "relu")(h)
    h = wrap(width, "cd_h2", "relu")(h)
    mean = wrap(1, "cd_mean")(h)
    log_var = wrap(1, "cd_logvar")(h)
    model = keras.Model(inputs, keras.layers.Concatenate()([mean, log_var]))

    def heteroscedastic(y_true, y_pred):
        mu, lv = y_pred[:, :1], y_pred[:, 1:]
        return ops.mean(0.5 * ops.exp(-lv) * ops.square(y_true - mu) + 0.5 * lv)

    model.compile(keras.optimizers.Adam(lr), heteroscedastic)
    return model


def test_p_receives_gradients_and_moves_in_compiled_fit():
    keras.utils.set_random_seed(0)
    model = toy_model(20, lr=1e-2)
    x, y = regression_data(20)
    before = {layer.name: layer.rate for layer in kerasdrop.graph.dropout_layers(model)}
    model.fit(x, y, batch_size=20, epochs=30, verbose=0)
    after = {layer.name: layer.rate for layer in kerasdrop.graph.dropout_layers(model)}
    # Every p moves; the hidden ones (K = 64 inputs) clearly. The input
    # layer (K = 1) moves slowly, as in the reference (p_in stays ~0.07).
    assert all(abs(after[k] - before[k]) > 1e-4 for k in before), (before, after)
    assert all(abs(after[k] - before[k]) > 1e-2 for k in ("cd_h1", "cd_h2")), (
        before,
        after,
    )


def test_regularizer_reaches_the_fit_objective():
    """A loss blind to the output: only the regularizer can move p.

    Its entropy term pulls p towards 0.5 (the failure of the TF2 ports,
    yaringal/ConcreteDropout#13, was that p never moved this way).
    """
    keras.utils.set_random_seed(0)
    layer = ConcreteDropout(
        keras.layers.Dense(4),
        weight_regularizer=0.0,
        dropout_regularizer=1.0,
        init_rate=0.1,
    )
    model = keras.Sequential([keras.Input((8,)), layer])
    model.compile(
        keras.optimizers.SGD(0.1), lambda y_true, y_pred: 0.0 * ops.sum(y_pred)
    )
    model.fit(
        np.ones((32, 8), "float32"), np.zeros((32, 4), "float32"), epochs=5, verbose=0
    )
    assert 0.2 < layer.rate <= 0.5, layer.rate


@pytest.mark.parametrize("init_rate", [1e-5, 0.01, 0.5, 0.99, 1 - 1e-5])
def test_no_nan_from_any_init(init_rate):
    keras.utils.set_random_seed(0)
    model = toy_model(20, width=16, init_rate=init_rate)
    x, y = regression_data(20)
    history = model.fit(x, y, batch_size=10, epochs=3, verbose=0)
    assert np.isfinite(to_numpy(history.history["loss"])).all()
    for layer in kerasdrop.graph.dropout_layers(model):
        assert 0 < layer.rate < 1 and math.isfinite(layer.rate)


@pytest.mark.parametrize("wr, dr", [(1e3, 1e3), (1e-12, 1e-12), (0.0, 0.0), (1e6, 0.0)])
def test_no_nan_for_extreme_regularizers(wr, dr):
    keras.utils.set_random_seed(0)
    model = toy_model(20, width=16, wr=wr, dr=dr)
    x, y = regression_data(20)
    history = model.fit(x, y, batch_size=10, epochs=3, verbose=0)
    assert np.isfinite(to_numpy(history.history["loss"])).all()
    assert all(
        math.isfinite(layer.rate) for layer in kerasdrop.graph.dropout_layers(model)
    )


def test_toy_experiment_trend_hidden_p_falls_with_more_data():
    """Shortened, seeded version of benchmarks/concrete_toy.py."""
    rates = {}
    # N = 10: the 10 points tiled 20x per epoch (same 400 steps of batch 20,
    # same N in the regularizers, a tenth of the per-epoch overhead).
    for n, tile, epochs in ((10, 20, 40), (2000, 1, 8)):
        keras.utils.set_random_seed(0)
        model = toy_model(n, width=64)
        x, y = regression_data(n)
        x, y = np.tile(x, (tile, 1)), np.tile(y, (tile, 1))
        model.fit(x, y, batch_size=20, epochs=epochs, verbose=0)
        rates[n] = np.mean([model.get_layer(name).rate for name in ("cd_h1", "cd_h2")])
    assert rates[2000] < 0.75 * rates[10], rates


def test_mixed_precision_keeps_p_logit_float32():
    keras.config.set_dtype_policy("mixed_float16")
    layer = ConcreteDropout(keras.layers.Dense(4), init_rate=0.2)
    y = layer(np.ones((3, 5), "float32"), training=True)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    assert layer.p_logit.dtype == "float32"
    assert np.isfinite(to_numpy(to_np(ops.cast(y, "float32")))).all()
    model = keras.Sequential(
        [keras.Input((5,)), layer, keras.layers.Dense(1, dtype="float32")]
    )
    model.compile("adam", "mse")
    history = model.fit(np.ones((16, 5)), np.ones((16, 1)), epochs=2, verbose=0)
    assert np.isfinite(to_numpy(history.history["loss"])).all()


def test_keras_round_trip_keeps_learned_p(tmp_path):
    keras.utils.set_random_seed(0)
    model = toy_model(20, width=8)
    x, y = regression_data(20)
    model.fit(x, y, batch_size=20, epochs=20, verbose=0)
    path = tmp_path / "concrete.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    for name in ("cd_in", "cd_h1", "cd_mean"):
        assert loaded.get_layer(name).rate == pytest.approx(
            model.get_layer(name).rate, rel=1e-6
        )
    np.testing.assert_allclose(
        to_numpy(loaded.predict(x, verbose=0)),
        to_numpy(model.predict(x, verbose=0)),
        rtol=1e-5,
    )
    config = model.get_layer("cd_h1").get_config()
    clone = ConcreteDropout.from_config(config)
    assert clone.get_config() == config


def test_logger_logs_learned_rates_and_scheduler_leaves_them_alone():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((1,))
    h = L.Dropout(0.2, name="plain")(inputs)
    h = ConcreteDropout(keras.layers.Dense(8), name="learned")(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile("adam", "mse")
    x, y = regression_data(20)
    history = model.fit(
        x,
        y,
        epochs=2,
        verbose=0,
        callbacks=[C.DropoutLogger(), C.DropoutScheduler(lambda epoch, rate: 0.3)],
    )
    assert len(history.history["dropout/learned"]) == 2
    assert history.history["dropout/plain"] == pytest.approx([0.3, 0.3])
    assert model.get_layer("learned").rate != pytest.approx(0.3)
    with pytest.raises(ValueError, match="learn their rate"):
        model.fit(
            x,
            y,
            epochs=1,
            verbose=0,
            callbacks=[C.DropoutScheduler(lambda e, r: 0.3, layers="learned")],
        )


def test_concrete_regularizers_helper():
    assert concrete_regularizers(1000) == pytest.approx((1e-11, 2e-3))
    assert concrete_regularizers(
        100, length_scale=0.1, precision=2.0, loss="cross_entropy"
    ) == pytest.approx((0.01 / 200, 1 / 200))
    with pytest.raises(ValueError, match="n_samples=0"):
        concrete_regularizers(0)
    with pytest.raises(TypeError, match="n_samples=10.5"):
        concrete_regularizers(10.5)
    with pytest.raises(ValueError, match="precision=-1"):
        concrete_regularizers(10, precision=-1)
    with pytest.raises(ValueError, match="loss='mse'"):
        concrete_regularizers(10, loss="mse")


def test_bad_inputs():
    with pytest.raises(ValueError, match="Expected a layer with a `kernel`"):
        keras.Sequential(
            [keras.Input((4,)), ConcreteDropout(keras.layers.Activation("relu"))]
        )
    with pytest.raises(TypeError, match="argument `layer`"):
        ConcreteDropout("dense")
    for t in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="argument `temperature`"):
            ConcreteDropout(keras.layers.Dense(2), temperature=t)
    for r in (0.0, 1.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=f"init_rate={r!r}"):
            ConcreteDropout(keras.layers.Dense(2), init_rate=r)
    with pytest.raises(ValueError, match="weight_regularizer=-1e-06"):
        ConcreteDropout(keras.layers.Dense(2), weight_regularizer=-1e-6)
    with pytest.raises(ValueError, match="dropout_regularizer=-1"):
        ConcreteDropout(keras.layers.Dense(2), dropout_regularizer=-1)
    with pytest.raises(ValueError, match="data_format"):
        ConcreteDropout(keras.layers.Dense(2), data_format="channels_last")
    with pytest.raises(ValueError, match="Expected rank 3, 4 or 5"):
        SpatialConcreteDropout(keras.layers.Dense(2))(np.ones((2, 3), "float32"))
    layer = ConcreteDropout(keras.layers.Dense(2))
    with pytest.raises(ValueError, match="rate=1.0"):
        layer.rate = 1.0
    assert layer.rate == pytest.approx(0.1)


DATA = pathlib.Path(__file__).resolve().parents[1] / "data"


def test_loads_a_keras_file_written_by_0_1_0(recwarn, caplog, capsys):
    """kerasdrop 0.1.0 saved (p_logit, rate, step) per Concrete layer; the
    layer now owns p_logit only and loads the old file without a warning,
    with the same outputs, learned rates and regularizers
    (tests/data/make_concrete_0_1_0.py wrote it)."""
    caplog.set_level(logging.DEBUG)
    model = keras.saving.load_model(DATA / "concrete_0_1_0.keras", compile=False)
    # (NumPy 2.4 warns of its own deprecation on every torch tensor it
    # converts: torch's __array__ takes no `copy`; not a warning of the load.)
    shown = [w for w in recwarn if not issubclass(w.category, DeprecationWarning)]
    assert [str(w.message) for w in shown] == []
    assert [
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
    ] == []
    out, err = capsys.readouterr()
    assert "skip" not in (out + err).lower() and "mismatch" not in (out + err).lower()
    expected = np.load(DATA / "concrete_0_1_0.npz")
    rng = np.random.default_rng(14)  # the generator's fixed input
    x = [
        rng.normal(size=(3, 4)).astype("float32"),
        rng.normal(size=(3, 5, 5, 2)).astype("float32"),
    ]
    dense_out, conv_out = (to_np(y) for y in model(x, training=False))
    np.testing.assert_allclose(
        to_numpy(dense_out), to_numpy(expected["dense_out"]), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        to_numpy(conv_out), to_numpy(expected["conv_out"]), rtol=1e-5, atol=1e-6
    )
    for name, shape in (("concrete", (3, 4)), ("spatial_concrete", (3, 5, 5, 2))):
        layer = model.get_layer(name)
        assert layer.rate == pytest.approx(float(expected[f"{name}_rate"]), rel=1e-6)
        assert float(to_np(layer.regularization(shape))) == pytest.approx(
            float(expected[f"{name}_loss"]), rel=1e-5
        )
        assert [v.name for v in layer.weights[:1]] == ["p_logit"]
        assert layer.rate_variable is None and layer.step == 0
    assert model.get_layer("spatial_concrete").data_format == "channels_last"


def test_own_variables_are_p_logit_only(tmp_path):
    """No rate or step variable: the learned rate is read through
    `DropoutBase.rate` and saved as p_logit alone."""
    layer = ConcreteDropout(keras.layers.Dense(2), init_rate=0.3, name="cd")
    model = keras.Sequential([keras.Input((3,)), layer])
    assert [
        v.name for v in layer._trainable_variables + layer._non_trainable_variables
    ] == ["p_logit"]
    assert layer.rate == pytest.approx(0.3) and layer.rate_variable is None
    assert layer.step == 0
    with pytest.raises(ValueError, match="argument `step`.*no step.*Received: step=3"):
        layer.step = 3
    layer.rate = 0.4
    path = tmp_path / "cd.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("cd").rate == pytest.approx(0.4, rel=1e-6)
