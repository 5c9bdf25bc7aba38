"""Loading a converted owner's `.keras` entry back (`ConvertedOwner`).

`kerasdrop.graph.saving` writes the entry. On load `ConvertedOwner.from_config`
checks that every swap names a registered kerasdrop layer class before it
deserializes anything, rebuilds the owner from its own entry (same class:
`type(loaded) is BertTextClassifier`) and builds it, checks that every swap
path names a dropout-bearing layer of it (by path; for a keras-hub model
that numbers its layers anew, by walk order, against the saved `order`),
and swaps the kerasdrop layers in there, so Keras then loads the saved
weights (rates, steps, Concrete logits) into them; the `mc` flag is in each
layer's entry. Nothing in the entry runs code: classes resolve through
Keras' registry, under the caller's `safe_mode` and custom objects.
"""

import re

import keras

from kerasdrop import _checks
from kerasdrop.graph.rewriting import rewrite
from kerasdrop.graph.saving import NAME, is_kerasdrop_class
from kerasdrop.graph.sites import find, holds_kerasdrop


def _swap_class(path, entry):
    """The registered kerasdrop layer class `entry` names, checked before
    anything is deserialized."""
    name = entry.get("registered_name") if isinstance(entry, dict) else None
    cls = None
    if isinstance(name, str) and name.startswith("kerasdrop>"):
        cls = keras.saving.get_registered_object(name)
    if (
        cls is None
        or not is_kerasdrop_class(cls)
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
        or own.get("registered_name") == NAME
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
