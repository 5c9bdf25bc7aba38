"""Saving a converted model to a `.keras` file and loading it back.

An owner (a keras-hub model or block, a subclassed model, a custom layer:
`kerasdrop.graph.owners`) rebuilds its own dropout from its config, so a
plain entry for it in a `.keras` file would load stock dropout back. While
Keras saves a model (`model.save`, `keras.saving.save_model`,
`keras.callbacks.ModelCheckpoint`), the entry of every outermost owner that
kerasdrop swapped layers in becomes a `ConvertedOwner` entry:

    {"module": "kerasdrop.graph.saving", "class_name": "ConvertedOwner",
     "registered_name": "kerasdrop>ConvertedOwner",
     "config": {"requires": ..., "owner": <the owner's own entry>,
                "swaps": {<path from the owner>: <kerasdrop layer entry>},
                "order": [<paths of its dropout-bearing layers, walk order>]},
     "compile_config": ...}

On load `ConvertedOwner.from_config` checks that every swap names a
registered kerasdrop layer class before it deserializes anything, rebuilds
the owner from its own entry (same class: `type(loaded) is
BertTextClassifier`) and builds it, checks that every swap path names a
dropout-bearing layer of it (by path; for a keras-hub model that numbers
its layers anew, by walk order, against the saved `order`), and swaps the
kerasdrop layers in there, so Keras then loads the saved weights (rates,
steps, Concrete logits) into them; the `mc` flag is in each layer's entry.
Nothing in the entry runs code: classes resolve through Keras' registry,
under the caller's `safe_mode` and custom objects.

How the entry is written: the owner's per-instance `get_config` asks Keras
to hand it the owner's finished entry (`kerasdrop._keras.on_serialized`,
through the object-sharing scope every `.keras` save opens) and rewrites it
in place. It is the one way that covers the three ways of saving, an owner
at the top and one nested in a Functional model, and leaves the model's
class alone; the rest of the format is Keras' own. A bare `get_config()`
(no saving scope) still refuses: a config dict cannot carry the swaps
under the owner's own class.
"""

import re

import keras

from kerasdrop import _checks, _keras
from kerasdrop.graph import owners
from kerasdrop.graph.rewriting import rewrite
from kerasdrop.graph.sites import find, holds_kerasdrop, layer_sites

_NAME = "kerasdrop>ConvertedOwner"
_REQUIRES = (
    "kerasdrop: this owner's dropout layers were replaced by kerasdrop "
    "layers; `import kerasdrop` before loading"
)


def _refusal(owner):
    paths = sorted(owner.__dict__["_kerasdrop_swaps"])
    return ValueError(
        f"Layer '{owner.name}' ({type(owner).__name__}) holds dropout layers "
        f"that kerasdrop replaced in place ({', '.join(paths)}); its config "
        "rebuilds its own dropout, so a bare config would silently lose them. "
        "Save the model instead (`model.save('model.keras')`, "
        "`keras.saving.save_model` or `keras.callbacks.ModelCheckpoint`): "
        "the file keeps them, and `keras.saving.load_model` gives them back "
        "(with kerasdrop imported); or call "
        "`kerasdrop.convert(model, to='keras')` first."
    )


def swap_entries(owner):
    """{path from `owner`: serialized kerasdrop layer} for every swap
    recorded on `owner`; raises when one cannot be saved."""
    swaps = owner.__dict__.get("_kerasdrop_swaps") or {}
    held = {site.path: site.layer for site in layer_sites(owner, lambda _: True)}
    entries = {}
    for path in sorted(swaps):
        layer = held.get(path)
        if layer is None or not _is_kerasdrop_class(type(layer)):
            found = "nothing" if layer is None else type(layer).__name__
            raise _checks.invalid_value(
                "model",
                f"Layer '{owner.name}' ({type(owner).__name__}) recorded a "
                f"kerasdrop swap at '{path}', which now holds {found}; a "
                "`.keras` file can only rebuild kerasdrop layers there. "
                "Call `kerasdrop.convert(model, to='keras')` or save the "
                "weights instead.",
            )
        entries[path] = keras.saving.serialize_keras_object(layer)
    return entries


def owner_config(owner):
    """The per-instance `get_config` of an owner holding swaps: while Keras
    saves, its own config (its entry then rewritten into a `ConvertedOwner`
    one); otherwise a refusal."""
    swaps = swap_entries(owner)

    def to_converted(entry):
        compiled = entry.pop("compile_config", None)
        own = dict(entry)  # with its build config: built before the swaps
        entry.clear()
        entry.update(
            module=__name__,
            class_name="ConvertedOwner",
            config={
                "requires": _REQUIRES,
                "owner": own,
                "swaps": swaps,
                "order": order,
            },
            registered_name=_NAME,
        )
        if compiled is not None:  # compiled after the swaps
            entry["compile_config"] = compiled

    order = [site.path for site in find(owner)]
    if not _keras.on_serialized(owner, to_converted):
        raise _refusal(owner)
    return owners.class_config(owner)


def _is_kerasdrop_class(cls):
    return (
        isinstance(cls, type)
        and issubclass(cls, keras.layers.Layer)
        and cls.__module__.split(".")[0] == "kerasdrop"
        and keras.saving.get_registered_name(cls).startswith("kerasdrop>")
    )


def _swap_class(path, entry):
    """The registered kerasdrop layer class `entry` names, checked before
    anything is deserialized."""
    name = entry.get("registered_name") if isinstance(entry, dict) else None
    cls = None
    if isinstance(name, str) and name.startswith("kerasdrop>"):
        cls = keras.saving.get_registered_object(name)
    if (
        cls is None
        or not _is_kerasdrop_class(cls)
        or not isinstance(entry.get("config"), dict)
    ):
        raise _checks.invalid_value(
            "config",
            f"The swap at '{path}' of a ConvertedOwner entry must be a "
            "registered kerasdrop layer (registered name 'kerasdrop>...').",
            f"swaps[{path!r}]={_short(entry)}",
        )
    return cls


def _short(value, limit=160):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_config(config):
    own = config.get("owner") if isinstance(config, dict) else None
    swaps = config.get("swaps") if isinstance(config, dict) else None
    if (
        not isinstance(own, dict)
        or not isinstance(own.get("class_name"), str)
        or own.get("registered_name") == _NAME
        or not isinstance(swaps, dict)
        or not swaps
        or not all(isinstance(path, str) for path in swaps)
        or not isinstance(config.get("order", []), list)
        or not all(isinstance(path, str) for path in config.get("order", []))
    ):
        raise _checks.invalid_value(
            "config",
            "A ConvertedOwner entry holds 'owner' (the entry of a layer or "
            "model that is not itself a ConvertedOwner) and 'swaps' (a "
            "non-empty dict: path from the owner -> kerasdrop layer entry), "
            "and may hold 'order' (a list of paths).",
            f"config={_short(config)}",
        )
    return own, swaps, config.get("order", [])


def _unnumbered(path):
    """`path` without the counters Keras appends to generated layer names."""
    return re.sub(r"_\d+(?=/|\[|$)", "", path)


def _targets(owner, swaps, order):
    """{swap path: site of the rebuilt `owner`}: by path, else (a keras-hub
    model numbering its layers anew) by walk order, when the saved `order`
    of dropout-bearing layers matches the rebuilt one up to those numbers."""
    sites = find(owner)
    by_path = {site.path: site for site in sites}
    same_walk = len(order) == len(sites) and all(
        _unnumbered(a) == _unnumbered(b.path) for a, b in zip(order, sites)
    )
    targets = {}
    for path in swaps:
        if path in by_path:
            targets[path] = by_path[path]
        elif same_walk and path in order:
            targets[path] = sites[order.index(path)]
    missing = sorted(set(swaps) - set(targets))
    if len({id(site.layer) for site in targets.values()}) < len(targets):
        missing = sorted(targets)  # two paths for one layer
    if missing:
        raise _checks.invalid_value(
            "config",
            f"The swaps of a ConvertedOwner entry name paths that hold no "
            f"dropout-bearing layer of the rebuilt {type(owner).__name__} "
            f"'{owner.name}' (its dropout-bearing layers: {sorted(by_path)}).",
            f"swaps with paths {missing}",
        )
    return targets


def _replay(owner, swaps, order):
    """Swaps the kerasdrop layers of `swaps` into the rebuilt `owner`."""
    targets = _targets(owner, swaps, order)
    layers = {}
    for path, entry in swaps.items():
        name = targets[path].layer.name
        entry = {**entry, "config": {**entry["config"], "name": name}}
        layer = keras.saving.deserialize_keras_object(entry)
        if not holds_kerasdrop(layer):
            raise _checks.invalid_value(
                "config",
                f"The swap at '{path}' must rebuild a kerasdrop dropout layer.",
                f"a {type(layer).__name__}",
            )
        layers[path] = layer
    chosen = {id(targets[path].layer): path for path in swaps}
    sites = [targets[path] for path in swaps]
    rewrite(owner, lambda site: layers[chosen[id(site.layer)]], sites)


@keras.saving.register_keras_serializable(package="kerasdrop")
class ConvertedOwner:
    """The entry of a converted owner in a `.keras` file; loading it gives
    the owner back, of its own class, with kerasdrop's layers in place.

    Never instantiated: `from_config` returns the owner. Keras writes this
    entry when it saves a model that `kerasdrop.convert` changed inside a
    layer or model whose config rebuilds its own dropout (keras-hub models
    and blocks, subclassed models, custom layers); see the module docstring
    for the format and the checks made on load.

    Example:

    >>> import os, tempfile, keras, kerasdrop
    >>> @keras.saving.register_keras_serializable(package="doc")
    ... class Block(keras.layers.Layer):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.drop = keras.layers.Dropout(0.2)
    ...     def call(self, x, training=False):
    ...         return self.drop(x, training=training)
    >>> model = keras.Sequential([keras.Input((4,)), Block(name="block")])
    >>> model = kerasdrop.convert(model)
    >>> path = os.path.join(tempfile.mkdtemp(), "block.keras")
    >>> model.save(path)
    >>> loaded = keras.saving.load_model(path)
    >>> type(loaded.layers[0]).__name__, type(loaded.layers[0].drop).__module__
    ('Block', 'kerasdrop.layers.dropout')
    """

    @classmethod
    def from_config(cls, config):
        own, swaps, order = _check_config(config)
        for path, entry in swaps.items():
            _swap_class(path, entry)
        owner = keras.saving.deserialize_keras_object(own)
        _replay(owner, swaps, order)
        return owner

    def get_config(self):
        raise TypeError("ConvertedOwner is never instantiated.")
