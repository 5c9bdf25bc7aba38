"""Helpers shared by the tests."""

from kerasdrop import layers as L


class CountingDropout(L.Dropout):
    """Counts Python executions of `call`: each one is a trace (or an eager call)."""

    traces = 0

    def call(self, inputs, training=False):
        type(self).traces += 1
        return super().call(inputs, training=training)


def assert_bad_input(call, exc, name, received):
    """`call()` raises exactly `exc` (ValueError or TypeError) in Keras'
    format, naming argument `name` and showing `received` (a fragment of
    the "Received: ..." part). Returns the message."""
    import pytest

    with pytest.raises((ValueError, TypeError)) as info:
        call()
    text = str(info.value)
    assert type(info.value) is exc, text
    assert f"Invalid value received for argument `{name}`" in text, text
    assert received in text.split("Received:", 1)[-1], text
    return text


def to_numpy(x):
    """`x` as NumPy on any backend: torch tensors that require grad are
    detached, Keras variables read, dicts converted value by value, lists
    and tuples stacked (kept as a list of arrays when ragged); anything else
    goes through `np.asarray`."""
    import keras
    import numpy as np

    if isinstance(x, dict):
        return {key: to_numpy(value) for key, value in x.items()}
    if isinstance(x, (list, tuple)):
        items = [to_numpy(item) for item in x]
        try:
            return np.asarray(items)
        except ValueError:  # ragged
            return items
    if isinstance(x, keras.Variable):
        return np.asarray(keras.ops.convert_to_numpy(x))
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor
        return x.detach().cpu().numpy()
    return np.asarray(x)


#: Why a trace count is not checked on eager torch.
NO_TRACE_ON_TORCH = "torch runs eagerly: there is no trace to count"


def traces_python_once(jit_compile="auto"):
    """Whether a trace count is meaningful: Keras' compiled step runs a
    layer's `call` in Python once (a trace), not per step, on TensorFlow and
    JAX. Eager torch runs Python at every step, and under `torch.compile`
    the counter itself (a Python side effect) makes dynamo recompile, so no
    trace is counted on torch."""
    import keras

    del jit_compile  # the same answer with and without compilation
    return keras.backend.backend() != "torch"


def assert_no_retrace(traces, jit_compile="auto"):
    """The trace counts recorded after each step never grew (no retrace),
    where a trace exists (`traces_python_once`)."""
    if traces_python_once(jit_compile):
        assert len(set(traces)) == 1, f"retraced: {sorted(set(traces))}"


def hiding(*packages):
    """Python source to run first in a child process: `packages` look
    missing as Python sees a missing package (None in `sys.modules`, so that
    `import` fails and `importlib.util.find_spec` probes, as torch._dynamo
    makes, answer None), and `ASKED` collects the modules that import them."""
    return f"""
import builtins
import sys

ASKED = []
HIDDEN = {packages!r}
for hidden in HIDDEN:
    sys.modules[hidden] = None
real_import = builtins.__import__


def recording_import(name, globals=None, *args, **kwargs):
    if name.split(".")[0] in HIDDEN:
        ASKED.append((globals or {{}}).get("__name__"))
    return real_import(name, globals, *args, **kwargs)


builtins.__import__ = recording_import
"""


def run_python(code, timeout=300, cwd=None, **env):
    """Runs `code` in a fresh Python with `env` added to the environment;
    returns the `CompletedProcess` (text output captured)."""
    import os
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=dict(os.environ, **env),
    )
