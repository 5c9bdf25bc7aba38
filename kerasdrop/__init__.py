"""kerasdrop: dropout for Keras 3 whose rate can be scheduled, learned and served.

The packages, from the bottom up: `schedules` (rates over time), `layers`
(the dropout kinds), `graph` (where a model's dropout is, and rewriting it:
`convert`), `callbacks`, `mc` (Monte-Carlo dropout), `metrics`, `active`
(active learning), `serving` (`export`, `strip_dropout`), `tuning`
(KerasTuner search spaces).

>>> import kerasdrop
>>> layer = kerasdrop.layers.Dropout(kerasdrop.schedules.Linear(0.0, 0.3, 100))
"""

from kerasdrop._backend import require_backend

require_backend()

from kerasdrop import (  # noqa: E402
    active,
    callbacks,
    graph,
    layers,
    mc,
    metrics,
    recipes,
    schedules,
    serving,
)
from kerasdrop.graph import convert, register_dropout, unregister_dropout  # noqa: E402
from kerasdrop.serving import ExportError, export, strip_dropout  # noqa: E402

__version__ = "0.2.0"

__all__ = [
    "active",
    "callbacks",
    "graph",
    "layers",
    "mc",
    "metrics",
    "recipes",
    "schedules",
    "serving",
    "convert",
    "register_dropout",
    "unregister_dropout",
    "export",
    "strip_dropout",
    "ExportError",
    "__version__",
]
