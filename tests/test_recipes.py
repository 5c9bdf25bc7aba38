"""Depth-wise stochastic depth: the linear and per-stage rules on models."""

import keras
import numpy as np
import pytest

import kerasdrop
from kerasdrop import schedules as S
from kerasdrop.layers import DropPath, Dropout
from kerasdrop.layers.drop_path import depth_rates
from helpers import to_numpy


def residual_model(depth, width=4):
    """Residual blocks whose DropPath layers are created deepest-first, so
    that creation order and depth order disagree."""
    drops = [DropPath(0.0, name=f"dp_{depth - 1 - i}") for i in range(depth)][::-1]
    x = inputs = keras.Input((width,))
    for drop in drops:
        x = keras.layers.Add()([x, drop(keras.layers.Dense(width)(x))])
    x = Dropout(0.5, name="head_dropout")(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


@pytest.mark.parametrize("depth, max_rate", [(2, 0.1), (5, 0.3), (12, 0.5)])
def test_linear_rule_equals_linspace_in_depth_order(depth, max_rate):
    model = residual_model(depth)
    callback = kerasdrop.recipes.stochastic_depth(model, max_rate)
    got = [model.get_layer(f"dp_{i}").rate for i in range(depth)]
    np.testing.assert_allclose(
        to_numpy(got), np.linspace(0, max_rate, depth), atol=1e-7
    )
    assert model.get_layer("head_dropout").rate == 0.5  # not a DropPath
    # The callback keeps them at every epoch, also after someone moved them.
    model.get_layer("dp_0").rate = 0.4
    model.compile("sgd", "mse")
    model.fit(
        np.ones((4, 4)), np.ones((4, 1)), epochs=1, verbose=0, callbacks=[callback]
    )
    assert model.get_layer("dp_0").rate == 0.0


def test_stage_rule_is_constant_within_stages():
    model = residual_model(6)
    kerasdrop.recipes.stochastic_depth(model, 0.4, rule="stage", stages=[1, 2, 3])
    got = [model.get_layer(f"dp_{i}").rate for i in range(6)]
    np.testing.assert_allclose(to_numpy(got), [0.0, 0.2, 0.2, 0.4, 0.4, 0.4], atol=1e-7)
    assert depth_rates(0.2, rule="stage", stages=[2, 2]) == [0.0, 0.0, 0.2, 0.2]
    assert depth_rates(0.3, 1) == [0.0]  # numpy's and timm's linspace


@pytest.mark.parametrize(
    "kwargs, exc, fragment",
    [
        ({"max_rate": 1.0}, ValueError, "max_rate=1.0"),
        ({"max_rate": "0.1"}, TypeError, "max_rate='0.1'"),
        ({"rule": "cosine"}, ValueError, "rule='cosine'"),
        ({"rule": "stage"}, ValueError, "stages=None"),
        ({"rule": "stage", "stages": [1, 1]}, ValueError, "stages=[1, 1]"),
        ({"rule": "stage", "stages": [3, 0]}, ValueError, "stages=[3, 0]"),
        ({"rule": "stage", "stages": "3"}, TypeError, "stages='3'"),
        ({"layers": 3}, TypeError, "layers=3"),
        ({"layers": "nothing_matches"}, ValueError, "layers='nothing_matches'"),
    ],
)
def test_bad_arguments_raise_and_change_nothing(kwargs, exc, fragment):
    model = residual_model(3)
    with pytest.raises(exc, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        kerasdrop.recipes.stochastic_depth(model, **kwargs)
    assert [model.get_layer(f"dp_{i}").rate for i in range(3)] == [0.0, 0.0, 0.0]


def test_depth_rates_bad_depth():
    with pytest.raises(TypeError, match="depth=2.0"):
        depth_rates(0.1, 2.0)
    with pytest.raises(ValueError, match="depth=0"):
        depth_rates(0.1, 0)


def test_depth_rule_composes_with_a_time_schedule():
    """Early stochastic depth (Liu et al. 2023): the depth rule scaled by a
    time schedule, 0.5 for the first epochs, then off."""
    model = residual_model(3)
    callback = kerasdrop.recipes.stochastic_depth(model, S.Early(0.5, cutoff=2))
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append([self.model.get_layer(f"dp_{i}").rate for i in range(3)])

    model.compile("sgd", "mse")
    model.fit(
        np.ones((4, 4)),
        np.ones((4, 1)),
        epochs=3,
        verbose=0,
        callbacks=[callback, Record()],
    )
    np.testing.assert_allclose(
        to_numpy(seen), [[0.0, 0.25, 0.5], [0.0, 0.25, 0.5], [0.0, 0.0, 0.0]], atol=1e-7
    )


def test_scaled_schedule_serializes_and_checks_its_factor():
    s = S.Scaled(S.Late(0.4, cutoff=5), 0.5)
    assert S.deserialize(S.serialize(s)) == s
    assert s(4) == 0.0 and s(5) == pytest.approx(0.2)
    assert keras.saving.get_registered_name(S.Scaled) == "kerasdrop>Scaled"
    with pytest.raises(ValueError, match="factor=1.5"):
        S.Scaled(S.Constant(0.1), 1.5)
    with pytest.raises(TypeError, match="schedule='x'"):
        S.Scaled("x", 0.5)
    assert S.Scaled(0.2, 0.5)(0) == pytest.approx(0.1)  # a float is a Constant


RECIPE_CASES = [
    (lambda: kerasdrop.recipes.stochastic_depth(None), TypeError, "model", "=None"),
    (lambda: kerasdrop.recipes.stochastic_depth("m"), TypeError, "model", "'m'"),
    (
        lambda: kerasdrop.recipes.late_dropout(10, cutoff=20),
        ValueError,
        "cutoff",
        "=20",
    ),
    (
        lambda: kerasdrop.recipes.late_dropout(10, cutoff=10),
        ValueError,
        "cutoff",
        "=10",
    ),
    (
        lambda: kerasdrop.recipes.early_dropout(10, cutoff=10),
        ValueError,
        "cutoff",
        "=10",
    ),
    (lambda: kerasdrop.recipes.early_dropout(5, cutoff=0), ValueError, "cutoff", "=0"),
    (lambda: kerasdrop.recipes.late_dropout(1), ValueError, "epochs", "epochs=1"),
    (lambda: kerasdrop.recipes.early_dropout(True), TypeError, "epochs", "=True"),
    (lambda: kerasdrop.recipes.late_dropout(6, rate=1.0), ValueError, "rate", "1.0"),
    (lambda: kerasdrop.recipes.early_dropout(6, mode="x"), ValueError, "mode", "'x'"),
    (
        lambda: kerasdrop.recipes.curriculum_dropout(0),
        ValueError,
        "total_steps",
        "total_steps=0",
    ),
    (
        lambda: kerasdrop.recipes.curriculum_dropout(10, final_rate=-0.1),
        ValueError,
        "final_rate",
        "-0.1",
    ),
    (
        lambda: kerasdrop.recipes.annealed_dropout(2.0),
        TypeError,
        "epochs",
        "epochs=2.0",
    ),
    (
        lambda: kerasdrop.recipes.annealed_dropout(5, initial_rate=float("nan")),
        ValueError,
        "initial_rate",
        "nan",
    ),
]


@pytest.mark.parametrize("call, exc, name, received", RECIPE_CASES)
def test_recipes_refuse_bad_arguments(call, exc, name, received):
    """`late_dropout(epochs=10, cutoff=20)` never drops: refused, as is a
    cutoff past the end of early dropout (it never stops)."""
    from helpers import assert_bad_input

    assert_bad_input(call, exc, name, received)


def test_recipes_cutoff_just_below_epochs_is_fine():
    assert kerasdrop.recipes.late_dropout(10, cutoff=9).schedule == S.Late(0.1, 9)
    assert kerasdrop.recipes.early_dropout(2).schedule.cutoff == 1
