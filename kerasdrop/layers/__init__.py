"""kerasdrop's dropout layers: every kind on the variable-rate `DropoutBase`."""

from kerasdrop.layers.base import DropoutBase
from kerasdrop.layers.concrete import (
    ConcreteDropout,
    SpatialConcreteDropout,
    concrete_regularizers,
)
from kerasdrop.layers.drop_block import DropBlock2D, DropBlock3D
from kerasdrop.layers.drop_connect import DropConnect
from kerasdrop.layers.drop_path import DropPath
from kerasdrop.layers.dropout import (
    Dropout,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from kerasdrop.layers.gaussian import GaussianDropout
from kerasdrop.layers.recurrent import GRU, LSTM, SimpleRNN
from kerasdrop.layers.skip_residual import SkipResidual

__all__ = [
    "DropoutBase",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianDropout",
    "DropPath",
    "SkipResidual",
    "DropBlock2D",
    "DropBlock3D",
    "DropConnect",
    "LSTM",
    "GRU",
    "SimpleRNN",
    "ConcreteDropout",
    "SpatialConcreteDropout",
    "concrete_regularizers",
]
