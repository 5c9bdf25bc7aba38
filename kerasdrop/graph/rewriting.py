"""Rewriting a model in place: one layer swapped for another everywhere.

`rewrite(model, mapping)` replaces layers through a mapping function: graph
nodes, attributes, lists and dicts of every holder are updated, Keras' layer
tracking follows (and on torch the registry of parameters), compiled
functions are dropped, and a swap inside an owner is recorded on it
(`kerasdrop.graph.owners`).
"""

import contextlib

import keras

from kerasdrop import _keras
from kerasdrop.graph import owners, saving
from kerasdrop.graph.sites import find


def _replace_in(value, old, new, depth=0):
    """`value` with `old` replaced by `new` in lists/dicts/tuples (in place
    for lists and dicts); returns (value, changed)."""
    if value is old:
        return new, True
    if depth > 2:
        return value, False
    changed = False
    storage = _keras.list_storage(value)  # a list, or TF's ListWrapper's
    if storage is not None:
        for i, item in enumerate(storage):
            item, hit = _replace_in(item, old, new, depth + 1)
            if hit:
                list.__setitem__(storage, i, item)
                changed = True
        if changed:
            # An in-place swap, not a user mutation: keep it saveable.
            _keras.note_list_swap(value, storage)
    elif isinstance(value, dict):
        for key, item in list(value.items()):
            item, hit = _replace_in(item, old, new, depth + 1)
            if hit:
                value[key] = item
                changed = True
    elif isinstance(value, tuple) and not hasattr(value, "_fields"):
        items = [_replace_in(item, old, new, depth + 1) for item in value]
        if any(hit for _, hit in items):
            return type(value)(item for item, _ in items), True
    return value, changed


def _swap_in_holder(holder, old, new):
    """Replaces `old` by `new` wherever `holder` refers to it."""
    with _keras.unlocked_tracker(holder):
        _keras.swap_tracked_id(holder, old, new)
        for attr, value in _keras.untracked_attributes(holder):
            value, hit = _replace_in(value, old, new)
            if hit and value is not vars(holder)[attr]:
                object.__setattr__(holder, attr, value)
        functional = _keras.sequential_graph(holder)
        if functional is not None:
            _swap_in_holder(functional, old, new)


def _scope_of(site):
    """The name scope `site.layer` lives in: variables its replacement
    creates inside it get paths next to their neighbours'
    (`transformer_layer_0/dropout/rate`, not a bare `dropout/rate` that the
    same layer of every block would share, and that torch's registry of
    parameters, keyed by path, keeps once). A graph model's layers get no
    scope (Keras gives them none)."""
    if site.layer.path:
        parent = site.layer.path.rpartition("/")[0]
    else:
        holder = site.holders[0][0]
        graph = _keras.is_functional(holder) or isinstance(holder, keras.Sequential)
        parent = "" if graph else holder.path or ""
    if not parent:
        return contextlib.nullcontext()
    outer, _, inner = parent.rpartition("/")
    return keras.name_scope(inner, override_parent=outer or None)


def _swap_nodes(old, new):
    """Makes `new` the operation of every graph node `old` was called in."""
    for node_index, node in enumerate(_keras.inbound_nodes(old)):
        node.operation = new
        for tensor_index, tensor in enumerate(node.outputs):
            _keras.set_history(tensor, new, node_index, tensor_index)
    _keras.set_nodes(new, _keras.inbound_nodes(old), _keras.outbound_nodes(old))


def rewrite(model, mapping, sites=None):
    """Replaces dropout layers of `model` in place: `mapping(site)` returns
    the new layer, or None to keep the old one. Returns the sites replaced.

    Example (what `convert(model, copy=False)` does, by hand):

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.2)])
    >>> done = kerasdrop.graph.rewrite(model, lambda site: kerasdrop.layers.Dropout(
    ...     0.2, name=site.layer.name))
    >>> type(model.layers[0]).__module__.split(".")[0]
    'kerasdrop'


    Graph nodes, attributes, lists and dicts of every holder are updated,
    Keras' layer tracking follows (`model.weights`, `summary()`; on torch
    `model.parameters()` holds exactly the Keras variables), and the
    model's compiled functions are dropped. `mapping` runs inside the name
    scope of the layer it replaces, so new variables get paths next to
    their neighbours'. A replacement inside an owner
    (a layer whose config rebuilds its sublayers) is recorded on it; see
    `check_savable`.
    """
    sites = find(model) if sites is None else sites
    done = []
    for site in sites:
        with _scope_of(site):
            new = mapping(site)
        if new is None or new is site.layer:
            continue
        _swap_nodes(site.layer, new)
        for holder, chain in site.holders:
            _swap_in_holder(holder, site.layer, new)
            for functional in (holder, _keras.sequential_graph(holder)):
                if functional is not None:
                    _keras.rename_node_keys(functional, site.layer, new)
            owners.record_owner_swap(chain, site, new, saving.get_config_for)
        done.append(site)
    if done:
        _Rewrites.count += 1
        _retrack(model)
        reset_compiled(model)
        if any(owners.owned(site) for site in done):
            saving.guard_save(model)
    return done


def _retrack(model):
    """Keeps the backend's registry of `model`'s parameters true after a
    swap (torch: every layer's `parameters()` are its Keras variables, the
    replaced layers' gone, the new ones in)."""
    for layer in _keras.flatten_layers(model):
        for tracked in (layer, _keras.sequential_graph(layer)):
            if tracked is not None:
                _keras.retrack_torch_params(tracked)


class _Rewrites:
    count = 0


def rewrite_count():
    """How many rewrites changed a model so far in this process: caches of
    compiled functions over a model (`mc.predict`'s plans) compare it."""
    return _Rewrites.count


def reset_compiled(model):
    """Drops cached train/test/predict functions of `model` and nested models."""
    for layer in _keras.flatten_layers(model):
        if isinstance(layer, keras.Model):
            for attr in ("train_function", "test_function", "predict_function"):
                if getattr(layer, attr, None) is not None:
                    setattr(layer, attr, None)
