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
    """Any backend's tensor (or a nest of them) as NumPy: torch tensors that
    require grad are detached, lists/tuples/dicts are converted leaf by leaf."""
    import keras
    import numpy as np

    def one(leaf):
        if leaf is None or isinstance(leaf, (str, bytes)):
            return leaf
        return np.asarray(keras.ops.convert_to_numpy(leaf))

    return keras.tree.map_structure(one, x)
