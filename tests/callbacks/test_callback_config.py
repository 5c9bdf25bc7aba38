"""The callbacks' arguments and configs: deep copies, config round trips,
errors that name the argument."""

import copy

import pytest
from callback_models import BATCH, model_fn, xy

from kerasdrop import callbacks as C
from kerasdrop import recipes
from kerasdrop import schedules as S


def test_deep_copy_of_every_callback():
    cbs = [
        C.DropoutScheduler(
            {"input.*": S.Linear(0.1, 0.3, 3)}, unit="batch", mode="scale"
        ),
        C.DropoutScheduler(lambda i, r: 0.2),
        C.AdaptiveDropout(patience=1),
        C.DropoutLogger(per_batch=True),
        recipes.early_dropout(12),
        recipes.late_dropout(12),
        recipes.curriculum_dropout(100),
        recipes.annealed_dropout(10),
    ]
    for cb in cbs:
        clone = copy.deepcopy(cb)
        assert type(clone) is type(cb)
        assert clone.get_config() == cb.get_config() or callable(
            cb.get_config().get("schedule")
        )
        model = model_fn()
        model.fit(*xy(), batch_size=BATCH, epochs=1, verbose=0, callbacks=[clone])
        copy.deepcopy(cb)  # the original never saw a model


def test_bad_inputs():
    with pytest.raises(ValueError, match="unit='step'"):
        C.DropoutScheduler(S.Constant(0.1), unit="step")
    with pytest.raises(ValueError, match="mode='add'"):
        C.DropoutScheduler(S.Constant(0.1), mode="add")
    with pytest.raises(TypeError, match="schedule='linear'"):
        C.DropoutScheduler("linear")
    with pytest.raises(TypeError, match="layers=3"):
        C.DropoutScheduler(S.Constant(0.1), layers=3)
    with pytest.raises(ValueError, match="factor=0.5"):
        C.AdaptiveDropout(factor=0.5)
    with pytest.raises(ValueError, match="max_rate=1.0"):
        C.AdaptiveDropout(max_rate=1.0)
    with pytest.raises(ValueError, match="patience=-1"):
        C.AdaptiveDropout(patience=-1)
    model = model_fn()
    with pytest.raises(ValueError, match=r"available: \['input_drop', 'inner_drop'\]"):
        model.fit(
            *xy(),
            epochs=1,
            verbose=0,
            callbacks=[C.DropoutScheduler(S.Constant(0.1), layers="nope")],
        )
    with pytest.raises(ValueError, match=r"\['missing'\] match no"):
        model.fit(
            *xy(),
            epochs=1,
            verbose=0,
            callbacks=[C.DropoutScheduler({"missing": S.Constant(0.1)})],
        )


# Constructor arguments that used to pass, or fail with a bare or misnamed
# error: each now gets the Keras-style error naming the argument.
BAD_CONSTRUCTOR_ARGS = [
    (C.DropoutScheduler, {"schedule": lambda index: 0.1}, TypeError, "schedule"),
    (C.DropoutScheduler, {"schedule": lambda i, r, extra: 0.1}, TypeError, "schedule"),
    (C.DropoutScheduler, {"schedule": {"drop": lambda: 0.1}}, TypeError, "schedule"),
    (C.DropoutScheduler, {"schedule": 1.5}, ValueError, "schedule"),
    (C.DropoutScheduler, {"schedule": float("nan")}, ValueError, "schedule"),
    (C.DropoutScheduler, {"schedule": {"drop": -0.1}}, ValueError, "schedule"),
    (C.DropoutScheduler, {"schedule": 0.1, "layers": []}, ValueError, "layers"),
    (C.DropoutScheduler, {"schedule": 0.1, "verbose": -1}, ValueError, "verbose"),
    (C.AdaptiveDropout, {"underfit_gap": "x"}, TypeError, "underfit_gap"),
    (C.AdaptiveDropout, {"underfit_gap": None}, TypeError, "underfit_gap"),
    (C.AdaptiveDropout, {"underfit_gap": True}, TypeError, "underfit_gap"),
    (C.AdaptiveDropout, {"underfit_gap": float("nan")}, ValueError, "underfit_gap"),
    (C.AdaptiveDropout, {"underfit_gap": float("inf")}, ValueError, "underfit_gap"),
    (C.AdaptiveDropout, {"factor": "x"}, TypeError, "factor"),
    (C.AdaptiveDropout, {"factor": None}, TypeError, "factor"),
    (C.AdaptiveDropout, {"patience": 2.5}, TypeError, "patience"),
    (C.AdaptiveDropout, {"patience": "3"}, TypeError, "patience"),
    (C.AdaptiveDropout, {"cooldown": None}, TypeError, "cooldown"),
    (C.AdaptiveDropout, {"min_delta": float("inf")}, ValueError, "min_delta"),
    (C.AdaptiveDropout, {"min_delta": "x"}, TypeError, "min_delta"),
    (C.AdaptiveDropout, {"monitor": ""}, ValueError, "monitor"),
    (C.AdaptiveDropout, {"layers": ()}, ValueError, "layers"),
    (C.AdaptiveDropout, {"verbose": -2}, ValueError, "verbose"),
    (C.DropoutLogger, {"layers": []}, ValueError, "layers"),
]


@pytest.mark.parametrize("cls, kwargs, error, name", BAD_CONSTRUCTOR_ARGS)
def test_constructor_errors_name_the_argument(cls, kwargs, error, name):
    with pytest.raises(error) as info:
        cls(**kwargs)
    assert type(info.value) is error
    message = str(info.value)
    assert f"Invalid value received for argument `{name}`" in message
    assert f"Received: {name}=" in message


def test_callable_schedules_that_take_index_and_rate_are_accepted():
    def with_default(index, rate, extra=1):
        return 0.1

    class Callable:
        def __call__(self, *args):
            return 0.1

    for schedule in (
        with_default,
        Callable(),
        lambda *a: 0.1,
        max,
    ):  # max: no signature
        assert C.DropoutScheduler(schedule).schedule is schedule


def test_callbacks_round_trip_their_config():
    for cb in (
        C.DropoutScheduler({"a.*": S.Linear(0.1, 0.3, 3)}, unit="batch", mode="scale"),
        C.AdaptiveDropout(monitor="val_accuracy", patience=3),
        C.DropoutLogger(layers=["x", "y"], per_batch=True),
    ):
        clone = type(cb)(**cb.get_config())
        assert clone.get_config() == cb.get_config()
    plain = C.DropoutScheduler(S.Cosine(0.5, 0.1, 10))
    assert C.DropoutScheduler.from_config(plain.get_config()).schedule == plain.schedule
