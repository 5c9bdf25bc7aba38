"""The one place that knows a model's structure: where its dropout is, and how
to rewrite it.

`find(model)` walks a model at any depth (Functional graph nodes, nested
models, sublayers held as attributes or in lists/dicts of any layer or
subclassed model: keras-hub blocks, `MultiHeadAttention`'s dropout, RNN
layers' dropout arguments) and returns one `Site` per dropout-bearing layer.
`rewrite(model, mapping)` replaces layers in place through a mapping
function; `copy_model(model)` makes the independent copy `convert` and
`strip_dropout` rewrite. `convert`, `strip_dropout`, `export`, `mc`, the
callbacks and `inspect` all ask this module. Every use of private Keras
internals (layer trackers, graph nodes) lives here.

In-place replacement inside a layer whose config rebuilds its sublayers
from constructor arguments (keras-hub blocks and models, custom layers)
cannot be saved to `.keras` faithfully: such layers ("owners") then refuse
`get_config` with an error that says what to do, instead of saving a file
that would silently load stock dropout back.
"""

import contextlib
import dataclasses
import re
import warnings
import weakref

import keras
from keras.src.models.functional import Functional
from keras.src.ops.node import KerasHistory

from kerasdrop import _checks, registry
from kerasdrop.layers import base as base_lib
from kerasdrop.layers import recurrent as recurrent_lib

#: Config keys that declare dropout computed inside a layer's own `call`.
_DROPOUT_KEYS = ("dropout", "attention_dropout", "dropout_rate", "drop_rate")


@dataclasses.dataclass
class Site:
    """One dropout-bearing layer of a model.

    Attributes:
        path: from the model down, joined by "/": a layer's name where a
            graph (Functional, Sequential) holds it, else the attribute
            holding it (`_dropout_layer`, `blocks[1]`), which stays the
            same when the holder is rebuilt from its config.
        layer: the layer.
        holders: `(holder, chain)` pairs: the layers holding it directly and
            the layers from the model down to each holder.
        status: "kerasdrop" (schedulable, MC-capable), "convertible" (a
            known class `kerasdrop.convert` replaces) or "unreachable".
        rate: the rate as text.
        reason: why an unreachable site cannot be reached, else "".
    """

    path: str
    layer: keras.layers.Layer
    holders: list
    status: str
    rate: str
    reason: str = ""

    @property
    def kind(self):
        prefix = "" if isinstance(self.layer, base_lib.DropoutBase) else "keras."
        module = type(self.layer).__module__.split(".")[0]
        if module not in ("keras", "kerasdrop"):
            prefix = module + "."
        return prefix + type(self.layer).__name__


# ----------------------------------------------------------------------------
# Finding.
# ----------------------------------------------------------------------------
def _children(layer):
    """Sublayers tracked by `layer` (graph layers, attributes, containers)."""
    if recurrent_lib.is_variational(layer):
        return layer.dropout_layers  # not the cell
    if isinstance(layer, (base_lib.DropoutBase, keras.layers.RNN)):
        return []  # a Concrete wrapper's inner layer; an RNN's cell (one site)
    skip = {id(layer)}
    if isinstance(layer, keras.layers.MultiHeadAttention) and not layer._dropout:
        # With dropout=0 its call never runs `_dropout_layer` (and takes
        # the fused attention path): that layer is no dropout to reach.
        skip.add(id(getattr(layer, "_dropout_layer", None)))
    return [c for c in getattr(layer, "_layers", []) if id(c) not in skip]


def _rnn_site(layer):
    cell = getattr(layer, "cell", None)
    rates = {
        name: float(getattr(cell, name, 0) or 0)
        for name in ("dropout", "recurrent_dropout")
    }
    if not any(rates.values()):
        return None
    text = ", ".join(f"{k}={v:g}" for k, v in rates.items())
    reason = (
        f"layer '{layer.name}' ({type(layer).__name__}) has {text}; kerasdrop "
        "cannot change or sample it (it converts the dropout of Keras' LSTM, "
        "GRU and SimpleRNN layers only)"
    )
    return "unreachable", text, reason


def _declared_dropout(layer):
    """Positive dropout rates in `layer`'s config (dropout inside its call)."""
    with config_bypass():
        try:
            config = layer.get_config()
        except Exception:  # a layer without a usable config
            return {}
    return {
        key: value
        for key, value in config.items()
        if key in _DROPOUT_KEYS and _checks.is_real(value) and value > 0
    }


def _classify(layer):
    """(status, rate text, reason) for a dropout-bearing layer, else None."""
    if isinstance(layer, base_lib.DropoutBase):
        return "kerasdrop", f"{layer.rate:.4g}", ""
    kind = registry.kind_of(layer)
    if kind is not None and kind.holds_dropout(layer):
        rate = kind.rate_text(layer)
        if kind.to_kerasdrop is None:
            return "unreachable", rate, kind.why_not
        return "convertible", rate, ""
    if isinstance(layer, keras.layers.RNN):
        return _rnn_site(layer)
    return None


def _step(holder, child):
    """The path element of `child` under `holder`: its name in a graph, else
    the attribute holding it (stable when the holder is rebuilt from config,
    where auto-generated names change)."""
    if isinstance(holder, (Functional, keras.Sequential)) and child in holder.layers:
        return child.name
    for attr, value in vars(holder).items():
        if attr.startswith(("_tracker", "_self_")) or attr in (
            "_layers",
            "_functional",
        ):
            continue
        if value is child:
            return attr
        if isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if item is child:
                    return f"{attr}[{i}]"
        if isinstance(value, dict):
            for key, item in value.items():
                if item is child:
                    return f"{attr}[{key!r}]"
    return child.name


def _walk(model):
    """Yields `(layer, holder, chain, path)` for every sublayer of `model`,
    depth first in the holders' layer order (a shared layer is yielded once
    per holder and walked into once)."""
    seen = set()

    def visit(holder, chain, prefix):
        chain = chain + [holder]
        for child in _children(holder):
            step = _step(holder, child)
            path = f"{prefix}/{step}" if prefix else step
            yield child, holder, chain, path
            if id(child) not in seen:
                seen.add(id(child))
                yield from visit(child, chain, path)

    yield from visit(model, [], "")


def find(model):
    """Every dropout-bearing layer of `model`, in depth-first order.

    Besides the layers of known dropout classes (kerasdrop's, Keras', the
    registry's) it lists Keras' `LSTM`/`GRU`/`SimpleRNN` with a positive
    `dropout`/`recurrent_dropout` (convertible), other RNN layers with
    dropout, and layers whose config declares a positive dropout that no
    dropout sublayer carries (dropout computed inside their own `call`):
    both unreachable. A kerasdrop RNN layer's sites are its dropout
    sublayers (`lstm/input_dropout`, `lstm/state_dropout`).

    Returns:
        A list of `Site`.

    Example:

    >>> import keras, kerasdrop
    >>> x = keras.Input((3, 8))
    >>> h = keras.layers.MultiHeadAttention(2, 4, dropout=0.1)(x, x)
    >>> h = keras.layers.LSTM(4, dropout=0.2, name="lstm")(h)
    >>> model = keras.Model(x, keras.layers.Dropout(0.3, name="head")(h))
    >>> [(s.path, s.status) for s in kerasdrop.graph.find(model)]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('multi_head_attention/_dropout_layer', 'convertible'),
     ('lstm', 'convertible'), ('head', 'convertible')]
    """
    sites = {}
    carriers = set()  # ids of layers holding a dropout sublayer somewhere
    for layer, holder, chain, path in _walk(model):
        if id(layer) in sites:
            sites[id(layer)].holders.append((holder, chain))
            continue
        found = _classify(layer)
        if found is None:
            continue
        sites[id(layer)] = Site(path, layer, [(holder, chain)], *found)
        carriers.update(id(x) for x in chain)
    for layer, holder, chain, path in _walk(model):
        if id(layer) in sites or id(layer) in carriers:
            continue
        if isinstance(layer, keras.layers.RNN) or registry.kind_of(layer):
            continue
        declared = _declared_dropout(layer)
        if declared:
            text = ", ".join(f"{k}={v:g}" for k, v in declared.items())
            reason = (
                f"layer '{layer.name}' ({type(layer).__name__}) computes its "
                f"dropout ({text}) inside its own call, with no dropout "
                "sublayer to replace"
            )
            sites[id(layer)] = Site(
                path, layer, [(holder, chain)], "unreachable", text, reason
            )
    return list(sites.values())


def layer_sites(model, predicate):
    """A `Site` (path, holders) for every layer of `model`, at any depth,
    for which `predicate(layer)` is true, in depth-first order; `status`
    and `rate` are empty. For rewriting layers that carry dropout sites
    (kerasdrop's RNN layers) as a whole.

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((3, 2)),
    ...     kerasdrop.layers.GRU(4, dropout=0.1, name="gru")])
    >>> [s.path for s in kerasdrop.graph.layer_sites(
    ...     model, kerasdrop.layers.recurrent.is_variational)]
    ['gru']
    """
    sites = {}
    for layer, holder, chain, path in _walk(model):
        if id(layer) in sites:
            sites[id(layer)].holders.append((holder, chain))
        elif predicate(layer):
            sites[id(layer)] = Site(path, layer, [(holder, chain)], "", "")
    return list(sites.values())


def dropout_layers(model):
    """Every kerasdrop dropout layer of `model`, at any depth.

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)),
    ...     kerasdrop.layers.Dropout(0.1, name="a"), keras.layers.Dense(2)])
    >>> [layer.name for layer in kerasdrop.graph.dropout_layers(model)]
    ['a']
    """
    return [site.layer for site in find(model) if site.status == "kerasdrop"]


def is_dropout_layer(layer):
    """True for kerasdrop dropout layers and layers of a registered dropout
    class (Keras' dropout and noise layers, drop-path layers, yours; not
    RNN layers, which merely take dropout arguments)."""
    if isinstance(layer, base_lib.DropoutBase):
        return True
    kind = registry.kind_of(layer)
    return kind is not None and not kind.carrier


def holds_kerasdrop(layer):
    """True when `layer` is, or holds at any depth, a kerasdrop dropout layer
    (cheap: no config is read)."""
    if isinstance(layer, base_lib.DropoutBase):
        return True
    return any(isinstance(child, base_lib.DropoutBase) for child, *_ in _walk(layer))


def matches(selector, layer, path=None):
    """True when a selector item (a name or regular expression, matched
    in full against the layer name or its path, or a layer class) picks
    `layer`."""
    if isinstance(selector, type):
        return isinstance(layer, selector)
    names = [layer.name] + ([path] if path else [])
    return any(
        selector == name or re.fullmatch(selector, name) is not None for name in names
    )


def check_selector(name, selector):
    """The selector as a list; raises a Keras-style error for a bad one."""
    items = selector if isinstance(selector, (list, tuple)) else [selector]
    for item in items:
        if isinstance(item, type):
            continue
        if not isinstance(item, str):
            raise TypeError(
                f"Invalid value received for argument `{name}`. Expected a layer "
                "name, a regular expression, a layer class, or a list of them. "
                f"Received: {name}={selector!r}"
            )
        try:
            re.compile(item)
        except re.error as e:
            raise ValueError(
                f"Invalid value received for argument `{name}`. {item!r} is not "
                f"a valid regular expression ({e}). Received: {name}={selector!r}"
            ) from None
    return list(items)


def unreached(model, sites=None):
    """Sites of `model` (or of `sites`) that kerasdrop does not drive: not
    kerasdrop layers, leaving out stock layers at rate 0 (they never drop)."""
    sites = find(model) if sites is None else sites
    return [
        site for site in sites if site.status != "kerasdrop" and not _inert(site.layer)
    ]


def _inert(layer):
    kind = registry.kind_of(layer)
    try:
        return kind is not None and kind.read_rate(layer) == 0.0
    except (AttributeError, TypeError, ValueError):
        return False


def describe(site):
    """One line naming a site and why kerasdrop does not drive it."""
    if site.status == "convertible":
        return (
            f"'{site.path}' ({site.kind}, rate {site.rate}): stock, convert it "
            "with `kerasdrop.convert(model)`"
        )
    return f"'{site.path}' ({site.kind}): {site.reason}"


_WARNED = weakref.WeakKeyDictionary()


def warn_unreached(model, who, sites=None, stacklevel=3):
    """Warns once per model and caller, listing the dropout `who` cannot reach."""
    sites = unreached(model) if sites is None else sites
    if not sites:
        return
    key = (who, tuple(site.path for site in sites))
    try:
        done = _WARNED.setdefault(model, set())
    except TypeError:  # not weak-referenceable
        done = set()
    if key in done:
        return
    done.add(key)
    lines = "\n  ".join(describe(site) for site in sites)
    warnings.warn(
        f"{who} does not reach {len(sites)} dropout-bearing layer(s) of "
        f"model '{model.name}':\n  {lines}",
        stacklevel=stacklevel,
    )


# ----------------------------------------------------------------------------
# Cutting a graph at its dropout (MC prefix reuse).
# ----------------------------------------------------------------------------
def _graph_of(model):
    """The Functional graph of `model` (a Sequential's inner one), or None."""
    if isinstance(model, Functional):  # keras-hub tasks and backbones too
        return model
    if isinstance(model, keras.Sequential):
        return getattr(model, "_functional", None)
    return None


def _is_stochastic_op(op):
    return isinstance(op, keras.layers.Layer) and holds_kerasdrop(op)


def split_deterministic_prefix(model):
    """Splits a Functional/Sequential model at its first dropout layers.

    Returns `(prefix, suffix)`: `prefix` maps the model inputs to the
    deterministic tensors the stochastic part needs (the "frontier"), and
    `suffix` maps those to the model outputs; `suffix(prefix(x))` is the
    model. Returns `(None, model)` when there is nothing to reuse (the first
    dropout layer reads a model input, or the model is subclassed).
    """
    functional = _graph_of(model)
    if functional is None:
        return None, model
    stochastic = set()
    frontier = {}
    for depth in sorted(functional._nodes_by_depth, reverse=True):
        for node in functional._nodes_by_depth[depth]:
            inputs = list(node.input_tensors)
            if _is_stochastic_op(node.operation) or any(
                id(t) in stochastic for t in inputs
            ):
                for tensor in inputs:
                    if id(tensor) not in stochastic:
                        frontier[id(tensor)] = tensor
                for tensor in node.output_tensors:
                    stochastic.add(id(tensor))
    if not stochastic:
        return None, model
    for tensor in keras.tree.flatten(functional.outputs):
        if id(tensor) not in stochastic:
            frontier[id(tensor)] = tensor
    input_ids = {id(t) for t in keras.tree.flatten(functional.inputs)}
    if set(frontier) <= input_ids:
        return None, model
    tensors = list(frontier.values())
    if len(tensors) == 1:
        tensors = tensors[0]
    inputs = functional.inputs
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
        inputs = inputs[0]
    try:
        prefix = keras.Model(inputs, tensors, name=f"{model.name}_prefix")
        suffix = keras.Model(tensors, functional.outputs, name=f"{model.name}_suffix")
    except Exception:  # a graph Keras cannot cut: sample the whole model
        return None, model
    return prefix, suffix


def producer(tensor):
    """`(operation, tensor_index, input_tensors)` of the graph node that
    computed a symbolic `tensor`, or None for a tensor without history."""
    history = getattr(tensor, "_keras_history", None)
    if history is None or history.operation is None:
        return None
    node = history.operation._inbound_nodes[history.node_index]
    inputs = keras.tree.flatten(node.input_tensors)
    return history.operation, history.tensor_index, inputs


def call_inputs(layer):
    """Every symbolic tensor `layer` was called on, in any graph."""
    return [
        tensor
        for node in layer._inbound_nodes
        for tensor in keras.tree.flatten(node.input_tensors)
    ]


def all_layers(model):
    """`model`'s layers at every depth (Keras' tracked sublayers)."""
    return model._flatten_layers(include_self=False, recursive=True)


def node_outputs(model):
    """Every tensor the graph of `model` computes, or None (subclassed)."""
    functional = _graph_of(model)
    if functional is None:
        return None
    return [
        tensor
        for nodes in functional._nodes_by_depth.values()
        for node in nodes
        for tensor in node.output_tensors
    ]


# ----------------------------------------------------------------------------
# Rewriting in place.
# ----------------------------------------------------------------------------
def _replace_in(value, old, new, depth=0):
    """`value` with `old` replaced by `new` in lists/dicts/tuples (in place
    for lists and dicts); returns (value, changed)."""
    if value is old:
        return new, True
    if depth > 2:
        return value, False
    changed = False
    if isinstance(value, list) or hasattr(value, "_storage"):
        storage = getattr(value, "_storage", value)  # TF's ListWrapper
        for i, item in enumerate(storage):
            item, hit = _replace_in(item, old, new, depth + 1)
            if hit:
                list.__setitem__(storage, i, item)
                changed = True
        if changed and storage is not value:
            # An in-place swap, not a user mutation: keep it saveable.
            value._last_wrapped_list_snapshot = list(storage)
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
    tracker = getattr(holder, "_tracker", None)
    was_locked = bool(tracker and tracker.locked)
    if tracker is not None:
        tracker.unlock()
        ids = tracker.stored_ids.get("layers", set())
        if id(old) in ids:
            ids.discard(id(old))
            ids.add(id(new))
    try:
        for attr, value in list(vars(holder).items()):
            if attr == "_tracker":
                continue
            value, hit = _replace_in(value, old, new)
            if hit and value is not vars(holder)[attr]:
                object.__setattr__(holder, attr, value)
        functional = getattr(holder, "_functional", None)  # Sequential's graph
        if functional is not None:
            _swap_in_holder(functional, old, new)
    finally:
        if was_locked:
            tracker.lock()


def _swap_nodes(old, new):
    """Makes `new` the operation of every graph node `old` was called in."""
    for node_index, node in enumerate(old._inbound_nodes):
        node.operation = new
        for tensor_index, tensor in enumerate(node.outputs):
            tensor._keras_history = KerasHistory(new, node_index, tensor_index)
    new._inbound_nodes = old._inbound_nodes
    new._outbound_nodes = old._outbound_nodes


def _rename_node_keys(holder, old, new):
    """A Functional keeps its nodes as "<id(operation)>_ib-<index>" keys."""
    nodes = getattr(holder, "_nodes", None)
    if not isinstance(nodes, set):
        return
    prefix = f"{id(old)}_ib-"
    for key in [k for k in nodes if k.startswith(prefix)]:
        nodes.discard(key)
        nodes.add(f"{id(new)}_ib-" + key[len(prefix) :])


def _is_graph_container(layer):
    return type(layer) in (Functional, keras.Sequential)


def _serializes_children(layer):
    """True when `layer`'s config serializes the layers it holds as they
    are (graph containers, `Bidirectional`): a swap inside it is saved."""
    return _is_graph_container(layer) or type(layer) is keras.layers.Bidirectional


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
    Keras' layer tracking follows (`model.weights`, `summary()`), and the
    model's compiled functions are dropped. A replacement inside an owner
    (a layer whose config rebuilds its sublayers) is recorded on it; see
    `check_savable`.
    """
    sites = find(model) if sites is None else sites
    done = []
    for site in sites:
        new = mapping(site)
        if new is None or new is site.layer:
            continue
        _swap_nodes(site.layer, new)
        for holder, chain in site.holders:
            _swap_in_holder(holder, site.layer, new)
            for functional in (holder, getattr(holder, "_functional", None)):
                if functional is not None:
                    _rename_node_keys(functional, site.layer, new)
            _record_owner_swap(chain, site, new)
        done.append(site)
    if done:
        _Rewrites.count += 1
        reset_compiled(model)
        if any(owned(site) for site in done):
            _guard_save(model)
    return done


class _Rewrites:
    count = 0


def rewrite_count():
    """How many rewrites changed a model so far in this process: caches of
    compiled functions over a model (`mc.predict`'s plans) compare it."""
    return _Rewrites.count


def _guard_save(model):
    """`model.save` refuses before it opens a file when an owner would lose
    its kerasdrop layers (Keras writes the file before asking for configs)."""
    if "save" in model.__dict__:
        return

    def save(*args, **kwargs):
        for layer in model._flatten_layers(include_self=True, recursive=True):
            if "_kerasdrop_swaps" in layer.__dict__:
                layer.get_config()  # raises with what to do instead
        return type(model).save(model, *args, **kwargs)

    object.__setattr__(model, "save", save)


def reset_compiled(model):
    """Drops cached train/test/predict functions of `model` and nested models."""
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, keras.Model):
            for attr in ("train_function", "test_function", "predict_function"):
                if getattr(layer, attr, None) is not None:
                    setattr(layer, attr, None)


# ----------------------------------------------------------------------------
# Owners: layers whose config would rebuild what was swapped.
# ----------------------------------------------------------------------------
class _Bypass:
    depth = 0


@contextlib.contextmanager
def config_bypass():
    """Inside the block owners return their own config (for copying)."""
    _Bypass.depth += 1
    try:
        yield
    finally:
        _Bypass.depth -= 1


def _owner_config(owner):
    def get_config():
        if _Bypass.depth:
            return type(owner).get_config(owner)
        paths = sorted(owner._kerasdrop_swaps)
        raise ValueError(
            f"Layer '{owner.name}' ({type(owner).__name__}) holds dropout "
            f"layers that kerasdrop replaced in place ({', '.join(paths)}); "
            "its config rebuilds its own dropout, so a `.keras` file or "
            "config would silently lose them. Save the weights instead "
            "(`model.save_weights('model.weights.h5')`) and restore them "
            "into `kerasdrop.convert(build_model())`; for serving use "
            "`kerasdrop.export(model, path)`; or call "
            "`kerasdrop.convert(model, to='keras')` first."
        )

    return get_config


def _record_owner_swap(chain, site, new):
    """Notes the swap on every owner in `chain` (not plain graph containers)."""
    for owner in chain:
        if _serializes_children(owner):
            continue
        swaps = owner.__dict__.get("_kerasdrop_swaps")
        if swaps is None:
            swaps = {}
            object.__setattr__(owner, "_kerasdrop_swaps", swaps)
            object.__setattr__(owner, "get_config", _owner_config(owner))
        if site.path not in swaps:
            with config_bypass():
                swaps[site.path] = keras.saving.serialize_keras_object(site.layer)
        elif _same_class(new, swaps[site.path]):
            del swaps[site.path]  # back to the class the config rebuilds
        if not swaps:
            del owner.__dict__["_kerasdrop_swaps"]
            del owner.__dict__["get_config"]


def _same_class(layer, serialized):
    keys = ("module", "class_name", "registered_name")
    with config_bypass():
        mine = keras.saving.serialize_keras_object(layer)
    return all(mine.get(k) == serialized.get(k) for k in keys)


def original_config(site):
    """The serialized layer an owner of `site` held before kerasdrop swapped
    it in place, or None."""
    for _, chain in site.holders:
        for owner in chain:
            swaps = owner.__dict__.get("_kerasdrop_swaps") or {}
            if site.path in swaps:
                return swaps[site.path]
    return None


def owned(site):
    """True when `site` sits inside an owner (a layer rebuilt from its own
    constructor arguments rather than from a serialized graph)."""
    return any(
        not _serializes_children(owner) for _, chain in site.holders for owner in chain
    )


# ----------------------------------------------------------------------------
# Copying.
# ----------------------------------------------------------------------------
def _classes(model):
    return {
        type(layer).__name__: type(layer)
        for layer in model._flatten_layers(include_self=True, recursive=True)
    }


def copy_model(model, hint="Pass `copy=False` to rewrite it in place"):
    """An independent copy of `model`, same classes, weights and swaps.

    Rebuilt from the model's config (Keras serialization, as `clone_model`
    does for custom classes), replaying any in-place swap an owner's config
    would not rebuild, then given the model's weights.
    """
    with config_bypass():
        try:
            copy = _rebuild_model(model)
        except Exception as err:
            raise TypeError(
                "Invalid value received for argument `model`. kerasdrop "
                f"cannot copy model '{model.name}' of class "
                f"{type(model).__name__} from its config ({type(err).__name__}: "
                f"{str(err).strip().splitlines()[0]}). {hint}. "
                f"Received: model of type {type(model).__name__}"
            ) from err
    _replay_swaps(model, copy)
    if not copy.built and model.built:
        copy.build_from_config(model.get_build_config() or {})
    source, target = model.weights, copy.weights
    if [v.shape for v in source] != [v.shape for v in target]:
        raise TypeError(
            "Invalid value received for argument `model`. The copy of model "
            f"'{model.name}' rebuilt from its config has different weights "
            f"({len(target)} instead of {len(source)}). {hint}. "
            f"Received: model of type {type(model).__name__}"
        )
    for old, new in zip(source, target):
        # A host copy: on JAX a shared buffer would be deleted when either
        # model's compiled step donates it.
        new.assign(keras.ops.convert_to_numpy(old.value))
    return copy


def _rebuild_model(model):
    """A new model of the same class and config (weights not copied)."""
    if _is_graph_container(model):
        # Keras re-runs the graph: sturdier than a Functional config round
        # trip (nested Sequential models with their own Input).
        return keras.models.clone_model(model)
    config = keras.saving.serialize_keras_object(model)
    with warnings.catch_warnings():
        # keras-hub tasks: "compile() was not called ... custom" (the copy is
        # not compiled, as the docstrings of convert and strip say).
        warnings.filterwarnings("ignore", message=r"`compile\(\)` was not called")
        return keras.saving.deserialize_keras_object(
            config, custom_objects=_classes(model)
        )


def _replay_swaps(model, copy):
    """Re-applies to `copy` the swaps an owner's config does not rebuild.

    Sites are paired in walk order (a rebuilt keras-hub model may name its
    layers differently, so paths can change; the structure does not).
    """
    ours, theirs = find(model), find(copy)
    if len(ours) != len(theirs):
        raise TypeError(
            "Invalid value received for argument `model`. Its copy rebuilt "
            f"from config has {len(theirs)} dropout-bearing layers instead of "
            f"{len(ours)}."
        )
    wanted = {
        id(other.layer): site.layer
        for site, other in zip(ours, theirs)
        if owned(site) and type(site.layer) is not type(other.layer)
    }
    if not wanted:
        return

    def mapping(site):
        layer = wanted.get(id(site.layer))
        if layer is None:
            return None
        return rebuild(keras.saving.serialize_keras_object(layer), site.layer.name)

    rewrite(copy, mapping, theirs)


def rebuild(serialized, name):
    """A layer deserialized from `serialized`, named `name`."""
    serialized = {**serialized, "config": {**serialized["config"], "name": name}}
    return keras.saving.deserialize_keras_object(serialized)
