import json
import math
from pathlib import Path

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops

from kerasdrop import schedules as S
from helpers import to_numpy

ALL = [
    S.Constant(0.3),
    S.Linear(0.1, 0.5, steps=40, delay=5),
    S.Cosine(0.5, 0.05, steps=30, delay=3),
    S.Exponential(0.4, 0.9, decay_steps=7),
    S.Exponential(0.1, 1.5, decay_steps=3, staircase=True),
    S.Piecewise([10, 20], [0.1, 0.3, 0.5]),
    S.Curriculum(0.5, gamma=0.05),
    S.Annealed(0.5, steps=50),
    S.Early(0.2, cutoff=25),
    S.Early(0.2, cutoff=25, mode="linear"),
    S.Late(0.3, cutoff=12),
    S.Warmup(S.Cosine(0.4, 0.1, 20), warmup_steps=10, initial_rate=0.05),
    S.Join([S.Constant(0.0), S.Linear(0.0, 0.4, 10), S.Late(0.2, 3)], [5, 30]),
]
IDS = [repr(s) for s in ALL]


def test_formulas_match_the_papers():
    assert S.Linear(0.1, 0.5, steps=40, delay=5)(0) == 0.1
    assert S.Linear(0.1, 0.5, steps=40, delay=5)(25) == pytest.approx(0.3)
    assert S.Linear(0.1, 0.5, steps=40, delay=5)(1000) == pytest.approx(0.5)
    assert S.Cosine(0.5, 0.0, steps=10)(5) == pytest.approx(0.25)
    assert S.Cosine(0.5, 0.0, steps=10)(10) == pytest.approx(0.0)
    assert S.Exponential(0.4, 0.5, decay_steps=10)(20) == pytest.approx(0.1)
    assert S.Exponential(0.4, 0.5, 10, staircase=True)(19) == pytest.approx(0.2)
    s = S.Piecewise([10, 20], [0.1, 0.3, 0.5])
    assert [s(0), s(9), s(10), s(19), s(20), s(99)] == [0.1, 0.1, 0.3, 0.3, 0.5, 0.5]
    # Morerio et al.: theta(t) = (1 - theta_bar) exp(-gamma t) + theta_bar.
    theta_bar, gamma = 0.6, 0.01
    for t in (0, 10, 100, 1000):
        keep = (1 - theta_bar) * math.exp(-gamma * t) + theta_bar
        assert S.Curriculum(1 - theta_bar, gamma)(t) == pytest.approx(1 - keep)
    # Rennie et al.: p0 * max(0, 1 - t / N).
    assert S.Annealed(0.5, steps=10)(5) == pytest.approx(0.25)
    assert S.Annealed(0.5, steps=10)(50) == 0.0
    # Liu et al.: early / late dropout.
    assert (S.Early(0.1, 10)(9), S.Early(0.1, 10)(10)) == (0.1, 0.0)
    assert S.Early(0.1, 10, mode="linear")(5) == pytest.approx(0.05)
    assert (S.Late(0.1, 10)(9), S.Late(0.1, 10)(10)) == (0.0, 0.1)
    w = S.Warmup(S.Constant(0.4), warmup_steps=4)
    assert [w(0), w(2), w(4), w(100)] == pytest.approx([0.0, 0.2, 0.4, 0.4])
    j = S.Join([S.Constant(0.0), S.Linear(0.0, 0.4, steps=4)], boundaries=[10])
    assert [j(5), j(10), j(12), j(99)] == pytest.approx([0.0, 0.0, 0.2, 0.4])


def test_python_numbers_give_python_floats():
    for s in ALL:
        assert type(s(3)) is float


@pytest.mark.parametrize("schedule", ALL, ids=IDS)
def test_tensor_formula_matches_python(schedule):
    steps = np.arange(0, 120, dtype="int32")
    in_graph = ops.convert_to_numpy(schedule(ops.convert_to_tensor(steps)))
    python = np.array([schedule(int(t)) for t in steps])
    assert in_graph.dtype == np.float32
    np.testing.assert_allclose(
        to_numpy(in_graph), to_numpy(python), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("schedule", ALL, ids=IDS)
def test_config_round_trip(schedule):
    restored = S.deserialize(S.serialize(schedule))
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
    assert restored == schedule
    assert [restored(t) for t in range(0, 60, 7)] == [
        schedule(t) for t in range(0, 60, 7)
    ]
    assert type(schedule).from_config(schedule.get_config()) == schedule


def test_values_are_clipped_into_unit_interval():
    grow = S.Exponential(0.5, 10.0, decay_steps=1)
    assert grow(5) == S.MAX_RATE < 1.0
    assert grow(10**6) == S.MAX_RATE  # no OverflowError
    assert float(ops.convert_to_numpy(grow(ops.convert_to_tensor(50)))) < 1.0


def test_get_accepts_float_schedule_and_config():
    assert S.get(0.2) == S.Constant(0.2)
    lin = S.Linear(0.0, 0.3, 10)
    assert S.get(lin) is lin
    assert S.get(S.serialize(lin)) == lin
    with pytest.raises(TypeError, match="schedule"):
        S.get("linear")


@pytest.mark.parametrize(
    "make, exc, fragment",
    [
        (lambda: S.Constant(1.0), ValueError, "rate=1.0"),
        (lambda: S.Constant(-0.1), ValueError, "rate=-0.1"),
        (lambda: S.Constant(float("nan")), ValueError, "rate=nan"),
        (lambda: S.Constant("0.2"), TypeError, "rate='0.2'"),
        (lambda: S.Constant(True), TypeError, "rate=True"),
        (lambda: S.Linear(0.0, 1.2, 10), ValueError, "end=1.2"),
        (lambda: S.Linear(0.0, 0.2, 0), ValueError, "steps=0"),
        (lambda: S.Linear(0.0, 0.2, 10, delay=-1), ValueError, "delay=-1"),
        (lambda: S.Cosine(0.0, 0.2, float("inf")), ValueError, "steps=inf"),
        (lambda: S.Exponential(0.2, 0.0, 10), ValueError, "decay_rate=0"),
        (lambda: S.Exponential(0.2, 0.5, 10, staircase=1), TypeError, "staircase=1"),
        (lambda: S.Piecewise([10], [0.1]), ValueError, "values=[0.1]"),
        (lambda: S.Piecewise([20, 10], [0.1, 0.2, 0.3]), ValueError, "boundaries="),
        (lambda: S.Piecewise("10", [0.1, 0.2]), TypeError, "boundaries='10'"),
        (lambda: S.Curriculum(0.5, gamma=0), ValueError, "gamma=0"),
        (lambda: S.Annealed(0.5, steps=-3), ValueError, "steps=-3"),
        (lambda: S.Early(0.2, 10, mode="cubic"), ValueError, "mode='cubic'"),
        (lambda: S.Late(0.2, cutoff="5"), TypeError, "cutoff='5'"),
        (lambda: S.Warmup(lambda t: 0.1, 10), TypeError, "schedule=<function"),
        (lambda: S.Join([S.Constant(0.1)], [5]), ValueError, "boundaries=[5]"),
        # Issue 16: float32, huge numbers, non-lists.
        (lambda: S.Constant(0.99999999), ValueError, "rounds to 1.0"),
        (lambda: S.Linear(0.0, 0.99999999, 10), ValueError, "end=0.99999999"),
        (lambda: S.Linear(0.0, 0.2, 1e-50), ValueError, "steps=1e-50"),
        (lambda: S.Exponential(0.2, 1e300, 10), ValueError, "decay_rate=1e+300"),
        (lambda: S.Exponential(0.2, 0.5, 2**200), ValueError, "decay_steps=1606"),
        (lambda: S.Late(0.2, cutoff=10**400), ValueError, "cutoff=1000"),
        (lambda: S.Warmup(S.Constant(0.2), 1e-45), ValueError, "warmup_steps=1e-45"),
        (lambda: S.Join([S.Constant(0.1)], None), TypeError, "boundaries=None"),
        (lambda: S.Join([S.Constant(0.1)], 5), TypeError, "boundaries=5"),
        (lambda: S.Join([], []), ValueError, "schedules=[]"),
        (lambda: S.Piecewise({10: 1}, [0.1, 0.2]), TypeError, "boundaries={10: 1}"),
        (lambda: S.Piecewise([10], None), TypeError, "values=None"),
    ],
)
def test_bad_parameters_raise_keras_style(make, exc, fragment):
    with pytest.raises(exc) as info:
        make()
    message = str(info.value)
    assert "Invalid value received for argument" in message
    assert fragment in message


@pytest.mark.parametrize(
    "step, exc",
    [
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (-1, ValueError),
        pytest.param(10**400, ValueError, id="huge-int"),
        ("3", TypeError),
        (None, TypeError),
        (True, TypeError),
    ],
)
def test_bad_step_raises(step, exc):
    with pytest.raises(exc, match="Invalid value received for argument `step`") as info:
        S.Linear(0.0, 0.3, 10)(step)
    assert f"step={step!r}" in str(info.value)


def test_exponential_from_zero_stays_zero():
    # Was NaN (0 * inf) in Python and in-graph, against "clipped into [0, 1)".
    s = S.Exponential(0.0, 2.0, 1)
    assert s(2000) == 0.0
    assert float(ops.convert_to_numpy(s(ops.convert_to_tensor(2000)))) == 0.0


def test_rates_are_checked_as_float32_stores_them():
    assert S.MAX_RATE == float(np.nextafter(np.float32(1), np.float32(0)))
    assert S.check_rate("rate", S.MAX_RATE) == S.MAX_RATE
    assert S.check_rate("rate", 0.99999997) == 0.99999997  # float32: MAX_RATE
    for bad in (0.99999998, 0.999999999, 1 - 1e-12):
        with pytest.raises(ValueError, match=r"Expected a float in \[0, 1\)"):
            S.check_rate("rate", bad)


@settings(max_examples=60, deadline=None)
@given(
    index=st.integers(0, len(ALL) - 1),
    step=st.integers(0, 10**7),
)
def test_any_step_gives_a_rate_in_unit_interval(index, step):
    value = ALL[index](step)
    assert 0.0 <= value <= S.MAX_RATE < 1.0


@settings(max_examples=40, deadline=None)
@given(
    start=st.floats(0, 0.99),
    end=st.floats(0, 0.99),
    steps=st.integers(1, 10_000),
    step=st.integers(0, 20_000),
)
def test_linear_stays_between_its_ends(start, end, steps, step):
    value = S.Linear(start, end, steps)(step)
    assert min(start, end) - 1e-12 <= value <= max(start, end) + 1e-12


# ----------------------------------------------------------------------------
# Every valid parameter set: finite values in [0, 1), graph == Python.
# ----------------------------------------------------------------------------
F32_MAX = float(np.finfo(np.float32).max)
F32_TINY = float(np.finfo(np.float32).tiny)  # smallest valid "> 0" parameter
HUGE_STEPS = [0, 1, 2000, 2**31 - 1]


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _random_schedule(rng, cls, depth=0):
    """`cls` with parameters drawn from extremes and random values."""

    def rate():
        return _pick(rng, [0.0, S.MAX_RATE, float(rng.uniform(0, 1))])

    def positive():
        return _pick(rng, [F32_TINY, 1, float(rng.uniform(0.5, 3000)), 1e30, F32_MAX])

    def nonneg():
        return _pick(rng, [0, float(rng.uniform(0, 3000)), F32_MAX])

    def decay():
        return _pick(
            rng,
            [
                F32_TINY,
                float(rng.uniform(0.01, 1)),
                1.0,
                float(rng.uniform(1, 3)),
                2.0,
                F32_MAX,
            ],
        )

    def inner():
        return _random_schedule(
            rng, _pick(rng, [c for c in CLASSES if c not in (S.Warmup, S.Join)]), 1
        )

    if cls is S.Constant:
        return S.Constant(rate())
    if cls in (S.Linear, S.Cosine):
        return cls(rate(), rate(), positive(), delay=nonneg())
    if cls is S.Exponential:
        return S.Exponential(rate(), decay(), positive(), bool(rng.integers(2)))
    if cls is S.Piecewise:
        bounds = sorted({float(rng.uniform(0, 3000)) for _ in range(2)} | {0.0})
        return S.Piecewise(bounds, [rate() for _ in range(len(bounds) + 1)])
    if cls is S.Curriculum:
        return S.Curriculum(rate(), positive())
    if cls is S.Annealed:
        return S.Annealed(rate(), positive())
    if cls is S.Early:
        return S.Early(rate(), positive(), _pick(rng, ["constant", "linear"]))
    if cls is S.Late:
        return S.Late(rate(), nonneg())
    if cls is S.Warmup:
        return S.Warmup(inner(), positive(), initial_rate=rate())
    bounds = sorted({float(rng.uniform(1, 3000)) for _ in range(2)})
    return S.Join([inner() for _ in range(len(bounds) + 1)], bounds)


CLASSES = [
    S.Constant,
    S.Linear,
    S.Cosine,
    S.Exponential,
    S.Piecewise,
    S.Curriculum,
    S.Annealed,
    S.Early,
    S.Late,
    S.Warmup,
    S.Join,
]


def _compiled(fn):
    """`fn` as each backend compiles a train step: XLA on JAX and TensorFlow;
    torch runs the same `keras.ops` eagerly (Keras' default there)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.jit(fn)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True, autograph=False)
    if backend == "torch":
        return fn
    raise NotImplementedError(f"no compiler for backend {backend!r}")


def test_all_schedule_classes_are_covered():
    public = {getattr(S, n) for n in S.__all__}
    assert {
        c
        for c in public
        if isinstance(c, type) and issubclass(c, S.Schedule) and c is not S.Schedule
    } == set(CLASSES)


def _valid_schedules(per_class, seed=16):
    """Hand-picked extremes, then `per_class` random schedules per class."""
    rng = np.random.default_rng(seed)
    extremes = [
        S.Exponential(0.0, 2.0, 1),
        S.Exponential(0.3, 2.0, 1),
        S.Exponential(F32_TINY / 2, F32_MAX, F32_TINY),  # rate 0 in float32
        S.Exponential(S.MAX_RATE, F32_TINY, F32_TINY, staircase=True),
        S.Linear(0.0, S.MAX_RATE, F32_TINY, delay=F32_MAX),
        S.Curriculum(S.MAX_RATE, F32_MAX),
        S.Warmup(S.Exponential(0.5, 3.0, 1), F32_TINY, initial_rate=S.MAX_RATE),
        S.Join([S.Exponential(0.2, F32_MAX, 1), S.Curriculum(0.0, F32_TINY)], [1]),
    ]
    return extremes + [
        _random_schedule(rng, cls) for cls in CLASSES for _ in range(per_class)
    ]


def _assert_rates(values):
    values = np.asarray(to_numpy(values))
    assert np.isfinite(to_numpy(values)).all()
    assert (values >= 0).all() and (values <= S.MAX_RATE).all()
    assert (values.astype("float32") < 1).all()


def test_every_valid_schedule_gives_finite_rates_below_one():
    schedules = _valid_schedules(per_class=40)
    python = [[s(t) for t in HUGE_STEPS] for s in schedules]
    assert python[0] == [0.0] * 4  # was NaN: 0 * 2 ** 2000
    assert python[1][2] == S.MAX_RATE  # 0.3 * inf, clipped
    _assert_rates(python)


@pytest.mark.slow  # ~1-2 s: traces and compiles 19 schedules
def test_every_valid_schedule_in_graph_matches_python():
    schedules = _valid_schedules(per_class=1)
    python = np.array([[s(t) for t in HUGE_STEPS] for s in schedules])
    steps = ops.convert_to_tensor(
        np.array(to_numpy(HUGE_STEPS), "int32")
    )  # as the layer's

    def values(t):
        return ops.stack([ops.cast(s(t), "float32") for s in schedules])

    for got in (values(steps), _compiled(values)(steps)):
        got = ops.convert_to_numpy(got)
        _assert_rates(got)
        bad = ~np.isclose(to_numpy(got), to_numpy(python), rtol=1e-5, atol=1e-6)
        assert not bad.any(), [
            (schedules[i], HUGE_STEPS[j], python[i, j], got[i, j])
            for i, j in zip(*np.nonzero(to_numpy(bad)))
        ]


# ----------------------------------------------------------------------------
# Compatibility: configs written by 0.1.0 (one module, `Early`, `Late` and
# `Warmup` with formulas of their own) load and give the same values.
# ----------------------------------------------------------------------------
SAVED = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "schedules_0.1.0.json").read_text()
)


@pytest.mark.parametrize(
    "saved", SAVED["cases"], ids=[c["config"]["class_name"] for c in SAVED["cases"]]
)
def test_configs_written_by_0_1_0_load_with_the_same_values(saved):
    schedule = S.deserialize(saved["config"])
    assert type(schedule).__name__ == saved["config"]["class_name"]
    assert schedule.get_config() == S.deserialize(S.serialize(schedule)).get_config()
    assert S.serialize(schedule)["config"] == saved["config"]["config"]
    python = [schedule(t) for t in SAVED["steps"]]
    assert python == pytest.approx(saved["values"], rel=1e-12, abs=0)
    steps = ops.convert_to_tensor(np.array(to_numpy(SAVED["steps"]), "int32"))
    np.testing.assert_allclose(
        to_numpy(ops.convert_to_numpy(schedule(steps))),
        to_numpy(saved["values"]),
        rtol=1e-6,
        atol=1e-7,
    )


def test_named_schedules_are_their_definitions():
    pairs = [
        (S.Early(0.2, cutoff=25), S.Piecewise([25], [0.2, 0.0])),
        (S.Early(0.2, cutoff=25, mode="linear"), S.Annealed(0.2, steps=25)),
        (S.Late(0.3, cutoff=12), S.Piecewise([12], [0.0, 0.3])),
        (
            S.Warmup(S.Cosine(0.4, 0.1, 20), warmup_steps=10, initial_rate=0.05),
            S.Join([S.Linear(0.05, 0.4, steps=10), S.Cosine(0.4, 0.1, 20)], [10]),
        ),
    ]
    for named, definition in pairs:
        assert named.definition == definition
        assert [named(t) for t in range(0, 60, 3)] == [
            definition(t) for t in range(0, 60, 3)
        ]


def test_maths_functions_are_public_and_serve_both_worlds():
    for name in (
        "exp",
        "cos",
        "floor",
        "minimum",
        "maximum",
        "where",
        "power",
        "clip_rate",
        "progress",
        "is_python",
    ):
        assert name in S.__all__ and callable(getattr(S, name))
    assert S.power(0.5, S.floor(25 / 10)) == 0.25
    assert S.where(3 >= 2, 0.1, 0.0) == 0.1
    t = ops.convert_to_tensor(25.0)
    assert float(ops.convert_to_numpy(S.power(0.5, S.floor(t / 10)))) == 0.25
    assert float(ops.convert_to_numpy(S.clip_rate(t))) == pytest.approx(S.MAX_RATE)
    assert not S.is_python(t) and S.is_python(1, 2.0)
