"""Saving a converted model to a `.keras` file: the writing side.

An owner (a keras-hub model or block, a subclassed model, a custom layer:
`kerasdrop.graph.owners`) rebuilds its own dropout from its config, so a
plain entry for it in a `.keras` file would load stock dropout back. While
Keras saves a model (`model.save`, `keras.saving.save_model`,
`keras.callbacks.ModelCheckpoint`), the entry of every outermost owner that
kerasdrop swapped layers in becomes a `ConvertedOwner` entry:

    {"module": "kerasdrop.graph.loading", "class_name": "ConvertedOwner",
     "registered_name": "kerasdrop>ConvertedOwner",
     "config": {"requires": ..., "owner": <the owner's own entry>,
                "swaps": {<path from the owner>: <kerasdrop layer entry>},
                "order": [<paths of its dropout-bearing layers, walk order>]},
     "compile_config": ...}

`kerasdrop.graph.loading.ConvertedOwner` reads it back (the checks made on
load are there).

How the entry is written: the owner's per-instance `get_config`
(`get_config_for`, installed when `graph.rewriting` records a swap) asks
Keras to hand it the owner's finished entry (`kerasdrop._keras.on_serialized`,
through the object-sharing scope every `.keras` save opens) and rewrites it
in place. It is the one way that covers the three ways of saving, an owner
at the top and one nested in a Functional model, and leaves the model's
class alone; the rest of the format is Keras' own. A bare `get_config()`
(no saving scope) still refuses: a config dict cannot carry the swaps
under the owner's own class.
"""

import keras

from kerasdrop import _checks, _keras
from kerasdrop.graph import owners
from kerasdrop.graph.sites import find, layer_sites

NAME = "kerasdrop>ConvertedOwner"
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
        if layer is None or not is_kerasdrop_class(type(layer)):
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
            module="kerasdrop.graph.loading",
            class_name="ConvertedOwner",
            config={
                "requires": _REQUIRES,
                "owner": own,
                "swaps": swaps,
                "order": order,
            },
            registered_name=NAME,
        )
        if compiled is not None:  # compiled after the swaps
            entry["compile_config"] = compiled

    order = [site.path for site in find(owner)]
    if not _keras.on_serialized(owner, to_converted):
        raise _refusal(owner)
    return owners.class_config(owner)


def is_kerasdrop_class(cls):
    return (
        isinstance(cls, type)
        and issubclass(cls, keras.layers.Layer)
        and cls.__module__.split(".")[0] == "kerasdrop"
        and keras.saving.get_registered_name(cls).startswith("kerasdrop>")
    )


def get_config_for(owner):
    """The per-instance `get_config` of an owner holding swaps: its class's
    config inside `owners.config_bypass()` (copying), else `owner_config`."""

    def get_config():
        if owners.bypassed():
            return type(owner).get_config(owner)
        return owner_config(owner)

    return get_config


def guard_save(model):
    """`model.save` checks that every owner's swaps can be saved before it
    opens a file (Keras opens it before asking for configs)."""
    if "save" in model.__dict__:
        return

    def save(*args, **kwargs):
        for layer in _keras.flatten_layers(model):
            if "_kerasdrop_swaps" in layer.__dict__:
                swap_entries(layer)  # raises on a swap it cannot save
        return type(model).save(model, *args, **kwargs)

    object.__setattr__(model, "save", save)
