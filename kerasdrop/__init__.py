"""kerasdrop: dropout for Keras 3 whose rate can be scheduled, learned and served.

>>> import kerasdrop
>>> layer = kerasdrop.layers.Dropout(kerasdrop.schedules.Linear(0.0, 0.3, 100))
"""

from kerasdrop import active, callbacks, graph, layers, mc, metrics, recipes, schedules
from kerasdrop.convert import convert
from kerasdrop.export import ExportError, export, strip_dropout
from kerasdrop.registry import register_dropout, unregister_dropout

__version__ = "0.1.0"

__all__ = [
    "active",
    "callbacks",
    "graph",
    "layers",
    "mc",
    "metrics",
    "recipes",
    "schedules",
    "convert",
    "register_dropout",
    "unregister_dropout",
    "export",
    "strip_dropout",
    "ExportError",
    "__version__",
]
