"""`SkipResidual`: the dropped branch is not computed, kept ones are scaled."""

import os

import keras
import numpy as np
import pytest
from keras import ops

import kerasdrop
from kerasdrop.layers import SkipResidual


class Counter(keras.layers.Layer):
    """Identity that counts its executions: a Python counter in eager calls
    (TF, torch); on JAX, whose `cond` traces both sides, a host callback
    that only the side executed runs."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = 0

    def _bump(self):
        self.calls += 1

    def call(self, x):
        if keras.backend.backend() == "jax":
            import jax

            jax.debug.callback(self._bump)
        else:
            self._bump()
        return x


def _sync():
    if keras.backend.backend() == "jax":
        import jax

        jax.effects_barrier()


def _branch(units=4, counter=None):
    layers = [keras.Input((units,)), keras.layers.Dense(units, name="dense")]
    if counter is not None:
        layers.append(counter)
    return keras.Sequential(layers)


def _np(x):
    return ops.convert_to_numpy(x)


def test_inference_is_x_plus_branch():
    block = SkipResidual(_branch(), 0.5, seed=0)
    x = np.random.RandomState(0).rand(3, 4).astype("float32")
    np.testing.assert_array_equal(_np(block(x)), x + _np(block.branch(x)))


def test_skipped_branch_not_executed_and_kept_scaled():
    counter = Counter()
    block = SkipResidual(_branch(counter=counter), 0.75, seed=3)
    x = np.random.RandomState(1).rand(2, 4).astype("float32")
    full = _np(block(x)) - x  # builds the block (symbolic calls count too)
    _sync()
    counter.calls = 0
    skipped = kept = 0
    for _ in range(20):
        before = counter.calls
        out = _np(block(x, training=True))
        if np.array_equal(out, x):
            skipped += 1
            assert counter.calls == before  # not executed
        else:
            kept += 1
            assert counter.calls == before + 1
            np.testing.assert_allclose(out, x + full * 4.0, rtol=1e-6, atol=1e-6)
    assert skipped and kept


def test_rate_zero_always_runs():
    block = SkipResidual(_branch(), 0.0, seed=0)
    x = np.ones((2, 4), "float32")
    for _ in range(10):
        np.testing.assert_allclose(
            _np(block(x, training=True)), x + _np(block.branch(x)), rtol=1e-6
        )


def _gradients(block, x):
    """Gradients of the branch's weights in one training call, and the output."""
    backend = keras.backend.backend()
    weights = block.branch.trainable_variables
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            out = block(x, training=True)
            loss = tf.reduce_sum(out)
        return tape.gradient(loss, [w.value for w in weights]), out
    if backend == "torch":
        out = block(x, training=True)
        for w in weights:
            w.value.grad = None
        ops.sum(out).backward()
        return [w.value.grad for w in weights], out
    import jax

    values = [w.value for w in weights]
    state = [v.value for v in block.non_trainable_variables]

    def loss(values):
        mapping = list(zip(weights, values)) + list(
            zip(block.non_trainable_variables, state)
        )
        with keras.StatelessScope(state_mapping=mapping) as scope:
            out = block(x, training=True)
        new = [scope.get_current_value(v) for v in block.non_trainable_variables]
        return ops.sum(out), (out, new)

    grads, (out, new) = jax.grad(loss, has_aux=True)(values)
    # The state (seed, BatchNormalization's statistics) moved inside the
    # scope only: write it back, as a trainer does.
    for variable, value in zip(block.non_trainable_variables, new):
        if value is not None:
            variable.assign(value)
    return grads, out


def test_skipped_branch_gets_exact_zero_gradient():
    block = SkipResidual(_branch(), 0.5, seed=5)
    x = np.ones((2, 4), "float32")
    seen = set()
    for _ in range(12):
        grads, out = _gradients(block, x)
        assert all(g is not None for g in grads)
        zero = all(not np.any(_np(g)) for g in grads)
        if np.array_equal(_np(out), x):
            assert zero
            seen.add("skipped")
        else:
            assert not zero
            seen.add("kept")
    assert seen == {"skipped", "kept"}


def test_conv_branch_skips_or_selects_with_the_same_semantics():
    # JAX on CPU computes a convolutional branch and selects (XLA
    # differentiates convolutions inside `cond` slowly); the other backends
    # skip it under `cond`. Either way: a skipped step returns x, leaves the
    # BatchNormalization statistics as they were and gives the weights an
    # exact zero gradient; a kept step scales the branch and updates them.
    from kerasdrop.layers.skip_residual import selects_on_this_device

    branch = keras.Sequential(
        [
            keras.Input((4, 4, 2)),
            keras.layers.Conv2D(2, 3, padding="same"),
            keras.layers.BatchNormalization(),
        ]
    )
    assert selects_on_this_device(branch) == (keras.backend.backend() == "jax")
    assert not selects_on_this_device(_branch())
    block = SkipResidual(branch, 0.5, seed=2)
    x = np.random.RandomState(2).rand(3, 4, 4, 2).astype("float32")
    block(x)
    moving = branch.layers[-1].moving_mean
    seen = set()
    for _ in range(12):
        expected = x + 2.0 * _np(branch(x, training=True))  # batch statistics
        before = np.array(_np(moving))  # (that call moved them)
        grads, out = _gradients(block, x)
        zero = all(not np.any(_np(g)) for g in grads)
        if np.array_equal(_np(out), x):
            seen.add("skipped")
            assert zero
            np.testing.assert_array_equal(_np(moving), before)
        else:
            seen.add("kept")
            assert not zero
            np.testing.assert_allclose(_np(out), expected, rtol=1e-5, atol=1e-5)
            assert not np.array_equal(_np(moving), before)
    assert seen == {"skipped", "kept"}


class _AlwaysTraining(keras.Model):
    """Calls its block in training mode, also from `predict`."""

    def __init__(self, block):
        super().__init__(name="always_training")
        self.block = block

    def call(self, inputs):
        return self.block(inputs, training=True)


def test_fraction_kept_matches_rate():
    rate, n = 0.3, 200
    # One compiled predict loop of n batches of one row, each batch drawing
    # once in training mode (n eager calls cost minutes on JAX).
    model = _AlwaysTraining(SkipResidual(_branch(), rate, seed=11))
    x = np.ones((n, 4), "float32")
    outputs = _np(model.predict(x, batch_size=1, verbose=0))
    kept = int(np.sum(np.any(outputs != x, axis=1)))
    se = np.sqrt(rate * (1 - rate) / n)
    assert abs(kept / n - (1 - rate)) < 5 * se


def test_mc_draws_per_example():
    block = SkipResidual(
        keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t + 1.0)]),
        0.5,
        seed=2,
        mc=True,
    )
    x = np.zeros((256, 4), "float32")
    out = _np(block(x))  # inference, MC layer: per example
    kept = out[:, 0] != 0
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert 0.3 < kept.mean() < 0.7  # both outcomes within one batch
    np.testing.assert_array_equal(out, np.where(kept[:, None], 2.0, 0.0) + 0 * x)


def _residual_model(rate=0.5, seed=0):
    inputs = keras.Input((4,))
    branch = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(4, name="inner"),
            keras.layers.BatchNormalization(),
            kerasdrop.layers.Dropout(0.1, seed=seed),
        ],
        name="branch",
    )
    h = SkipResidual(branch, rate, seed=seed, name="block")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="head")(h))


def test_fit_trains():
    model = _residual_model()
    model.compile("sgd", "mse")
    x = np.random.RandomState(0).rand(32, 4).astype("float32")
    before = _np(model.get_layer("block").branch.get_layer("inner").kernel).copy()
    history = model.fit(x, x[:, :1], batch_size=8, epochs=3, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    after = _np(model.get_layer("block").branch.get_layer("inner").kernel)
    assert not np.array_equal(before, after)


def test_rate_assignment_and_schedule_without_retrace():
    model = _residual_model(rate=0.0)
    model.compile("sgd", "mse")
    x = np.random.RandomState(0).rand(8, 4).astype("float32")
    model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0)
    function = model.train_function
    block = model.get_layer("block")
    block.rate = 0.9
    model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0)
    assert model.train_function is function
    assert block.rate == 0.9
    scheduled = SkipResidual(_branch(), kerasdrop.schedules.Linear(0.0, 0.4, steps=4))
    for _ in range(3):
        scheduled(np.ones((1, 4), "float32"), training=True)
    assert (scheduled.step, scheduled.rate) == (3, 0.2)


def test_strip_and_round_trip(tmp_path):
    model = _residual_model()
    x = np.random.RandomState(0).rand(5, 4).astype("float32")
    expected = _np(model(x))
    stripped = kerasdrop.strip_dropout(model)
    assert not kerasdrop.graph.find(stripped)
    classes = {
        type(layer).__module__.split(".")[0] for layer in stripped._flatten_layers()
    }
    assert "kerasdrop" not in classes
    np.testing.assert_allclose(_np(stripped(x)), expected, rtol=1e-6, atol=1e-6)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.get_layer("block"), SkipResidual)
    np.testing.assert_allclose(_np(loaded(x)), expected, rtol=1e-6, atol=1e-6)
    paths = [site.path for site in kerasdrop.graph.find(model)]
    assert paths == ["block", "block/branch/dropout"]


def test_depth_rule_skip_compute():
    x = inputs = keras.Input((4,))
    for i in range(3):
        x = SkipResidual(_branch(), 0.0, name=f"b{i}")(x)
    model = keras.Model(inputs, x)
    kerasdrop.recipes.stochastic_depth(model, 0.2, skip_compute=True)
    assert [model.get_layer(f"b{i}").rate for i in range(3)] == [0.0, 0.1, 0.2]


def test_bad_inputs():
    with pytest.raises(TypeError, match="argument `branch`"):
        SkipResidual("dense", 0.1)
    with pytest.raises(ValueError, match="argument `rate`"):
        SkipResidual(_branch(), 1.0)
    with pytest.raises(TypeError, match="argument `scale_by_keep`"):
        SkipResidual(_branch(), 0.1, scale_by_keep="yes")
    block = SkipResidual(keras.layers.Dense(3), 0.1)
    with pytest.raises(ValueError, match="argument `branch`"):
        block(np.ones((2, 4), "float32"))
