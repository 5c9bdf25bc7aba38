"""kerasdrop on JAX and torch with TensorFlow missing.

`tensorflow` is an extra (`kerasdrop[tensorflow]`), not a hard dependency:
layers, schedules, callbacks, MC, convert/strip and metrics use `keras.ops`
only, and the TensorFlow-only parts (SavedModel, tf.distribute, tf2onnx)
import it where they run. The child hides every TensorFlow package, runs the
core on a non-TensorFlow backend and reports which kerasdrop modules asked
for TensorFlow (none may).
"""

import importlib.util

import pytest
from helpers import hiding, run_python

CHILD = (
    hiding("tensorflow", "tensorflow_text", "tf2onnx", "tf_keras", "tensorboard")
    + """
import keras
import numpy as np
import kerasdrop
from kerasdrop import callbacks, layers, schedules

keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input((4,)), keras.layers.Dense(8),
    layers.Dropout(schedules.Linear(0.0, 0.3, steps=4), seed=1),
    keras.layers.Dense(8), layers.Dropout(0.2, name="assigned"),
    keras.layers.Dense(8), keras.layers.Dropout(0.2),
    keras.layers.Dense(2, activation="softmax"),
])
model.compile("adam", "mse")
x, y = np.ones((16, 4), "float32"), np.zeros((16, 2), "float32")
model.fit(x, y, epochs=2, batch_size=8, verbose=0,
          callbacks=[callbacks.DropoutScheduler(schedules.Constant(0.1),
                                               layers=["assigned"])])
converted = kerasdrop.convert(model)
result = kerasdrop.mc.predict(converted, x[:3], samples=4, verbose=0,
                                  return_samples=True)
kerasdrop.metrics.predictive_entropy(result.samples)
kerasdrop.strip_dropout(converted)
print(keras.backend.backend(), tuple(result.mean.shape))
print(sorted(n for n in ASKED if str(n).startswith("kerasdrop")))
print(sorted(m for m, v in sys.modules.items()
             if m.split(".")[0] in HIDDEN and v is not None))
"""
)


# The child runs its own backend: the parent's does not matter.
@pytest.mark.one_backend
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_core_runs_without_tensorflow(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (the `{backend}` extra)")
    out = run_python(CHILD, KERAS_BACKEND=backend)
    assert out.returncode == 0, out.stderr[-3000:]
    name, asked, loaded = out.stdout.strip().split("\n")[-3:]
    assert name == f"{backend} (3, 2)"
    assert asked == "[]", f"kerasdrop modules asked for TensorFlow: {asked}"
    assert loaded == "[]", loaded


def test_import_names_the_extra_when_the_backend_is_missing(tmp_path):
    code = (
        "import sys\n"
        "sys.modules['tensorflow'] = None\n"
        "sys.argv = ['kerasdrop', 'inspect', 'model.keras']\n"
        "from kerasdrop.apps.cli import main\n"
    )
    out = run_python(code, timeout=120, cwd=tmp_path, KERAS_BACKEND="tensorflow")
    assert out.returncode == 1, out.stderr[-2000:]
    line = out.stderr.strip().splitlines()[-1]
    assert line.startswith("ImportError: Keras' 'tensorflow' backend is not installed")
    assert "pip install 'kerasdrop[tensorflow]'" in line
    assert list(tmp_path.iterdir()) == []  # nothing written
