"""Tasks and their statistics: classification, regression, heteroscedastic;
a task must fit the model's head."""

import keras
import numpy as np
import pytest
from mc_models import bn_model, data

from kerasdrop import layers as L
from kerasdrop import mc
from kerasdrop import metrics as M
from helpers import to_numpy


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
    np.testing.assert_allclose(
        to_numpy(result.mean), to_numpy(split["mean"]), atol=1e-5
    )
    np.testing.assert_allclose(
        to_numpy(result.aleatoric), to_numpy(split["aleatoric"]), rtol=1e-5
    )
    np.testing.assert_allclose(
        to_numpy(result.epistemic), to_numpy(split["epistemic"]), atol=1e-5
    )
    np.testing.assert_allclose(
        to_numpy(result.total), to_numpy(split["total"]), rtol=1e-4
    )


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
    state = np.array(to_numpy(model.get_layer("drop").seed_generator.state))
    with pytest.raises(ValueError, match=f"(?s)argument `task`.*{match}"):
        mc.predict(model, data(), samples=4, task=task)
    # A refused call moves no random stream.
    np.testing.assert_array_equal(
        np.array(to_numpy(model.get_layer("drop").seed_generator.state)),
        to_numpy(state),
    )


def test_classification_on_an_unknown_head_checks_the_probabilities():
    model = head_model("lambda_softmax")  # a softmax no layer declares
    result = mc.predict(model, data(), samples=4, task="classification")
    np.testing.assert_allclose(to_numpy(result.mean.sum(axis=-1)), 1.0, atol=1e-5)


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


def test_task_is_read_through_concrete_wrappers_and_dropout():
    inputs = keras.Input((6,))
    h = keras.layers.Dense(8, activation="relu")(inputs)
    outputs = L.ConcreteDropout(keras.layers.Dense(3, activation="softmax"))(h)
    assert mc.infer_task(keras.Model(inputs, outputs)) == "classification"
    after = L.Dropout(0.1)(keras.layers.Dense(1, activation="sigmoid")(h))
    assert mc.infer_task(keras.Model(inputs, after)) == "classification"
    assert mc.infer_task(keras.Model(inputs, keras.layers.Dense(2)(h))) == "regression"


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
        np.testing.assert_allclose(
            to_numpy(getattr(result, field)), to_numpy(expected), atol=1e-5
        )
    assert result.predictive_entropy.shape == (12,)
    assert result.variation_ratio.shape == result.predicted_class.shape == (12, 3)
    assert result.aleatoric is None and result.total is None
    regression = mc.predict(bn_model(), x, samples=4, seed=0, verbose=0)
    assert regression.predictive_entropy is None and regression.samples is None
    assert regression.std.shape == regression.mean.shape == (12, 1)
