"""Serving a model as it is, when Keras cannot copy it.

`strip_dropout` works on a copy rebuilt from the model's config. A model
Keras cannot rebuild (custom layers without `get_config`, subclassed models
whose `from_config` does not rebuild them) cannot be copied, but its
kerasdrop dropout is the identity at inference once nothing samples it.
`served_model(model)` is then `AsIs(model)`: a thin `keras.Model` whose call
runs `model(x, training=False)` with every kerasdrop layer of `model` held
at inference for the calling thread (`mc_inference_only`, read by
`DropoutBase.is_active`), MC layers (`mc=True`) and sampled ones included.
Tracing it for a SavedModel, ONNX or LiteRT file traces the model itself;
the export's verification then checks the artifact (no random op on the
serving path, outputs equal to `model(x, training=False)`).

Nothing of the model is changed: no flag is flipped (another thread calling
the model sees it as it is), no layer swapped, no weight, rate, step or
seed-generator state written. The wrapper is not saved: the artifacts hold
the traced functions and the model's variables.
"""

import functools

import keras

from kerasdrop import graph
from kerasdrop.graph import copying
from kerasdrop.layers import mc_state
from kerasdrop.serving import strip


class AsIs(keras.Model):
    """`model` served as it is: `model(x, training=False)` with its kerasdrop
    layers held at inference in the calling thread (`mc_inference_only`).

    Args:
        model: a built `keras.Model`.

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)),
    ...     kerasdrop.layers.Dropout(0.5, mc=True)])
    >>> x = np.ones((2, 4), "float32")
    >>> bool(np.all(np.asarray(AsIs(model)(x)) == x)), model.layers[0].mc
    (True, True)
    """

    def __init__(self, model):
        super().__init__(name=model.name)
        self.served = model
        # Found now, on the host (the walk reads live rates); a partial so
        # that Keras does not track the layers a second time.
        self.held_off = functools.partial(
            mc_state.mc_inference_only, graph.dropout_layers(model)
        )
        self.built = True

    def call(self, inputs, training=False):
        with self.held_off():
            return self.served(inputs, training=False)


def served_model(model):
    """What `kerasdrop.export` serves: `strip_dropout(model)`'s copy, or
    `AsIs(model)` when Keras cannot copy `model` (`copying.CopyError`; any
    other refusal of the strip is raised)."""
    try:
        return strip.stripped_copy(model)
    except copying.CopyError:
        return AsIs(model)


def source(served):
    """The user's model behind `served` (`served_model`'s result): whose
    inputs name the serving signature."""
    return served.served if isinstance(served, AsIs) else served
