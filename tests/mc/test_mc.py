"""Monte-Carlo dropout: the sampling switch, MC layers and `mc.predict`."""

import threading

import keras
import numpy as np
import pytest

import kerasdrop
from kerasdrop import layers as L
from kerasdrop import mc
from kerasdrop import metrics as M
from helpers import CountingDropout


def bn_model(rate=0.5, classes=None, seed=1):
    """Dense -> BatchNormalization (non-trivial moving stats) -> dropout."""
    inputs = keras.Input((6,), name="features")
    h = keras.layers.Dense(16, activation="relu", name="d1")(inputs)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = L.Dropout(rate, seed=seed, name="drop")(h)
    if classes:
        outputs = keras.layers.Dense(classes, activation="softmax", name="out")(h)
    else:
        outputs = keras.layers.Dense(1, name="out")(h)
    model = keras.Model(inputs, outputs)
    bn = model.get_layer("bn")
    bn.moving_mean.assign(np.full((16,), 0.3, "float32"))
    bn.moving_variance.assign(np.full((16,), 2.0, "float32"))
    return model


def data(n=40, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 6)).astype("float32")


def bn_state(model):
    bn = model.get_layer("bn")
    return [np.array(v) for v in (bn.moving_mean, bn.moving_variance)]


# ----------------------------------------------------------------------
# The switch.
# ----------------------------------------------------------------------
def test_sampling_activates_dropout_only_and_leaves_batchnorm_alone():
    x = data()
    model = bn_model(rate=0.0)
    before = bn_state(model)
    reference = np.array(model(x, training=False))
    # Rate 0 under sampling: exactly the inference output (BN uses its
    # moving statistics), while training=True would use batch statistics.
    with mc.sampling(model):
        np.testing.assert_array_equal(np.array(model(x)), reference)
    assert not np.allclose(np.array(model(x, training=True)), reference)
    # Rate 0.5: dropout really drops, BN statistics never move.
    model = bn_model(rate=0.5)
    before = bn_state(model)
    reference = np.array(model(x, training=False))
    result = mc.predict(model, x, samples=30, seed=0, return_samples=True)
    assert result.samples.shape == (30, 40, 1)
    assert np.all(result.samples.std(axis=0) > 0)
    with mc.sampling(model):
        draws = [np.array(model.predict(x, verbose=0)) for _ in range(2)]
    assert not np.allclose(draws[0], draws[1])
    for a, b in zip(before, bn_state(model)):
        np.testing.assert_array_equal(a, b)
    # Outside the block: deterministic again, also through model.predict.
    after = [model.predict(x, verbose=0) for _ in range(2)]
    np.testing.assert_array_equal(after[0], after[1])
    np.testing.assert_allclose(after[0], reference, atol=1e-6)
    np.testing.assert_array_equal(np.array(model(x)), reference)


def identity_model(name, seed=0):
    """Input -> Dropout(0.5): the identity at inference, x2 or 0 when sampling."""
    return keras.Sequential([keras.Input((8,)), L.Dropout(0.5, seed=seed)], name=name)


def test_sampling_switches_only_the_models_passed():
    x = np.ones((16, 8), "float32")
    a, b, late = (identity_model(n, seed=i) for i, n in enumerate("abc"))
    np.testing.assert_array_equal(b.predict(x, verbose=0), x)  # traced before
    with mc.sampling(a):
        inside_a = [a.predict(x, verbose=0) for _ in range(2)]
        # b's function traced before the block and late's traced inside it:
        # neither samples, neither stays random afterwards.
        np.testing.assert_array_equal(b.predict(x, verbose=0), x)
        np.testing.assert_array_equal(late.predict(x, verbose=0), x)
        np.testing.assert_array_equal(np.asarray(b(x)), x)
        assert not np.array_equal(np.asarray(a(x)), x)
    assert not np.array_equal(inside_a[0], x)
    assert not np.array_equal(inside_a[0], inside_a[1])
    for model in (a, b, late):
        np.testing.assert_array_equal(model.predict(x, verbose=0), x)
        np.testing.assert_array_equal(np.asarray(model(x)), x)


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
        outputs.append(np.asarray(model(x)))
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
        outside += [model.predict(x, verbose=0), np.asarray(model(x))]
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
        np.testing.assert_array_equal(output, x)
    assert len(draws) > 2
    assert all(not np.array_equal(draw, x) for draw in draws)


def test_mc_layer_is_always_on_and_round_trips():
    x = data()
    layer = L.Dropout(0.4, mc=True, seed=3)
    model = keras.Sequential([keras.Input((6,)), layer])
    a, b = model.predict(x, verbose=0), model.predict(x, verbose=0)
    assert not np.array_equal(a, b)
    zero = (a == 0).mean()
    assert abs(zero - 0.4) < 5 * np.sqrt(0.4 * 0.6 / a.size)
    clone = L.Dropout.from_config(layer.get_config())
    assert clone.mc is True and layer.get_config()["mc"] is True
    mc.disable(model)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    assert [lay.mc for lay in mc.enable(model)] == [True]
    assert not np.array_equal(model.predict(x, verbose=0), x)


def test_every_kind_samples_under_the_switch():
    x = np.ones((4, 5, 5, 3), "float32")
    for layer in (
        L.Dropout(0.5),
        L.SpatialDropout2D(0.5),
        L.GaussianDropout(0.5),
        L.DropPath(0.5),
        L.ConcreteDropout(keras.layers.Dense(3), init_rate=0.3),
    ):
        deterministic = np.array(layer(x))
        with mc.sampling(layer):
            sampled = np.array(layer(x))
        assert not np.allclose(sampled, deterministic), type(layer).__name__
        np.testing.assert_array_equal(np.array(layer(x)), deterministic)


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


# ----------------------------------------------------------------------
# mc.predict
# ----------------------------------------------------------------------
def test_seeds_reproduce_and_differ():
    model, x = bn_model(), data()
    a = mc.predict(model, x, samples=20, seed=7)
    b = mc.predict(model, x, samples=20, seed=7)
    c = mc.predict(model, x, samples=20, seed=8)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.variance, b.variance)
    assert not np.allclose(a.mean, c.mean)
    # Unseeded calls follow the layers' own streams: they differ...
    u1 = mc.predict(model, x, samples=20)
    u2 = mc.predict(model, x, samples=20)
    assert not np.allclose(u1.mean, u2.mean)
    # ...and a seeded call does not move those streams.
    state = np.array(model.get_layer("drop").seed_generator.state)
    mc.predict(model, x, samples=20, seed=7)
    np.testing.assert_array_equal(
        np.array(model.get_layer("drop").seed_generator.state), state
    )


def test_streaming_statistics_match_the_samples_across_chunks():
    model, x = bn_model(classes=3), data(n=50)
    # A tiny budget forces chunks of a few samples (and a remainder chunk).
    small = mc.predict(
        model, x, samples=23, seed=0, return_samples=True, memory_budget=20_000
    )
    s = small.samples.astype("float64")
    assert s.shape == (23, 50, 3)
    np.testing.assert_allclose(small.mean, s.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(small.variance, s.var(axis=0), atol=1e-6)
    np.testing.assert_allclose(
        small.predictive_entropy, M.predictive_entropy(s.mean(axis=0)), atol=1e-5
    )
    np.testing.assert_allclose(small.expected_entropy, M.expected_entropy(s), atol=1e-5)
    np.testing.assert_allclose(
        small.mutual_information, M.mutual_information(s), atol=1e-5
    )
    np.testing.assert_allclose(small.variation_ratio, M.variation_ratio(s))
    np.testing.assert_allclose(small.max_probability, M.max_probability(s), atol=1e-6)
    assert np.all(small.mutual_information >= 0)
    # Without samples, the same statistics (streamed, one chunk).
    big = mc.predict(model, x, samples=23, seed=0)
    assert big.samples is None and big.task == "classification"
    np.testing.assert_allclose(big.mean, small.mean, atol=0.25)


def test_prefix_reuse_gives_the_same_samples_as_full_sampling():
    model, x = bn_model(), data(n=30)
    prefix, suffix = mc.split_deterministic_prefix(model)
    assert [layer.name for layer in prefix.layers][-1] == "bn"
    assert "d1" not in [layer.name for layer in suffix.layers]
    reused = mc.predict(model, x, samples=40, seed=3, return_samples=True)
    full = mc.predict(
        model, x, samples=40, seed=3, return_samples=True, reuse_prefix=False
    )
    # Same seed path: the dropout masks are drawn identically.
    np.testing.assert_allclose(reused.samples, full.samples, atol=1e-5)
    # Dropout reading a model input: nothing to reuse.
    direct = keras.Sequential(
        [keras.Input((6,)), L.Dropout(0.2), keras.layers.Dense(2)]
    )
    assert mc.split_deterministic_prefix(direct)[0] is None


def test_prefix_of_a_branching_graph():
    inputs = keras.Input((6,))
    h = keras.layers.Dense(8, name="shared")(inputs)
    noisy = L.Dropout(0.5, name="drop")(h)
    merged = keras.layers.Concatenate()([noisy, h, inputs])
    outputs = keras.layers.Dense(2)(merged)
    model = keras.Model(inputs, outputs)
    prefix, suffix = mc.split_deterministic_prefix(model)
    assert prefix is not None
    x = data(n=12)
    np.testing.assert_allclose(
        np.array(suffix(prefix(x))), np.array(model(x)), atol=1e-6
    )
    reused = mc.predict(model, x, samples=10, seed=0, return_samples=True)
    full = mc.predict(
        model, x, samples=10, seed=0, return_samples=True, reuse_prefix=False
    )
    np.testing.assert_allclose(reused.samples, full.samples, atol=1e-5)


def test_compiled_once_per_model_and_sample_count():
    CountingDropout.traces = 0
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(4), CountingDropout(0.3)]
    )
    x = data(n=64)
    mc.predict(model, x, samples=16, batch_size=32)
    traces = CountingDropout.traces
    for seed in (None, 1, 2):
        mc.predict(model, x, samples=16, batch_size=32, seed=seed)
    mc.predict(model, x[:50], samples=16, batch_size=32)  # padded last batch
    assert CountingDropout.traces == traces


def test_regression_mean_converges_and_ll_matches_hand_computation():
    model, x = bn_model(rate=0.1), data(n=20)
    result = mc.predict(model, x, samples=400, seed=0, return_samples=True)
    deterministic = np.array(model(x))
    # Inverted dropout keeps the expectation of the first layer after it:
    # the last layer is linear, so the MC mean estimates the inference output.
    err = np.abs(result.mean - deterministic)
    assert np.all(err <= 5 * result.std / np.sqrt(400) + 1e-5)
    y = deterministic[:, 0]
    ll = M.regression_log_likelihood(y, result.samples[..., 0], tau=2.0)
    by_hand = np.mean(
        [
            np.log(np.mean(np.exp(-1.0 * (y[i] - result.samples[:, i, 0]) ** 2)))
            - 0.5 * np.log(2 * np.pi)
            + 0.5 * np.log(2.0)
            for i in range(20)
        ]
    )
    assert ll == pytest.approx(by_hand, abs=1e-5)


def test_heteroscedastic_task():
    inputs = keras.Input((6,))
    h = L.Dropout(0.3, seed=0)(keras.layers.Dense(8, activation="relu")(inputs))
    outputs = keras.layers.Dense(2)(h)  # [mean, log-variance]
    model = keras.Model(inputs, outputs)
    x = data(n=10)
    result = mc.predict(
        model, x, samples=50, seed=0, task="heteroscedastic", return_samples=True
    )
    s = result.samples.astype("float64")
    split = M.heteroscedastic_uncertainty(s[..., 0], s[..., 1])
    np.testing.assert_allclose(result.mean, split["mean"], atol=1e-5)
    np.testing.assert_allclose(result.aleatoric, split["aleatoric"], rtol=1e-5)
    np.testing.assert_allclose(result.epistemic, split["epistemic"], atol=1e-5)
    np.testing.assert_allclose(result.total, split["total"], rtol=1e-4)


def test_dataset_input_and_binary_classifier():
    tf = pytest.importorskip("tensorflow")
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu"),
            L.Dropout(0.3),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    x = data(n=70)
    dataset = tf.data.Dataset.from_tensor_slices((x, np.zeros(70))).batch(32)
    from_ds = mc.predict(model, dataset, samples=20, seed=0)
    from_array = mc.predict(model, x, samples=20, seed=0, batch_size=32)
    assert from_ds.task == "classification"
    np.testing.assert_allclose(from_ds.mean, from_array.mean, atol=1e-6)
    assert from_ds.mean.shape == (70, 1)
    assert from_ds.predictive_entropy.shape == (70,)
    assert np.all(from_ds.predictive_entropy <= np.log(2) + 1e-6)


def test_multi_input_model():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    h = keras.layers.Concatenate()([keras.layers.Dense(4)(a), b])
    outputs = keras.layers.Dense(1)(L.Dropout(0.5)(h))
    model = keras.Model([a, b], outputs)
    x = [data(n=9)[:, :3], data(n=9)[:, :2]]
    result = mc.predict(model, x, samples=10, seed=0)
    assert result.mean.shape == (9, 1)
    with pytest.raises(ValueError, match="2 input array"):
        mc.predict(model, x[0], samples=10)


# ----------------------------------------------------------------------
# Bad inputs.
# ----------------------------------------------------------------------
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


def head_model(head):
    inputs = keras.Input((6,))
    h = L.Dropout(0.3, seed=0, name="drop")(keras.layers.Dense(8)(inputs))
    layer = {
        "logits": keras.layers.Dense(3),
        "linear": keras.layers.Dense(1),
        "softmax": keras.layers.Dense(3, activation="softmax"),
        "sigmoid": keras.layers.Dense(1, activation="sigmoid"),
        "lambda_softmax": keras.layers.Lambda(keras.ops.softmax),
    }[head]
    return keras.Model(inputs, layer(h), name=f"{head}_head")


@pytest.mark.parametrize(
    "head, task, match",
    [
        ("logits", "classification", r"task='logits'.*logits_head.*ranges over"),
        ("linear", "classification", "task='logits'"),
        ("linear", "heteroscedastic", r"2 values.*\(None, 1\)"),
        ("logits", "heteroscedastic", r"\(None, 3\)"),
        ("softmax", "logits", r"already is probabilities \(softmax\)"),
        ("sigmoid", "logits", r"\(sigmoid\).*task='classification'"),
    ],
)
def test_task_must_fit_the_head(head, task, match):
    model = head_model(head)
    state = np.array(model.get_layer("drop").seed_generator.state)
    with pytest.raises(ValueError, match=f"(?s)argument `task`.*{match}"):
        mc.predict(model, data(), samples=4, task=task)
    # A refused call moves no random stream.
    np.testing.assert_array_equal(
        np.array(model.get_layer("drop").seed_generator.state), state
    )


def test_classification_on_an_unknown_head_checks_the_probabilities():
    model = head_model("lambda_softmax")  # a softmax no layer declares
    result = mc.predict(model, data(), samples=4, task="classification")
    np.testing.assert_allclose(result.mean.sum(axis=-1), 1.0, atol=1e-5)


def test_heteroscedastic_head_of_a_subclassed_model():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(8)
            self.drop = L.Dropout(0.3)
            self.out = keras.layers.Dense(1)

        def call(self, x):
            return self.out(self.drop(self.hidden(x)))

    model = Net()
    model(data(n=2))
    with pytest.raises(ValueError, match=r"(?s)argument `task`.*2 values"):
        mc.predict(model, data(), samples=2, task="heteroscedastic")


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


def test_task_is_read_through_concrete_wrappers_and_dropout():
    inputs = keras.Input((6,))
    h = keras.layers.Dense(8, activation="relu")(inputs)
    outputs = L.ConcreteDropout(keras.layers.Dense(3, activation="softmax"))(h)
    assert mc.infer_task(keras.Model(inputs, outputs)) == "classification"
    after = L.Dropout(0.1)(keras.layers.Dense(1, activation="sigmoid")(h))
    assert mc.infer_task(keras.Model(inputs, after)) == "classification"
    assert mc.infer_task(keras.Model(inputs, keras.layers.Dense(2)(h))) == "regression"


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


# ----------------------------------------------------------------------------
# Consistent masks (BatchBALD): sample t uses the same masks for every input.
# ----------------------------------------------------------------------------
def _consistent_model():
    """Every kind of random draw in one model: element masks, Gaussian noise,
    per-example paths and weight masks."""
    from kerasdrop import layers as KL

    inputs = keras.Input((6,))
    h = keras.layers.Dense(8, name="prefix")(inputs)
    h = KL.Dropout(0.3, seed=1)(h)
    h = KL.GaussianDropout(0.2, seed=2)(h)
    h = keras.layers.Add()([h, KL.DropPath(0.3, seed=3)(keras.layers.Dense(8)(h))])
    h = KL.DropConnect(keras.layers.Dense(8), 0.3, seed=4)(h)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))


@pytest.mark.slow
def test_consistent_masks_do_not_depend_on_order_batching_or_chunks():
    model = _consistent_model()
    x = np.random.default_rng(0).random((7, 6)).astype("float32")
    perm = np.array([3, 0, 6, 1, 5, 2, 4])

    def samples(inputs, **kwargs):
        return kerasdrop.mc.predict(
            model,
            inputs,
            samples=10,
            seed=0,
            consistent=True,
            return_samples=True,
            verbose=0,
            **kwargs,
        ).samples

    reference = samples(x)
    np.testing.assert_allclose(
        samples(x[perm])[:, np.argsort(perm)], reference, rtol=1e-5
    )
    np.testing.assert_allclose(samples(x, batch_size=3), reference, rtol=1e-5)
    np.testing.assert_allclose(
        samples(x, memory_budget=1), reference, rtol=1e-5
    )  # chunk 1
    np.testing.assert_allclose(samples(x, reuse_prefix=False), reference, rtol=1e-5)
    assert not all(
        np.allclose(reference[0], r) for r in reference[1:]
    )  # samples differ
    # Without consistent masks, another batching changes the draws.
    plain = kerasdrop.mc.predict(
        model, x, samples=10, seed=0, return_samples=True, verbose=0
    )
    batched = kerasdrop.mc.predict(
        model, x, samples=10, seed=0, return_samples=True, verbose=0, batch_size=3
    )
    assert not np.allclose(batched.samples, plain.samples)


def test_consistent_masks_are_shared_by_the_rows_of_a_sample():
    model = _consistent_model()
    x = np.tile(np.random.default_rng(1).random((1, 6)).astype("float32"), (5, 1))
    s = kerasdrop.mc.predict(
        model, x, samples=4, seed=0, consistent=True, return_samples=True, verbose=0
    ).samples
    np.testing.assert_allclose(s, np.repeat(s[:, :1], 5, axis=1), rtol=1e-6)
    with pytest.raises(TypeError, match="consistent=1"):
        kerasdrop.mc.predict(model, x, samples=4, consistent=1)


def test_sigmoid_units_are_independent_labels_and_fields_are_fixed():
    """A multi-unit sigmoid head: each unit an independent Bernoulli, as
    `metrics` with `multi_label=True` reads it; MCResult fields that do not
    apply to a task are None."""
    inputs = keras.Input((6,))
    h = L.Dropout(0.5, seed=2)(keras.layers.Dense(16, activation="relu")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="sigmoid")(h))
    x = data(n=12)
    result = mc.predict(model, x, samples=40, seed=0, return_samples=True, verbose=0)
    s = result.samples.astype("float64")
    assert result.task == "classification"
    for field in (
        "predictive_entropy",
        "expected_entropy",
        "mutual_information",
        "variation_ratio",
        "max_probability",
    ):
        expected = getattr(M, field)(s, multi_label=True)
        np.testing.assert_allclose(getattr(result, field), expected, atol=1e-5)
    assert result.predictive_entropy.shape == (12,)
    assert result.variation_ratio.shape == result.predicted_class.shape == (12, 3)
    assert result.aleatoric is None and result.total is None
    regression = mc.predict(bn_model(), x, samples=4, seed=0, verbose=0)
    assert regression.predictive_entropy is None and regression.samples is None
    assert regression.std.shape == regression.mean.shape == (12, 1)
