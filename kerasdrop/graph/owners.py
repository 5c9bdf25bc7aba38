"""Owners: layers whose config rebuilds their own sublayers.

A swap inside an owner (a keras-hub block or model, a custom layer whose
constructor creates its dropout) is recorded on it, keyed by its path from
the owner: its config alone would rebuild stock dropout, so when a model is
saved the owner's entry in the file becomes a `ConvertedOwner` that replays
the swaps on load (`kerasdrop.graph.saving` writes it,
`kerasdrop.graph.loading` reads it); a bare `get_config()` refuses
with instructions. Graph containers (Functional, Sequential) and
`Bidirectional` serialize the layers they hold as they are: they are not
owners.
"""

import contextlib

import keras

from kerasdrop import _keras


def is_graph_container(layer):
    return type(layer) in (_keras.functional_class(), keras.Sequential)


def _serializes_children(layer):
    """True when `layer`'s config serializes the layers it holds as they
    are (graph containers, `Bidirectional`): a swap inside it is saved."""
    return (
        is_graph_container(layer)
        or type(layer) is keras.layers.Bidirectional
        or getattr(layer, "holds_sites", False)  # SkipResidual: its branch
    )


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


def bypassed():
    """True inside `config_bypass()`."""
    return _Bypass.depth > 0


def class_config(owner):
    """`owner`'s own config, as its class writes it (nested owners too)."""
    with config_bypass():
        return type(owner).get_config(owner)


def relative_path(site, chain, owner):
    """The path of `site` from `owner`, one of the layers in `chain` (the
    layers from the model down to a holder of the site)."""
    steps = site.path.split("/")
    depth = next(i for i, layer in enumerate(chain) if layer is owner)
    if len(steps) != len(chain):  # a step with "/" in it (a dict key)
        return site.path
    return "/".join(steps[depth:])


def record_owner_swap(chain, site, new, get_config_for):
    """Notes the swap on every owner in `chain` (not plain graph containers);
    an owner that starts holding swaps gets `get_config_for(owner)` as its
    `get_config` (`kerasdrop.graph.saving`), dropped when it holds none."""
    for owner in chain:
        if _serializes_children(owner):
            continue
        swaps = owner.__dict__.get("_kerasdrop_swaps")
        if swaps is None:
            swaps = {}
            object.__setattr__(owner, "_kerasdrop_swaps", swaps)
            object.__setattr__(owner, "get_config", get_config_for(owner))
        path = relative_path(site, chain, owner)
        if path not in swaps:
            with config_bypass():
                swaps[path] = keras.saving.serialize_keras_object(site.layer)
        elif _same_class(new, swaps[path]):
            del swaps[path]  # back to the class the config rebuilds
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
            path = relative_path(site, chain, owner)
            if path in swaps:
                return swaps[path]
    return None


def owned(site):
    """True when `site` sits inside an owner (a layer rebuilt from its own
    constructor arguments rather than from a serialized graph)."""
    return any(
        not _serializes_children(owner) for _, chain in site.holders for owner in chain
    )
