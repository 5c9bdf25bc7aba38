"""KerasTuner search spaces for dropout (needs the `tuner` extra).

`dropout_space(hp, ...)` declares, with KerasTuner's own `hp.Choice` /
`hp.Fixed` under `hp.name_scope` and `hp.conditional_scope`, the kind of
dropout (none, constant, scheduled, concrete), its rate and, for a scheduled
rate, the schedule and that schedule's own parameters, which exist in a
trial only when that schedule is chosen. It returns a plain `DropoutSpec`
whose `.layer(...)` builds the matching kerasdrop layer and whose
`.callbacks(epochs)` gives the `DropoutScheduler` a scheduled rate needs.
`DropoutHyperModel(build_fn)` adds those callbacks in `fit`, so any
KerasTuner tuner works unchanged.

Each kind is one object (`kinds.KIND_TABLE`: its hyperparameters, layer and
callbacks) and each searched schedule one table entry
(`searched.SEARCHED_SCHEDULES`): `register_schedule(name, build,
**params)` makes a new schedule searchable.

Rates are a `Choice` over values computed in decimal (`0.3`, never
`0.30000000000000004`), always inside `[0, 1)`: `hp.Float(step=...)`
accumulates binary rounding error, and KerasTuner includes `max_value`.

Example:

>>> import keras, keras_tuner as kt
>>> from kerasdrop.tuning import dropout_space
>>> hp = kt.HyperParameters()
>>> spec = dropout_space(hp, kinds=("constant",), rate=(0.1, 0.3, 0.1))
>>> spec.kind, spec.rate, hp.values
('constant', 0.1, {'dropout/kind': 'constant', 'dropout/rate': 0.1})
>>> type(spec.layer()).__name__
'Dropout'
"""

try:
    import keras_tuner  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "kerasdrop.tuning needs KerasTuner, which is not installed. Install "
        'it with: pip install "kerasdrop[tuner]"'
    ) from e

from kerasdrop.tuning.hypermodel import DropoutHyperModel, specs_of
from kerasdrop.tuning.searched import (  # noqa: F401 (public here)
    SEARCHED_SCHEDULES,
    SearchedSchedule,
    register_schedule,
)
from kerasdrop.tuning.space import (  # noqa: F401 (public here)
    DEFAULT_KINDS,
    KINDS,
    LIKELIHOODS,
    MAX_RATES,
    SCHEDULES,
    dropout_space,
    rate_values,
)
from kerasdrop.tuning.spec import DropoutSpec

#: Per-schedule parameters: name -> choices (read from the table).
SCHEDULE_PARAMS = {name: entry.params for name, entry in SEARCHED_SCHEDULES.items()}

__all__ = [
    "KINDS",
    "DEFAULT_KINDS",
    "SCHEDULES",
    "DropoutSpec",
    "DropoutHyperModel",
    "dropout_space",
    "rate_values",
    "register_schedule",
    "specs_of",
]
