"""Per-batch schedules inside the compiled train step.

`DropoutScheduler(unit="batch")` with `kerasdrop.schedules.Schedule`s lends
each selected layer a schedule for one `fit` (`layer.attach_driver`): the
layer evaluates it at its step variable inside the train step, as it does
its own schedule, and the step advances with each training call. The
callback only moves the steps to the index of the epoch's first batch at
each epoch start, so nothing runs in Python per batch.

A driver is read when the train step is traced, so the model needs a train
function traced with its drivers. `Drive` (one per model) keeps the function
traced without any (Keras' own) and the last one traced with drivers: a
later `fit` with the same schedules traces nothing new, and a `fit` without
them runs Keras' own function again.
"""

from kerasdrop import _keras
from kerasdrop.layers.base import MAX_STEP

_ATTR = "_kerasdrop_drive"


class Drive:
    """The train functions of one model and the drivers lent to its layers.

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((2,)),
    ...     kerasdrop.layers.Dropout(0.1, name="drop")])
    >>> model.compile("sgd", "mse")
    >>> drive = Drive.of(model)
    >>> drop = model.get_layer("drop")
    >>> drive.lend("owner", [(drop, kerasdrop.schedules.Linear(0.0, 0.5, 10))])
    >>> drive.seek("owner", 4)
    >>> drop.rate, drop.step
    (0.2, 4)
    >>> drive.release("owner")
    >>> drop.step, model.train_function is drive.clean
    (0, True)
    """

    def __init__(self, model):
        self.model = model
        self.clean = model.train_function  # traced without drivers
        self.traced = (None, None)  # (drivers, function traced with them)
        self.leases = {}  # id(layer) -> (layer, driver, step before, owner)

    @classmethod
    def of(cls, model):
        """The model's `Drive`; a new one if the model was compiled again."""
        drive = getattr(model, _ATTR, None)
        current = model.train_function
        known = drive is not None and any(
            current is f for f in (drive.clean, drive.traced[1])
        )
        if not known:
            for key in list(getattr(drive, "leases", ())):  # left by a fit that stopped
                drive._free(key)
            drive = cls(model)
            object.__setattr__(model, _ATTR, drive)  # untracked by Keras
        return drive

    def lend(self, owner, pairs, fit=None):
        """Lends each `(layer, schedule)` pair's schedule to its layer.

        Drivers left by an earlier `fit` that stopped on an error (Keras
        then skips `on_train_end`) are taken back first: those of `owner` and
        those of callbacks not in this `fit` (other `fit` identity).
        """
        for key, lease in list(self.leases.items()):
            if lease[3] is owner or getattr(lease[3], "params", fit) is not fit:
                self._free(key)
        for layer, driver in pairs:
            if id(layer) in self.leases:
                raise ValueError(
                    f"Layer '{layer.name}' is scheduled per batch by two "
                    "DropoutSchedulers in one fit; select it in one only."
                )
            layer.attach_driver(driver)
            self.leases[id(layer)] = (layer, driver, layer.step, owner)
        self._use()

    def seek(self, owner, index):
        """Moves `owner`'s layers to the batch index `index` (one write each)."""
        for layer, driver, _, who in self.leases.values():
            if who is owner:
                layer.step = min(index, MAX_STEP)
                layer.rate_variable.assign(driver(index))

    def release(self, owner):
        """Takes `owner`'s drivers back and restores the layers' steps."""
        for key, lease in list(self.leases.items()):
            if lease[3] is owner:
                self._free(key)
        self._use()

    def _free(self, key):
        layer, _, step, _ = self.leases.pop(key)
        layer.release_driver()
        layer.step = step

    def _use(self):
        """Points `model.train_function` at one traced with the lent drivers."""
        drivers = {key: lease[1] for key, lease in self.leases.items()}
        if not drivers:
            self.model.train_function = self.clean
        elif drivers == self.traced[0]:
            self.model.train_function = self.traced[1]
        else:  # traced at its first call, with the drivers in place
            # A function of its own, traced with the drivers lent now (Keras'
            # own keeps its trace without them).
            self.traced = (drivers, _keras.fresh_train_function(self.model))
