"""The library apart from the applications (`kerasdrop.apps`)."""

from helpers import hiding, run_python

CORE = (
    "kerasdrop",
    "kerasdrop.layers",
    "kerasdrop.mc",
    "kerasdrop.serving",
    "kerasdrop.callbacks",
    "kerasdrop.schedules",
    "kerasdrop.graph.conversion",
    "kerasdrop.graph",
    "kerasdrop.metrics",
    "kerasdrop.recipes",
    "kerasdrop.tuning",
    "kerasdrop.inspection",
    "kerasdrop.graph.registry",
    "kerasdrop.serving.artifacts",
    "kerasdrop.plots",
    "kerasdrop.data",
)

# Keras itself imports matplotlib and scikit-learn when they are installed
# (keras.src.visualization, keras.src.wrappers) and does without them, so
# "not in sys.modules" can only hold where they are missing: the child makes
# them missing as Python sees a missing package (None in sys.modules, which
# `importlib.util.find_spec` probes, as torch._dynamo does, answer with
# None), records which module imported them, and uses the core.
CHILD = (
    hiding("matplotlib", "sklearn")
    + """
for name in CORE:
    __import__(name)
import keras
import numpy as np
import kerasdrop

model = keras.Sequential([
    keras.Input((4,)), keras.layers.Dense(8),
    kerasdrop.layers.Dropout(0.5, seed=1), keras.layers.Dense(2),
])
result = kerasdrop.mc.predict(model, np.ones((3, 4), "float32"), samples=4, verbose=0)
kerasdrop.strip_dropout(model)
print(result.mean.shape)
print(sorted(n for n in ASKED if str(n).startswith("kerasdrop")))
print(sorted(m for m, v in sys.modules.items()
             if (m.split(".")[0] in HIDDEN and v is not None)
             or m.startswith("kerasdrop.apps")))
"""
)


def test_core_works_without_matplotlib_and_sklearn():
    code = f"CORE = {CORE!r}\n{CHILD}"
    out = run_python(code)
    assert out.returncode == 0, out.stderr[-3000:]
    shape, asked, loaded = out.stdout.strip().split("\n")[-3:]
    assert shape == "(3, 2)"
    assert asked == "[]", f"kerasdrop modules imported them: {asked}"
    assert loaded == "[]", loaded  # and `import kerasdrop` leaves apps out
