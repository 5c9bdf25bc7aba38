"""`DropoutSpec`: one trial's dropout choice."""

import dataclasses

import keras

from kerasdrop._checks import check_type
from kerasdrop.tuning.kinds import KIND_TABLE


@dataclasses.dataclass(eq=False, repr=False)
class DropoutSpec:
    """One trial's dropout choice: a plain object (KerasTuner never sees it).

    `layer(layer=None, **kwargs)` builds the dropout layer (`kwargs` go to
    it): `keras.layers.Identity` for "none", a `kerasdrop.layers.Dropout`
    for "constant" and "scheduled", `ConcreteDropout(layer)` for "concrete",
    which needs the layer whose input it drops. A `layer` given to another
    kind comes after the dropout (`Sequential([dropout, layer])`; alone for
    "none"), so one line builds every kind. `callbacks(epochs)` gives fresh
    callbacks for one `fit`, holding no model: a `DropoutScheduler` spanning
    `epochs` (scheduled), a `DropoutLogger` (concrete), else none. Both
    come from the kind's object in `kinds.KIND_TABLE`.

    >>> import keras_tuner as kt
    >>> from kerasdrop.tuning import dropout_space
    >>> hp = kt.HyperParameters()
    >>> hp.values = {"d/kind": "scheduled", "d/schedule": "late"}
    >>> spec = dropout_space(hp, name="d", kinds=("none", "scheduled"), rate=0.2)
    >>> spec.schedule, spec.params, spec.build_schedule(8)
    ('late', {'fraction': 0.25}, Late(rate=0.2, cutoff=2))
    """

    name: str  # the space's name
    kind: str  # one of `KINDS`
    rate: float = None  # constant rate, or the scheduled rate's peak
    schedule: str = None  # scheduled kind: the schedule's name
    params: dict = None  # scheduled kind: the schedule's parameters
    length_scale: float = None  # concrete kind
    n_samples: int = None  # concrete kind
    likelihood: str = "cross_entropy"  # concrete kind
    epochs: int = None  # default of `callbacks(epochs)`

    def __post_init__(self):
        self.params = dict(self.params or {})
        self._layer_names = []  # names of the dropout layers made so far

    def __repr__(self):
        shown = {"name": self.name, "kind": self.kind, "rate": self.rate}
        shown["schedule"] = self.schedule
        shown["params"] = None if self.schedule is None else self.params
        shown["length_scale"] = self.length_scale
        args = ", ".join(f"{k}={v!r}" for k, v in shown.items() if v is not None)
        return f"DropoutSpec({args})"

    def build_schedule(self, epochs=None):
        """The `kerasdrop.schedules.Schedule` (index = epoch) of this trial."""
        return KIND_TABLE[self.kind].schedule(self, epochs)

    def layer(self, layer=None, **kwargs):
        """The dropout layer of this trial (see the class docstring)."""
        if layer is not None:
            expected = "a Keras layer (the one whose input is dropped)"
            check_type("layer", layer, keras.layers.Layer, expected)
        return KIND_TABLE[self.kind].layer(self, layer, kwargs)

    def callbacks(self, epochs=None):
        """Fresh callbacks for one `fit` of `epochs` epochs (see the class)."""
        if not self._layer_names:
            return []
        return KIND_TABLE[self.kind].callbacks(self, epochs)
