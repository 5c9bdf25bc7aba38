"""`BackupAndRestore`: Keras' callback, plus what resumes dropout exactly."""

import json
import os
import weakref

import keras

from kerasdrop import _checks, _keras, graph
from kerasdrop.serving import artifacts

#: model -> (epoch, batches trained before it) where a kerasdrop
#: `BackupAndRestore` resumed the model's training; read by `DropoutScheduler`.
RESUMED = weakref.WeakKeyDictionary()


class BackupAndRestore(_keras.BackupWithSaveHook):
    """`keras.callbacks.BackupAndRestore` that also resumes dropout exactly.

    Keras' callback restores the weights (the layers' rate and step
    variables included) and restarts the interrupted epoch from its first
    batch. With `save_freq=<int>` the checkpoint can be mid-epoch: the
    epoch's batches before it are trained again, and a counter restored from
    it (a layer's in-graph schedule step, like the optimizer's `iterations`)
    stays ahead by them for the rest of training. On a dataset of unknown
    length nothing tells `DropoutScheduler(unit="batch")` how many batches
    the earlier epochs had.

    This subclass takes the same arguments and also writes, with each
    checkpoint, the batches trained before its epoch and in it. When it
    resumes, it moves every in-graph schedule back to the step of the
    epoch's first batch and gives `DropoutScheduler` the batch count, so the
    resumed run sees the rates of an uninterrupted one, batch for batch.
    (The optimizer's `iterations` stays as Keras restores it.)

    Example:

    >>> import kerasdrop
    >>> backup = kerasdrop.callbacks.BackupAndRestore("/tmp/run", save_freq=100)
    >>> # model.fit(dataset, epochs=10, callbacks=[backup])
    """

    def __init__(
        self,
        backup_dir,
        save_freq="epoch",
        double_checkpoint=False,
        delete_checkpoint=True,
    ):
        artifacts.as_path(backup_dir, name="backup_dir")
        save_freq = _check_save_freq(save_freq)
        _checks.check_bool("double_checkpoint", double_checkpoint)
        _checks.check_bool("delete_checkpoint", delete_checkpoint)
        super().__init__(
            backup_dir,
            save_freq=save_freq,
            double_checkpoint=double_checkpoint,
            delete_checkpoint=delete_checkpoint,
        )
        # Keras' private save hook and metadata file: refuse rather than
        # resume inexactly if this Keras version has neither.
        if not _keras.backup_hooks_available(self):
            raise RuntimeError(
                f"kerasdrop.callbacks.BackupAndRestore does not support the "
                f"BackupAndRestore of Keras {keras.__version__}."
            )
        self._before = 0  # batches trained before the current epoch
        self._in_epoch = 0

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)  # restores the weights and the epoch
        self._before = self._in_epoch = 0
        RESUMED.pop(self.model, None)
        metadata = self._read_metadata()
        record = None if metadata is None else metadata.get("kerasdrop")
        if record is None:  # nothing saved, or by keras.callbacks.BackupAndRestore
            return
        self._before = record["batches_before_epoch"]
        replayed = record["batches_in_epoch"]
        for layer in graph.dropout_layers(self.model):
            if layer.schedule is not None and replayed:
                layer.step = layer.step - replayed
        RESUMED[self.model] = (metadata["epoch"], self._before)

    def on_train_batch_end(self, batch, logs=None):
        self._in_epoch = batch + 1  # before Keras may save
        super().on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._before += self._in_epoch
        self._in_epoch = 0
        super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        RESUMED.pop(self.model, None)
        super().on_train_end(logs)

    def _read_metadata(self):
        path = _keras.backup_metadata_path(self)
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    def after_save(self):
        """Adds the batch counts to the metadata file Keras just wrote."""
        metadata = self._read_metadata()
        metadata["kerasdrop"] = {
            "batches_before_epoch": self._before,
            "batches_in_epoch": self._in_epoch,
        }
        with open(_keras.backup_metadata_path(self), "w") as f:
            json.dump(metadata, f)


def _check_save_freq(save_freq):
    """`'epoch'`, or a checkpoint every `save_freq` >= 1 batches (an `int`)."""
    expected = "'epoch' or an integer >= 1 (a checkpoint every that many batches)"
    if isinstance(save_freq, str):
        if save_freq != "epoch":
            raise _checks.value_error("save_freq", expected, save_freq)
        return save_freq
    return _checks.check_int("save_freq", save_freq, minimum=1, expected=expected)
