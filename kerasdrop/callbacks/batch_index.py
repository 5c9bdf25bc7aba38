"""The global batch index of `DropoutScheduler(unit="batch")`."""

from kerasdrop.callbacks.backup import RESUMED


class BatchIndex:
    """Index of each batch over the whole training, resumable.

    `epoch * steps + batch` when Keras knows the epoch length
    (`params["steps"]`), so a resumed run continues exactly; on a dataset of
    unknown length, the batches trained so far, counted at each batch end
    (Keras opens one batch more than it trains to find the end). A fit that
    starts past epoch 0 on such a dataset takes the count of the earlier
    epochs from `kerasdrop.callbacks.BackupAndRestore`.

    Example:

    >>> index = BatchIndex()
    >>> index.begin_epoch(0, {"steps": None}, model=None)
    0
    >>> index.end_batch(2)
    >>> index.begin_epoch(1, {"steps": None}, model=None), index.at(1)
    (3, 4)
    """

    def __init__(self):
        self.steps = None
        self.before = None  # unknown length: batches trained before the epoch
        self.in_epoch = 0  # and in it so far
        self.epoch = 0

    def begin_epoch(self, epoch, params, model):
        """Index of the first batch of `epoch`."""
        self.epoch = epoch
        self.steps = (params or {}).get("steps")
        if self.steps:
            return epoch * self.steps
        resumed = RESUMED.get(model) if model is not None else None
        if self.before is not None:
            self.before += self.in_epoch
        elif epoch == 0:
            self.before = 0
        elif resumed is not None and resumed[0] == epoch:
            self.before = resumed[1]
        else:
            raise ValueError(
                f"DropoutScheduler(unit='batch') starts at epoch {epoch} on a "
                "dataset of unknown length, so it cannot know how many "
                "batches the earlier epochs had (its global batch index). "
                "Resume with `kerasdrop.callbacks.BackupAndRestore` in place "
                "of `keras.callbacks.BackupAndRestore` (it records the "
                "count), or pass `steps_per_epoch` to `fit`."
            )
        self.in_epoch = 0
        return self.before

    def at(self, batch):
        """Index of batch `batch` of the current epoch."""
        if self.steps:
            return self.epoch * self.steps + batch
        return self.before + batch

    def end_batch(self, batch):
        self.in_epoch = batch + 1
