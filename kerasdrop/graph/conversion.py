"""Swap stock Keras dropout layers for kerasdrop ones in a built model, and back.

`convert(model)` replaces every dropout layer of a known class by the
kerasdrop layer of the same kind, rate, seed and name, so its rate can be
scheduled, logged and used for MC sampling: Keras' `Dropout`,
`SpatialDropout1D/2D/3D`, `GaussianDropout`, `LSTM`/`GRU`/`SimpleRNN` with
`dropout`/`recurrent_dropout` (to kerasdrop's variational RNN layers,
weights kept, also inside `Bidirectional`), keras.applications ConvNeXt's
`StochasticDepth` and keras-hub's drop-path layers (to `DropPath`), and
classes you register with `kerasdrop.register_dropout`. They are found
everywhere (`kerasdrop.graph` finds them): Functional graph nodes (operation
nodes such as `x + y` pass through), nested models, and sublayers held by
any layer or subclassed model (keras-hub blocks, `MultiHeadAttention`'s
attention dropout). `to="keras"` goes back (a scheduled layer keeps its
current rate; kinds with no stock equivalent raise; a layer replaced inside
a keras-hub block gets the original back).

Dropout kerasdrop cannot reach (other RNN layers' `dropout`, noise layers
without a kerasdrop kind, dropout computed inside a layer's own `call`) is
named in one warning; so is a model with nothing to convert.

A replacement inside a layer whose config rebuilds its own sublayers
(keras-hub models, custom layers) makes that layer refuse `get_config` with
instructions: a `.keras` file would silently lose the kerasdrop layers. Save
weights, export, or convert back instead.
"""

import warnings

import keras

from kerasdrop import _checks
from kerasdrop import layers as kd_layers
from kerasdrop.graph import copying, owners, registry, rewriting
from kerasdrop.graph import sites as sites_lib
from kerasdrop.layers import recurrent as recurrent_lib

_TARGETS = ("kerasdrop", "keras")


def _stock_rate(layer, stacklevel=4):
    """The constant rate a stock layer gets for kerasdrop `layer`; warns
    that an MC flag or a schedule does not carry over."""
    if layer.mc:
        warnings.warn(
            f"Layer '{layer.name}' is an MC layer (drops at inference); the "
            "stock Keras layer drops in training only.",
            stacklevel=stacklevel,
        )
    rate = layer.rate
    if layer.schedule is not None:
        warnings.warn(
            f"Layer '{layer.name}' follows the schedule {layer.schedule!r}; "
            f"the Keras layer gets its current rate {rate:.6g} as a constant.",
            stacklevel=stacklevel,
        )
    return rate


def _stock_equivalent(layer):
    """Its kind's `to_keras(layer)`, for a layer of exactly the kind's class
    (a subclass may compute something else); None when there is none."""
    kind = registry.kerasdrop_kind(layer)
    if kind is None or kind.target is not type(layer) or kind.to_keras is None:
        return None
    new = kind.to_keras(layer)
    if new is not None and (
        not isinstance(new, keras.layers.Layer) or sites_lib.holds_kerasdrop(new)
    ):
        raise _checks.invalid_type(
            "to_keras",
            "Expected a function returning a stock Keras layer.",
            repr(new),
            of=f"the kind of {type(layer).__name__}",
        )
    return new


def _to_keras(layer):
    """The stock layer a kerasdrop layer goes back to, or None for a layer
    that is not kerasdrop's; raises when it has none."""
    if not isinstance(layer, kd_layers.DropoutBase):
        return None
    _stock_rate(layer)  # warns: an MC flag or a schedule does not carry over
    new = _stock_equivalent(layer)
    if new is not None:
        return new
    classic = getattr(layer, "scaling", "") == "classic"
    first = getattr(layer, "data_format", "") == "channels_first"
    raise _checks.invalid_value(
        "model",
        f"Layer '{layer.name}' ({type(layer).__name__}"
        f"{', scaling=classic' if classic else ''}"
        f"{', channels_first' if first else ''}"
        ") has no stock Keras equivalent, so `to='keras'` cannot convert it.",
        f"model={layer!r}",
    )


def _check_args(model, to, mc, copy):
    _checks.check_choice("to", to, _TARGETS)
    _checks.check_model(model, built=True)
    _checks.check_bool("mc", mc)
    _checks.check_bool("copy", copy)
    if mc and to != "kerasdrop":
        raise _checks.invalid_value(
            "mc",
            "Stock Keras dropout has no MC mode, so `mc=True` needs `to='kerasdrop'`.",
            f"mc={mc!r} with to={to!r}",
        )


def _chosen(sites, layers, status):
    """The sites of `status` that the `layers` selector picks (all if None)."""
    candidates = [site for site in sites if site.status == status]
    if layers is None:
        return candidates
    items = sites_lib.check_selector("layers", layers)
    chosen = [
        site
        for site in candidates
        if any(sites_lib.matches(item, site.layer, site.path) for item in items)
    ]
    if not chosen:
        raise _checks.invalid_value(
            "layers",
            "It matches no dropout layer to convert; available: "
            f"{[site.path for site in candidates]}.",
            f"layers={layers!r}",
        )
    return chosen


def _kerasdrop_mapping(mc):
    def mapping(site):
        if site.status != "convertible":
            return None
        new = registry.kind_of(site.layer).to_kerasdrop(site.layer, mc)
        if not sites_lib.holds_kerasdrop(new):
            raise _checks.invalid_type(
                "to_kerasdrop",
                "Expected a function returning a kerasdrop layer.",
                repr(new),
                of=f"the registered class {type(site.layer).__name__}",
            )
        return new

    return mapping


def _rnn_to_keras(site):
    """Keras' RNN layer for a kerasdrop RNN, with its current rates."""
    layer = site.layer
    state = layer.state_dropout
    return recurrent_lib.to_stock(
        layer,
        dropout=_stock_rate(layer.input_dropout),
        recurrent_dropout=0.0 if state is None else _stock_rate(state),
    )


def _rewrite_rnns_to_keras(model, chosen):
    """Turns the kerasdrop RNN layers holding a chosen site into Keras' RNN
    layers; returns (the RNN sites replaced, the chosen sites left)."""
    rnns = {
        id(holder)
        for site in chosen
        for holder, _ in site.holders
        if recurrent_lib.is_variational(holder)
    }
    if not rnns:
        return [], chosen
    left = [
        site
        for site in chosen
        if not any(id(holder) in rnns for holder, _ in site.holders)
    ]
    sites = sites_lib.layer_sites(model, lambda layer: id(layer) in rnns)
    return rewriting.rewrite(model, _rnn_to_keras, sites), left


def _keras_mapping(site):
    if site.status != "kerasdrop":
        return None
    original = owners.original_config(site)
    if original is not None:  # put back what the owner's config rebuilds
        return copying.rebuild(original, site.layer.name)
    return _to_keras(site.layer)


def convert(model, to="kerasdrop", mc=False, copy=True, layers=None):
    """Swaps a model's dropout layers, at any depth, for kerasdrop ones or back.

    Dropout layers of known classes, at any depth, become kerasdrop layers
    of the same kind, rate, seed and name (`to="kerasdrop"`), or go back
    (`to="keras"`); the module docstring lists the kinds and the limits.
    With `copy=True` (default) the model is copied first (from its config,
    with its weights) and the original is left unchanged; `copy=False`
    rewrites `model` itself, for models that cannot be rebuilt from their
    config.

    Args:
        model: a built `keras.Model` (Sequential, Functional, keras-hub,
            subclassed).
        to: `"kerasdrop"` (default) or `"keras"`.
        mc: bool, default False. With `to="kerasdrop"`, build the new layers
            with `mc=True` (they also drop at inference).
        copy: bool, default True. Rewrite a copy (True) or `model` (False).
        layers: None (all), or a layer name, a regular expression matched
            in full against names and paths (as `kerasdrop.graph.find`
            reports them), a layer class, or a list of them: convert only
            those. `convert(model, layers="classifier_dropout")` samples
            only the head under MC, and `mc.predict` then runs the rest once
            per batch.

    Returns:
        The converted model (`model` itself when `copy=False`).

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
    ...                           keras.layers.Dropout(0.5)])
    >>> new = kerasdrop.convert(model)
    >>> type(new.layers[-1]).__name__, new.layers[-1].rate
    ('Dropout', 0.5)
    >>> isinstance(new.layers[-1], kerasdrop.layers.DropoutBase)
    True
    """
    _check_args(model, to, mc, copy)
    status = "convertible" if to == "kerasdrop" else "kerasdrop"
    _chosen(sites_lib.find(model), layers, status)  # a bad selector changes nothing
    if copy:
        model = copying.copy_model(model)
    sites = sites_lib.find(model)
    chosen = _chosen(sites, layers, status)
    if to == "kerasdrop":
        replaced = rewriting.rewrite(model, _kerasdrop_mapping(mc), chosen)
        left = [s for s in sites if s.status == "unreachable"]
        sites_lib.warn_unreached(model, "kerasdrop.convert", left)
    else:
        replaced, chosen = _rewrite_rnns_to_keras(model, chosen)
        replaced += rewriting.rewrite(model, _keras_mapping, chosen)
    if not replaced:
        _warn_unchanged(model, to)
    return model


def _warn_unchanged(model, to):
    kind = (
        "stock Keras dropout layer (or registered class)"
        if to == "kerasdrop"
        else "kerasdrop dropout layer"
    )
    warnings.warn(
        f"convert(to={to!r}) found no {kind} in model "
        f"'{model.name}'; the model is unchanged.",
        stacklevel=3,
    )
