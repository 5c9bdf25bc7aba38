"""`skip_compute`: residual blocks `x + drop_path(f(x))` become `SkipResidual`."""

import warnings

import keras
import numpy as np
import pytest

import kerasdrop
from kerasdrop import _keras
from kerasdrop.graph import Unfit, skip_compute
from kerasdrop.layers import DropPath, SkipResidual
from helpers import assert_bad_input, to_numpy

DATA = np.random.default_rng(0).normal(size=(16, 8)).astype("float32")


def _dense(name, units=8):
    return keras.layers.Dense(units, activation="relu", name=name)


def _mlp():
    """Four blocks: `+` and `Add`, the drop path first and second."""
    x = keras.Input((8,), name="x")
    h = keras.layers.Dense(8, name="stem")(x)
    h = h + DropPath(0.1, name="dp_plus")(_dense("f_plus")(h))
    h = DropPath(0.2, seed=3, name="dp_plus_first")(_dense("f_first")(h)) + h
    h = keras.layers.Add(name="sum")(
        [h, DropPath(0.3, scale_by_keep=False, name="dp_add")(_dense("f_add")(h))]
    )
    two = _dense("f_two_b")(_dense("f_two_a")(h))
    h = keras.layers.Add(name="sum_first")([DropPath(0.4, name="dp_add_first")(two), h])
    return keras.Model(x, keras.layers.Dense(2, name="head")(h), name="mlp")


def _cnn():
    x = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(4, 3, padding="same", name="stem")(x)
    for i, rate in enumerate((0.2, 0.5)):
        f = keras.layers.Conv2D(4, 3, padding="same", name=f"conv_{i}")(h)
        f = keras.layers.BatchNormalization(name=f"bn_{i}")(f)
        h = h + DropPath(rate, name=f"dp_{i}")(keras.layers.ReLU()(f))
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(x, keras.layers.Dense(3, name="head")(h), name="cnn")


def _same_outputs(model, new, data):
    """Bit-identical eager calls and `predict` outputs."""
    assert np.array_equal(to_numpy(model(data)), to_numpy(new(data)))
    expected = model.predict(data, verbose=0)
    assert np.array_equal(expected, new.predict(data, verbose=0))


def _skips(model):
    layers = model.layers
    return {layer.name: layer for layer in layers if isinstance(layer, SkipResidual)}


def test_mlp_blocks_in_both_orders_become_skip_residuals():
    model = _mlp()
    layers = list(model.layers)
    new, unfit = skip_compute(model, return_unfit=True)
    assert unfit == []
    assert model.layers == layers  # the original is left as it was
    skips = _skips(new)
    assert sorted(skips) == ["dp_add", "dp_add_first", "dp_plus", "dp_plus_first"]
    rates = {name: round(layer.rate, 6) for name, layer in skips.items()}
    assert rates == {
        "dp_plus": 0.1,
        "dp_plus_first": 0.2,
        "dp_add": 0.3,
        "dp_add_first": 0.4,
    }
    assert not skips["dp_add"].scale_by_keep and skips["dp_plus"].scale_by_keep
    assert skips["dp_plus_first"].seed == 3
    branch = skips["dp_add_first"].branch
    assert [layer.name for layer in branch.layers[1:]] == ["f_two_a", "f_two_b"]
    assert branch.get_layer("f_two_b") is model.get_layer("f_two_b")  # same weights
    assert not any(isinstance(layer, DropPath) for layer in new.layers)
    assert new.name == model.name
    _same_outputs(model, new, DATA)


def test_cnn_with_batch_norm_rewritten_bit_identical_and_trains():
    model = _cnn()
    new = skip_compute(model)
    assert sorted(_skips(new)) == ["dp_0", "dp_1"]
    images = np.random.default_rng(1).normal(size=(8, 8, 8, 3)).astype("float32")
    _same_outputs(model, new, images)
    labels = np.arange(8) % 3
    new.compile("adam", "sparse_categorical_crossentropy")
    before = to_numpy(model.get_layer("head").kernel)
    history = new.fit(images, labels, epochs=2, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    # The weights are shared: training the new model trains the original's.
    assert not np.array_equal(before, to_numpy(model.get_layer("head").kernel))


def test_mlp_trains_with_fit():
    new = skip_compute(_mlp())
    new.compile("sgd", "mse")
    history = new.fit(DATA, DATA[:, :2], epochs=3, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def _block_reading_another_tensor():
    x = keras.Input((8,))
    h = keras.layers.Dense(8, name="h")(x)
    other = keras.layers.Dense(8, name="other")(x)
    f = keras.layers.Add(name="mix")([_dense("f")(h), other])
    y = h + DropPath(0.3, name="dp_reads")(f)
    ok = y + DropPath(0.1, name="dp_ok")(_dense("g")(y))
    return keras.Model(x, ok)


def test_branch_reading_another_tensor_is_unfit_with_the_reason():
    model = _block_reading_another_tensor()
    new, unfit = skip_compute(model, return_unfit=True)
    assert [u.name for u in unfit] == ["dp_reads"]
    assert "reads the output of 'other'" in unfit[0].reason
    assert isinstance(unfit[0], Unfit)
    assert sorted(_skips(new)) == ["dp_ok"]
    assert isinstance(new.get_layer("dp_reads"), DropPath)  # left as it was
    _same_outputs(model, new, DATA)
    with pytest.warns(UserWarning, match=r"'dp_reads': its branch reads"):
        skip_compute(model)


def _unfit_models():
    """(model, the expected reason fragment) for blocks that do not fit."""
    x = keras.Input((8,))
    f = _dense("f")(x)
    leak = keras.Model(x, [x + DropPath(0.1, name="dp")(f), f])
    x = keras.Input((8,))
    concat = keras.Model(
        x, keras.layers.Concatenate()([x, DropPath(0.1, name="dp")(_dense("f")(x))])
    )
    x = keras.Input((8,))
    wide = keras.Model(x, x + DropPath(0.1, name="dp")(_dense("f", 1)(x)))
    x = keras.Input((8,))
    hidden = _dense("f")(x)
    drop = DropPath(0.1, name="dp")(hidden)
    twice = keras.Model(x, [x + drop, drop])
    return [
        (leak, "'f' of its branch also feeds a model output"),
        (concat, "not to a sum of two tensors"),
        (wide, "broadcasts"),
        (twice, "its output is a model output"),
    ]


@pytest.mark.parametrize("index", range(4))
def test_blocks_that_do_not_fit_are_named(index):
    model, reason = _unfit_models()[index]
    new, unfit = skip_compute(model, return_unfit=True)
    assert [u.name for u in unfit] == ["dp"] and reason in unfit[0].reason
    assert not _skips(new)


def test_nested_blocks_and_nested_models():
    x = keras.Input((8,))
    h = keras.layers.Dense(8, name="inner_stem")(x)
    h = h + DropPath(0.2, name="dp_inner")(_dense("g")(h))
    outer = x + DropPath(0.4, name="dp_outer")(h)  # its branch holds a block
    inner_model = keras.Model(x, outer, name="stage")
    z = keras.Input((8,))
    y = inner_model(keras.layers.Dense(8, name="stem")(z))
    y = y + DropPath(0.1, name="dp_top")(_dense("f")(y))
    model = keras.Model(z, y, name="net")
    new, unfit = skip_compute(model, return_unfit=True)
    assert unfit == []
    assert sorted(_skips(new)) == ["dp_top"]
    stage = new.get_layer("stage")
    assert stage is not inner_model and list(_skips(stage)) == ["dp_outer"]
    branch = stage.get_layer("dp_outer").branch
    assert [type(layer).__name__ for layer in branch.layers[1:]] == [
        "Dense",
        "SkipResidual",
    ]
    assert round(branch.get_layer("dp_inner").rate, 6) == 0.2
    _same_outputs(model, new, DATA)
    new.compile("sgd", "mse")
    new.fit(DATA, DATA, epochs=1, batch_size=8, verbose=0)


def test_stock_stochastic_depth_and_a_schedule_carry_over():
    convnext = _keras.loaded_class("keras.src.applications.convnext:StochasticDepth")
    schedule = kerasdrop.schedules.Linear(0.0, 0.5, steps=10)
    x = keras.Input((8,))
    h = x + convnext(0.25, name="sd")(_dense("f")(x))
    scheduled = DropPath(schedule, name="dp_scheduled")
    scheduled.step = 4
    h = h + scheduled(_dense("g")(h))
    model = keras.Model(x, h)
    new = skip_compute(model)
    skips = _skips(new)
    assert round(skips["sd"].rate, 6) == 0.25 and skips["sd"].scale_by_keep
    assert skips["dp_scheduled"].schedule is schedule
    assert int(to_numpy(skips["dp_scheduled"].step)) == 4
    _same_outputs(model, new, DATA)


def test_mc_flag_carries_over():
    x = keras.Input((8,))
    model = keras.Model(x, x + DropPath(0.3, mc=True, name="dp")(_dense("f")(x)))
    assert skip_compute(model).get_layer("dp").mc


def test_drop_path_held_inside_a_layer_is_named():
    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = keras.layers.Dense(8)
            self.drop = DropPath(0.2)

        def call(self, x, training=False):
            return x + self.drop(self.dense(x), training=training)

    x = keras.Input((8,))
    model = keras.Model(x, Block(name="block")(x))
    new, unfit = skip_compute(model, return_unfit=True)
    assert [u.name for u in unfit] == ["block/drop"]
    assert "held by 'block'" in unfit[0].reason
    _same_outputs(model, new, DATA)


def test_no_block_warns_and_gives_the_same_graph():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2)])
    with pytest.warns(UserWarning, match="found no residual block"):
        new = skip_compute(model)
    assert new.layers[-1] is model.layers[-1]
    _same_outputs(model, new, DATA)


def test_saved_and_loaded(tmp_path):
    model = _mlp()
    new = skip_compute(model)
    path = str(tmp_path / "skip.keras")
    new.save(path)
    loaded = keras.saving.load_model(path)
    assert sorted(_skips(loaded)) == sorted(_skips(new))
    assert np.array_equal(to_numpy(new(DATA)), to_numpy(loaded(DATA)))


def test_bad_inputs_change_nothing():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(8)
            self.drop = DropPath(0.1)

        def call(self, x):
            return x + self.drop(self.dense(x))

    with pytest.raises(TypeError, match="`keras.Model`"):
        skip_compute(keras.layers.Dense(2))
    subclassed = Subclassed()
    subclassed(DATA)
    assert_bad_input(
        lambda: skip_compute(subclassed), ValueError, "model", "of class Subclassed"
    )
    assert isinstance(subclassed.drop, DropPath)
    model = _mlp()
    layers = list(model.layers)
    assert_bad_input(
        lambda: skip_compute(model, return_unfit="yes"),
        TypeError,
        "return_unfit",
        "yes",
    )
    assert model.layers == layers
    unbuilt = keras.Sequential([keras.layers.Dense(2)])
    assert_bad_input(lambda: skip_compute(unbuilt), ValueError, "model", "not built")


@pytest.mark.slow
@pytest.mark.one_backend  # the rewrite is graph code; the small models run on all
def test_convnext_every_stochastic_depth_block_rewritten():
    model = _keras.convnext(
        depths=[2, 2, 2, 2],
        projection_dims=[8, 16, 32, 64],
        drop_path_rate=0.5,
        default_size=32,
        input_shape=(32, 32, 3),
        classes=10,
        weights=None,
        include_top=True,
    )
    drops = [x for x in model.layers if type(x).__name__ == "StochasticDepth"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # every block fits
        new = skip_compute(model)
    skips = _skips(new)
    assert sorted(skips) == sorted(layer.name for layer in drops) and len(skips) == 7
    for layer in drops:
        assert np.isclose(skips[layer.name].rate, layer.drop_path_rate)
    images = np.random.default_rng(2).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    _same_outputs(model, new, images)
    new.compile("adam", "sparse_categorical_crossentropy")
    logs = new.train_on_batch(images, np.arange(4), return_dict=True)
    assert np.isfinite(logs["loss"])
