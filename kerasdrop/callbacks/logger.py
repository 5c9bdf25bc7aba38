"""`DropoutLogger`: only logs the live rates."""

import keras

from kerasdrop import _checks, graph
from kerasdrop.callbacks.selection import (
    check_layers,
    log_keys,
    log_rates,
    select_layers,
)


@keras.saving.register_keras_serializable(package="kerasdrop")
class DropoutLogger(keras.callbacks.Callback):
    """Only logs: writes every kerasdrop layer's live rate into `logs`.

    Keys are `dropout/<path>` (`kerasdrop.callbacks.log_keys`: the layer
    name for a layer of the model's own graph, `dropout/<block>/<attribute>`
    inside a block), unique per layer and the same on every run, written at
    each epoch end (and each batch end with `per_batch=True`), so History,
    CSVLogger, the progress bar and `keras.callbacks.TensorBoard` (placed
    after it) record them. Learned
    rates (Concrete Dropout) are logged the same way.

    Example:

    >>> import kerasdrop
    >>> logger = kerasdrop.callbacks.DropoutLogger()
    >>> # history = model.fit(..., callbacks=[logger]); history.history["dropout/drop"]
    """

    def __init__(self, layers=None, per_batch=False):
        super().__init__()
        self.layers = check_layers(layers)
        self.per_batch = _checks.check_bool("per_batch", per_batch)
        self._layers = None  # found at train begin, through `self.model`

    def on_train_begin(self, logs=None):
        model = self.model
        sites = graph.find(model)
        layers = select_layers(model, self.layers, who="DropoutLogger", sites=sites)
        self._layers = log_keys(model, layers, sites)  # {key: layer}

    def on_train_batch_end(self, batch, logs=None):
        if self.per_batch:
            model = self.model  # on JAX this syncs the training state first
            log_rates(model, logs, self._layers)

    def on_epoch_end(self, epoch, logs=None):
        model = self.model
        log_rates(model, logs, self._layers)

    def get_config(self):
        return {"layers": self.layers, "per_batch": self.per_batch}
