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
