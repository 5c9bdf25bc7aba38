"""Recurrent layers: the cell and the step loop of Keras' RNNs."""

import keras


def adopt_cell(layer, cell_class):
    """Makes `layer.cell` an instance of `cell_class`, a subclass of its
    class that adds methods only (no state): the cell Keras' constructor
    built stays, with every attribute it set.

    Relies on: Keras' RNN constructors building their cell, and the cell's
    constructor setting all the state its methods read.
    """
    if not issubclass(cell_class, type(layer.cell)):
        raise TypeError(f"{cell_class.__name__} does not extend {type(layer.cell)}")
    layer.cell.__class__ = cell_class


class StepLoopSwitch:
    """Mixin for subclasses of Keras' `LSTM`, `GRU` and `SimpleRNN`: a call
    for which the layer's `_needs_step_loop()` is true runs Keras' generic
    step loop (the cell's `call` at every step, no cuDNN); every other call
    runs the Keras layer's own loop (cuDNN where it can).

    Relies on: `RNN.inner_loop(sequences, initial_state, mask, training)`,
    the hook between `RNN.call` and the backend's loop that `LSTM` and `GRU`
    override with their cuDNN path.
    """

    def _needs_step_loop(self):
        return False

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self._needs_step_loop():
            return super().inner_loop(
                sequences, initial_state, mask=mask, training=training
            )
        if keras.tree.is_nested(mask):
            mask = mask[0]
        return keras.layers.RNN.inner_loop(
            self, sequences, initial_state, mask=mask, training=training
        )
