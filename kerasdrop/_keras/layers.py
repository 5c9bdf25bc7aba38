"""Layers, metrics and callbacks: the private hooks Keras gives them."""

import keras


def build_at_init(layer):
    """Marks `layer` built at the end of its constructor, as Keras' own
    stateless layers (`Dropout`) are; nothing under a Keras without the hook.

    Relies on: `Layer._build_at_init()` (a no-op for a layer that overrides
    `build`).
    """
    build = getattr(layer, "_build_at_init", None)
    if build is not None:
        build()


def metric_direction(metric):
    """`"up"` for a metric that improves upward (accuracy, precision, AUC),
    `"down"` for one that improves downward, None when the metric does not
    say.

    Relies on: `Metric._direction`, which `MonitorCallback` reads in
    `mode="auto"`.
    """
    return getattr(metric, "_direction", None)


def backup_metadata_path(callback):
    """The training metadata file of a `keras.callbacks.BackupAndRestore`
    (epoch and batch of the last save), or None under a Keras without one.

    Relies on: `BackupAndRestore._training_metadata_path`.
    """
    return getattr(callback, "_training_metadata_path", None)


def backup_hooks_available(callback):
    """True when the Keras installed has what `BackupWithSaveHook` relies
    on: the metadata file of `callback` (a `BackupAndRestore`) and the save
    step to follow.

    Relies on: `BackupAndRestore._training_metadata_path` and
    `BackupAndRestore._save_model`.
    """
    return backup_metadata_path(callback) is not None and hasattr(
        keras.callbacks.BackupAndRestore, "_save_model"
    )


class BackupWithSaveHook(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` that calls `after_save()` after each
    save, once the checkpoint and its metadata file are written.

    Relies on: `BackupAndRestore._save_model()`, the step that writes both
    (overridden here); check `backup_hooks_available` first.
    """

    def after_save(self):
        """Called after each checkpoint (nothing here)."""

    def _save_model(self):
        super()._save_model()
        self.after_save()
