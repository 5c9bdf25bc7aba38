"""`DropoutLogger`: only logs the live rates."""

import keras

from kerasdrop import _checks
from kerasdrop.callbacks.selection import check_layers, log_rates, select_layers


@keras.saving.register_keras_serializable(package="kerasdrop")
class DropoutLogger(keras.callbacks.Callback):
    """Only logs: writes every kerasdrop layer's live rate into `logs`.

    Keys are `dropout/<layer name>`, at each epoch end (and each batch end
    with `per_batch=True`), so History, CSVLogger, the progress bar and
    `keras.callbacks.TensorBoard` (placed after it) record them. Learned
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
        self._layers = select_layers(self.model, self.layers, who="DropoutLogger")

    def on_train_batch_end(self, batch, logs=None):
        if self.per_batch:
            model = self.model  # on JAX this syncs the training state first
            log_rates(model, logs, self._layers)

    def on_epoch_end(self, epoch, logs=None):
        model = self.model
        log_rates(model, logs, self._layers)

    def get_config(self):
        return {"layers": self.layers, "per_batch": self.per_batch}
