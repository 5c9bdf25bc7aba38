"""Stripping: a copy of a model whose dropout is the identity, for serving.

`strip_dropout(model)` returns that copy, made of stock Keras layers only,
so its `.keras` file loads where kerasdrop is not installed. It is the first
step of `kerasdrop.export`. Backend-agnostic.
"""

import keras

from kerasdrop import _checks, graph
from kerasdrop.graph import registry
from kerasdrop.layers import base as base_lib
from kerasdrop.layers import recurrent as recurrent_lib


def _stripped_replacement(site):
    """What a dropout-bearing site becomes in the stripped model, or None
    (kept): its kind's `stripped` (`kerasdrop.graph.registry`), except for
    what is not about one kind. Kept: RNN dropout and dropout inside a
    layer's call (no kind), stock dropout held inside a layer (the owner's
    config rebuilds it); all are the identity at inference."""
    layer = site.layer
    if not isinstance(layer, base_lib.DropoutBase):
        kind = graph.kind_of(layer)
        if kind is None or graph.owned(site):
            return None
        return _checked(kind.stripped(layer), layer)
    original = graph.original_config(site)
    if original is not None:  # what the owner had before convert
        return graph.rebuild(original, layer.name)
    if getattr(layer, "holds_sites", False):  # SkipResidual: x + branch(x)
        return layer.stripped()
    if layer.wrapped is not None:  # Concrete, DropConnect: the wrapped layer
        return layer.wrapped
    kind = registry.kerasdrop_kind(layer)
    known = base_lib.DropoutBase if kind is None else kind.target
    if type(layer).inference is not known.inference:
        raise _checks.invalid_value(
            "model",
            f"Layer '{site.path}' ({type(layer).__name__}) overrides "
            "`inference()`, so removing it could change the outputs; "
            "strip_dropout only knows the inference of kerasdrop's own "
            "layers. Replace it by stock layers computing its inference "
            "before stripping.",
            f"model with layer {layer!r}",
        )
    if kind is None:
        return registry.identity(layer)
    return _checked(kind.stripped(layer), layer)


def _checked(new, layer):
    """`new`, a kind's `stripped(layer)`: a Keras layer, or None (kept)."""
    if new is not None and not isinstance(new, keras.layers.Layer):
        raise _checks.invalid_type(
            "stripped",
            "Expected a function returning a Keras layer, or None.",
            repr(new),
            of=f"the kind of {type(layer).__name__}",
        )
    return new


def strip_dropout(model):
    """A copy of `model` with its dropout made the identity, for serving.

    Works on any model `kerasdrop.convert` reaches (Sequential, Functional,
    keras-hub, subclassed models that rebuild from their config), at any
    depth. kerasdrop's dropout layers (MC layers too) and stock dropout-like
    graph layers (Keras' `Dropout`, `SpatialDropout*`, `GaussianDropout`,
    `GaussianNoise`, `AlphaDropout`, drop-path layers) become a
    `keras.layers.Identity` of the same name (a class registered with
    `kerasdrop.register_dropout`, and its kerasdrop layer: what its
    `stripped` gives). `ConcreteDropout` and
    `SpatialConcreteDropout` are replaced by the layer they wrap. A kerasdrop
    `Dropout(scaling="classic")`, whose inference multiplies by the keep
    probability `1 - p`, becomes `keras.layers.Rescaling(1 - p)` with its
    live rate, so the outputs stay equal. kerasdrop's `LSTM`, `GRU` and
    `SimpleRNN` become Keras' layer without dropout, same weights and
    outputs. A kerasdrop layer that `convert` put inside a block (keras-hub,
    `MultiHeadAttention`) gets the block's original layer back. Stock
    dropout inside a block and Keras' own RNN dropout stay: they are the
    identity at inference. Every other layer keeps its weights;
    the original model is left unchanged.

    A model Keras cannot rebuild from its config (custom layers without
    `get_config`, subclassed models without `from_config`) has no copy to
    return, and the model itself would keep its kerasdrop layers: a
    `TypeError` says so, and that `kerasdrop.export(model, path)` serves
    such a model as it is (its dropout held at inference, the model left
    unchanged).

    The copy holds stock Keras layers only (plus your own custom layers):
    its `.keras` file loads where kerasdrop is not installed. It is not
    compiled.

    Args:
        model: a built `keras.Model`.

    Returns:
        The stripped `keras.Model` (same class as `model`).

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> model = keras.Sequential([
    ...     keras.Input((4,)), keras.layers.Dense(8),
    ...     kerasdrop.layers.Dropout(0.5, mc=True), keras.layers.Dense(1)])
    >>> served = kerasdrop.strip_dropout(model)
    >>> [type(layer).__name__ for layer in served.layers]
    ['Dense', 'Identity', 'Dense']
    >>> x = np.ones((2, 4), "float32")
    >>> bool(keras.ops.all(served(x) == served(x)))
    True
    """
    _checks.check_model(model, built=True)
    return stripped_copy(model)


def stripped_copy(model):
    """`strip_dropout` of a model already checked (`_checks.check_model`)."""
    stripped = graph.copy_model(model, hint=_COPY_HINT)
    rnns = graph.layer_sites(stripped, recurrent_lib.is_variational)
    graph.rewrite(stripped, lambda site: recurrent_lib.to_stock(site.layer), rnns)
    graph.rewrite(stripped, _stripped_replacement)
    left = graph.dropout_layers(stripped)
    if left:
        names = ", ".join(f"'{x.name}' ({type(x).__name__})" for x in left)
        raise _checks.invalid_value(
            "model",
            f"strip_dropout could not remove these layers: {names}.",
            f"model '{model.name}'",
        )
    return stripped


_COPY_HINT = (
    "strip_dropout returns a stripped copy, and cannot return one for this "
    "model (nor the model itself: it would still hold its kerasdrop layers). "
    "`kerasdrop.export(model, path)` serves it as it is, without a copy: "
    "kerasdrop dropout is the identity at inference, so export traces the "
    "model with its dropout held at inference (MC layers too), verifies the "
    "artifact and leaves the model unchanged"
)
