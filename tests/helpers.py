"""Helpers shared by the tests."""

from kerasdrop import layers as L


class CountingDropout(L.Dropout):
    """Counts Python executions of `call`: each one is a trace (or an eager call)."""

    traces = 0

    def call(self, inputs, training=False):
        type(self).traces += 1
        return super().call(inputs, training=training)
