"""Copying a model: same classes, weights and in-place swaps.

`copy_model(model)` is the independent copy `convert` and `strip_dropout`
rewrite; `rebuild(serialized, name)` turns a serialized layer back into one.
"""

import warnings

import keras

from kerasdrop import _checks, _keras
from kerasdrop.graph import owners
from kerasdrop.graph.rewriting import rewrite
from kerasdrop.graph.sites import find


class CopyError(TypeError):
    """`copy_model` could not copy a model: Keras cannot rebuild it from its
    config, or the rebuilt copy differs. A `TypeError` naming `model`; its
    own class so that callers with a way around a copy (`kerasdrop.export`
    serves the model as it is) catch this failure and no other."""


def _refusal(text, received):
    return CopyError(_checks.invalid("model", text, received))


def _classes(model):
    return {type(layer).__name__: type(layer) for layer in _keras.flatten_layers(model)}


def copy_model(model, hint="Pass `copy=False` to rewrite it in place"):
    """An independent copy of `model`, same classes, weights and swaps.

    Rebuilt from the model's config (Keras serialization, as `clone_model`
    does for custom classes), replaying any in-place swap an owner's config
    would not rebuild, then given the model's weights. Raises `CopyError`
    (a `TypeError`) when that fails; `hint` ends its message.
    """
    with owners.config_bypass():
        try:
            copy = _rebuild_model(model)
        except Exception as err:
            raise _refusal(
                f"kerasdrop cannot copy model '{model.name}' of class "
                f"{type(model).__name__} from its config ({type(err).__name__}: "
                f"{str(err).strip().splitlines()[0]}). {hint}.",
                f"model of type {type(model).__name__}",
            ) from err
    _replay_swaps(model, copy)
    if not copy.built and model.built:
        copy.build_from_config(model.get_build_config() or {})
    source, target = model.weights, copy.weights
    if [v.shape for v in source] != [v.shape for v in target]:
        raise _refusal(
            f"The copy of model '{model.name}' rebuilt from its config has "
            f"different weights ({len(target)} instead of {len(source)}). {hint}.",
            f"model of type {type(model).__name__}",
        )
    for old, new in zip(source, target):
        # A host copy: on JAX a shared buffer would be deleted when either
        # model's compiled step donates it.
        new.assign(keras.ops.convert_to_numpy(old.value))
    return copy


def _rebuild_model(model):
    """A new model of the same class and config (weights not copied)."""
    if owners.is_graph_container(model):
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
        raise _refusal(
            f"Its copy rebuilt from config has {len(theirs)} dropout-bearing "
            f"layers instead of {len(ours)}.",
            f"model of type {type(model).__name__}",
        )
    wanted = {
        id(other.layer): site.layer
        for site, other in zip(ours, theirs)
        if owners.owned(site) and type(site.layer) is not type(other.layer)
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
