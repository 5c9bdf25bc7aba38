"""Graph models and their layers: what a model holds and tracks."""

import contextlib
import functools

import keras
from keras.src.models.functional import Functional


def functional_class():
    """Keras' `Functional` class: the graph model `keras.Model(inputs,
    outputs)` builds, and the base of keras-hub's tasks and backbones.

    Relies on: `keras.src.models.functional.Functional`.
    """
    return Functional


def is_functional(model):
    """True when `model` is a graph model (`Functional` or a subclass).

    Relies on: `keras.src.models.functional.Functional`.
    """
    return isinstance(model, Functional)


def sequential_graph(model):
    """The `Functional` graph a `keras.Sequential` runs (None before it is
    built, and for a layer that holds no such graph).

    Relies on: `Sequential._functional`.
    """
    return getattr(model, "_functional", None)


def flatten_layers(model, include_self=True):
    """`model`'s layers at every depth, tracked sublayers first met first
    (with `model` itself first when `include_self`).

    Relies on: `Layer._flatten_layers(include_self, recursive=True)`.
    """
    return model._flatten_layers(include_self=include_self, recursive=True)


def tracked_sublayers(layer):
    """The layers `layer` tracks directly (attributes, lists, dicts, graph
    layers), in tracking order; `[]` for an object without any.

    Relies on: `Layer._layers`.
    """
    return getattr(layer, "_layers", [])


def attention_dropout(layer):
    """`(rate, dropout layer)` of a `keras.layers.MultiHeadAttention`: its
    `dropout` argument and the `Dropout` sublayer its call runs on the
    attention scores (None before the layer is built).

    Relies on: `MultiHeadAttention._dropout` and `._dropout_layer`.
    """
    return layer._dropout, getattr(layer, "_dropout_layer", None)


#: Instance attributes of Keras' and TensorFlow's layer tracking: not
#: attributes a layer's class set (`named_attributes` leaves them out).
_TRACKING = ("_layers", "_functional")
_TRACKING_PREFIXES = ("_tracker", "_self_")


@functools.cache
def _torch_module_attributes():
    """The instance attributes every `torch.nn.Module` has (its registries
    and hooks, `training`): none a layer's class set."""
    import torch

    return frozenset(vars(torch.nn.Module()))


def _instance_attributes(layer):
    """`(name, value)` of `layer`'s instance attributes as its class set
    them: on torch a sublayer lives in `Module._modules`, not in `vars()`,
    so those entries (but Keras' `_torch_params`) stand for themselves and
    torch's own bookkeeping is left out; as `vars(layer)` elsewhere."""
    attributes = vars(layer)
    modules = attributes.get("_modules")
    if keras.backend.backend() != "torch" or not isinstance(modules, dict):
        return list(attributes.items())
    internal = _torch_module_attributes()
    return [
        (name, value) for name, value in attributes.items() if name not in internal
    ] + [(name, value) for name, value in modules.items() if name != "_torch_params"]


def named_attributes(layer):
    """`(name, value)` of the instance attributes `layer`'s class set,
    without Keras' and TensorFlow's tracking bookkeeping (the tracker, the
    list of tracked layers, a Sequential's graph, TF's `_self_*`) nor
    torch's (`Module._modules` is unpacked: a sublayer held as `self.inner`
    is `("inner", layer)` on every backend).

    Relies on: the names of that bookkeeping (`Layer._tracker`,
    `Layer._layers`, `Sequential._functional`, TF's `Trackable._self_*`,
    torch's `Module._modules` and Keras' `TorchLayer._torch_params`).
    """
    return [
        (name, value)
        for name, value in _instance_attributes(layer)
        if not name.startswith(_TRACKING_PREFIXES) and name not in _TRACKING
    ]


def register_torch_parameters(model):
    """On torch, makes `model` itself hold every variable its layers use as
    a registered torch parameter, so that `torch.onnx` can trace it. Keras
    registers variables layer by layer, and a layer whose registry torch
    does not hold (keras-hub's task models; a subclassed model rebuilt from
    its config) leaves tensors the tracer would have to bake in as
    constants. Only for models kerasdrop serves (stripped copies, `AsIs`
    wrappers); nothing on other backends.

    Relies on: `TorchLayer._torch_params` (a `torch.nn.ParameterDict`).
    """
    if keras.backend.backend() != "torch":
        return
    import torch

    values = {}
    for variable in model.variables:
        values.setdefault(id(variable.value), variable.value)
    params = torch.nn.ParameterDict(
        {f"v{i}": value for i, value in enumerate(values.values())}
    )
    torch.nn.Module.__setattr__(model, "_torch_params", params)


def untracked_attributes(layer):
    """`(name, value)` of every instance attribute of `layer` but its layer
    tracker: what may refer to a sublayer, Keras' list of tracked layers
    included.

    Relies on: `Layer._tracker`.
    """
    return [(name, value) for name, value in vars(layer).items() if name != "_tracker"]


@contextlib.contextmanager
def unlocked_tracker(layer):
    """Inside the block `layer` accepts new sublayers although it is built
    (its tracker is unlocked, and locked again after if it was).

    Relies on: `Layer._tracker` and `Tracker.locked`/`lock()`/`unlock()`.
    """
    tracker = getattr(layer, "_tracker", None)
    was_locked = bool(tracker and tracker.locked)
    if tracker is not None:
        tracker.unlock()
    try:
        yield
    finally:
        if was_locked:
            tracker.lock()


def swap_tracked_id(layer, old, new):
    """Makes `layer`'s tracker know `new` where it knew `old` (a layer it
    tracks, replaced in place), so that assigning `new` is not refused as
    a second copy.

    Relies on: `Layer._tracker` and `Tracker.stored_ids["layers"]`.
    """
    tracker = getattr(layer, "_tracker", None)
    if tracker is None:
        return
    ids = tracker.stored_ids.get("layers", set())
    if id(old) in ids:
        ids.discard(id(old))
        ids.add(id(new))


def retrack_torch_params(layer):
    """On torch, makes the parameters `layer` registers with torch
    (`layer.parameters()`, what an optimizer or ONNX export reads) its Keras
    variables again, after its sublayers were swapped in place; nothing on
    other backends or for a layer that registered none yet (Keras does it
    when the layer is built, or on first use).

    keras-hub's `Backbone` and `Task` set their attributes with
    `object.__setattr__` on torch, so their parameter dict bypasses torch's
    registry (`parameters()` is empty); the one made here is registered.

    Relies on: `TorchLayer._torch_params` (a `ParameterDict` of
    `layer.variables`, made at build), `TorchLayer._track_variables()`,
    which makes it anew, and torch's `Module._modules`.
    """
    modules = getattr(layer, "_modules", None)
    if not isinstance(modules, dict):
        return
    if "_torch_params" not in modules and "_torch_params" not in vars(layer):
        return
    layer._track_variables()
    if "_torch_params" in vars(layer):  # set past torch's __setattr__
        modules["_torch_params"] = vars(layer).pop("_torch_params")


def list_storage(value):
    """The plain list behind `value`: itself for a `list`, the wrapped list
    of TensorFlow's `ListWrapper` (Keras' tracked lists on TensorFlow),
    None for anything else.

    Relies on: `ListWrapper._storage`.
    """
    if isinstance(value, list) or hasattr(value, "_storage"):
        return getattr(value, "_storage", value)
    return None


def note_list_swap(value, storage):
    """After items of a `ListWrapper`'s `storage` were replaced in place
    (not by the user), marks the wrapper unchanged so that it stays
    saveable; nothing for a plain list.

    Relies on: `ListWrapper._last_wrapped_list_snapshot`.
    """
    if storage is not value:
        value._last_wrapped_list_snapshot = list(storage)
