"""The one door to Keras' and keras-hub's private parts.

Every use of a private Keras or keras-hub name (imports from `keras.src` or
`keras_hub.src`, attributes with a leading underscore that Keras defines,
per-instance overrides of Keras methods) lives here, behind a named function
whose docstring says what it relies on. `tests/test_private_access.py`
fails on any such access elsewhere in the package, and checks every
accessor against the installed Keras and keras-hub, so an upgrade that
moves one fails loudly instead of silently.
"""

import contextlib
import functools
import importlib
import sys

import keras
from keras.src.models.functional import Functional
from keras.src.ops.node import KerasHistory
from keras.src.ops.numpy import Add as NumpyAdd


def loaded_class(path):
    """The class `path` ("package.module:Class") names, or None while its
    top package is not imported (keras-hub stays optional); once it is, the
    module is imported if need be.

    Relies on: the private module paths of the classes the registry names
    (`keras.src.applications.convnext`, `keras_hub.src.models.*`). Raises
    `LookupError` when the module is imported but has no such class, or when
    the module cannot be found although its package is imported (a rename).
    """
    module, _, name = path.partition(":")
    if module not in sys.modules:
        top = module.split(".")[0]
        if top not in sys.modules:
            return None
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise LookupError(f"{path}: {err}") from None
    cls = getattr(sys.modules[module], name, None)
    if cls is None:
        raise LookupError(f"{path}: module has no attribute {name!r}")
    return cls


# ----------------------------------------------------------------------------
# Graph models and their layers.
# ----------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------
# Graph nodes.
# ----------------------------------------------------------------------------
def nodes_by_depth(model):
    """`{depth: [node, ...]}` of a `Functional` graph (depth 0: the outputs).

    Relies on: `Functional._nodes_by_depth`.
    """
    return model._nodes_by_depth


def inbound_nodes(operation):
    """The graph nodes in which `operation` (a layer) was called, in call
    order (a node's index is its position here).

    Relies on: `Operation._inbound_nodes`.
    """
    return operation._inbound_nodes


def outbound_nodes(operation):
    """The graph nodes that consumed an output of `operation`.

    Relies on: `Operation._outbound_nodes`.
    """
    return operation._outbound_nodes


def set_nodes(operation, inbound, outbound):
    """Gives `operation` the inbound and outbound node lists of another.

    Relies on: `Operation._inbound_nodes` and `._outbound_nodes`.
    """
    operation._inbound_nodes = inbound
    operation._outbound_nodes = outbound


def history(tensor):
    """`(operation, node_index, tensor_index)` of the graph node that computed
    a symbolic `tensor` (a namedtuple), or None.

    Relies on: `KerasTensor._keras_history`.
    """
    return getattr(tensor, "_keras_history", None)


def set_history(tensor, operation, node_index, tensor_index):
    """Records `operation` (its node `node_index`, output `tensor_index`) as
    the producer of a symbolic `tensor`.

    Relies on: `KerasTensor._keras_history` and
    `keras.src.ops.node.KerasHistory`.
    """
    tensor._keras_history = KerasHistory(operation, node_index, tensor_index)


def rename_node_keys(model, old, new):
    """A `Functional` keeps its nodes as "<id(operation)>_ib-<index>" keys:
    renames those of `old` to `new` (nothing for a model without them).

    Relies on: `Functional._nodes` and its key format.
    """
    nodes = getattr(model, "_nodes", None)
    if not isinstance(nodes, set):
        return
    prefix = f"{id(old)}_ib-"
    for key in [k for k in nodes if k.startswith(prefix)]:
        nodes.discard(key)
        nodes.add(f"{id(new)}_ib-" + key[len(prefix) :])


def inputs_struct(model):
    """The nested structure of a `Functional`'s symbolic inputs, or None for
    a model without symbolic inputs (subclassed, `Sequential`).

    Relies on: `Function._inputs_struct`.
    """
    return getattr(model, "_inputs_struct", None)


def outputs_struct(model):
    """The nested structure of a `Functional`'s symbolic outputs (a tensor,
    a list or a dict, as the model was built), or None for a model without
    symbolic outputs (subclassed, `Sequential`).

    Relies on: `Function._outputs_struct`.
    """
    return getattr(model, "_outputs_struct", None)


def node_call_arguments(node, tensors):
    """`(args, kwargs)` of the call a graph `node` recorded, with each
    symbolic tensor `t` replaced by `tensors[id(t)]` (None where missing),
    the way a `Functional` replays its graph on new inputs.

    Relies on: `Node.arguments` (a `SymbolicArguments`) and its
    `fill_in(tensor_dict)`.
    """
    return node.arguments.fill_in(tensors)


def is_add_operation(operation):
    """True for the operation node `a + b` (or `keras.ops.add(a, b)`)
    leaves in a Functional graph built from symbolic tensors.

    Relies on: `keras.src.ops.numpy.Add`, the operation class
    `KerasTensor.__add__` and `keras.ops.add` call symbolically.
    """
    return type(operation) is NumpyAdd


def convnext(**kwargs):
    """keras.applications' generic ConvNeXt builder, which takes what the
    named variants (`ConvNeXtTiny`, ...) do not: `depths`,
    `projection_dims`, `drop_path_rate`, `default_size` (pass
    `weights=None`: nothing is downloaded).

    Relies on: `keras.src.applications.convnext.ConvNeXt(depths,
    projection_dims, drop_path_rate=0.0, ..., weights=None, ...)`.
    """
    from keras.src.applications import convnext as convnext_lib

    return convnext_lib.ConvNeXt(**kwargs)


# ----------------------------------------------------------------------------
# Layers, metrics and callbacks.
# ----------------------------------------------------------------------------
def build_at_init(layer):
    """Marks `layer` built at the end of its constructor, as Keras' own
    stateless layers (`Dropout`) are; nothing under a Keras without the hook.

    Relies on: `Layer._build_at_init()` (a no-op for a layer that overrides
    `build`).
    """
    build = getattr(layer, "_build_at_init", None)
    if build is not None:
        build()


def metric_direction(metric):
    """`"up"` for a metric that improves upward (accuracy, precision, AUC),
    `"down"` for one that improves downward, None when the metric does not
    say.

    Relies on: `Metric._direction`, which `MonitorCallback` reads in
    `mode="auto"`.
    """
    return getattr(metric, "_direction", None)


def backup_metadata_path(callback):
    """The training metadata file of a `keras.callbacks.BackupAndRestore`
    (epoch and batch of the last save), or None under a Keras without one.

    Relies on: `BackupAndRestore._training_metadata_path`.
    """
    return getattr(callback, "_training_metadata_path", None)


def backup_hooks_available(callback):
    """True when the Keras installed has what `BackupWithSaveHook` relies
    on: the metadata file of `callback` (a `BackupAndRestore`) and the save
    step to follow.

    Relies on: `BackupAndRestore._training_metadata_path` and
    `BackupAndRestore._save_model`.
    """
    return backup_metadata_path(callback) is not None and hasattr(
        keras.callbacks.BackupAndRestore, "_save_model"
    )


class BackupWithSaveHook(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` that calls `after_save()` after each
    save, once the checkpoint and its metadata file are written.

    Relies on: `BackupAndRestore._save_model()`, the step that writes both
    (overridden here); check `backup_hooks_available` first.
    """

    def after_save(self):
        """Called after each checkpoint (nothing here)."""

    def _save_model(self):
        super()._save_model()
        self.after_save()


# ----------------------------------------------------------------------------
# Compiled functions.
# ----------------------------------------------------------------------------
def override_function_maker(model, kind, maker):
    """Makes `model` build its `kind` function ("predict", "test", "train")
    with `maker(force=False)` from now on; kept if one was set before.

    Relies on: `Trainer.predict`/`evaluate`/`fit` calling
    `self.make_{kind}_function()` on the instance (so an instance attribute
    overrides the class's), and on every backend's signature
    `make_{kind}_function(force=False)`.
    """
    name = f"make_{kind}_function"
    if name not in model.__dict__:
        object.__setattr__(model, name, maker)


class _StandIn:
    """Stands in for a model while Keras builds one of its compiled
    functions: Keras stores the function here, not on the model (another
    thread may be reading the model's own)."""

    def __init__(self, model):
        object.__setattr__(self, "_model", model)

    def __getattr__(self, name):
        value = getattr(self._model, name)
        if name.endswith("_step") and callable(value):
            # A fresh callable per build: `jax.jit` caches traces by
            # function, and two bound methods of one model compare equal.
            return functools.partial(value)
        return value

    def __setattr__(self, name, value):
        self.__dict__[name] = value


def build_function(model, kind):
    """A newly traced `kind` function ("predict", "test", "train") of `model`,
    built by the class's `make_{kind}_function` (not an override set with
    `override_function_maker`) and not stored on `model`.

    Relies on: `Trainer.make_{kind}_function(force=True)` reading the model
    (its `{kind}_step`, distribution state) through `self` and storing the
    function as `self.{kind}_function`.
    """
    stand_in = _StandIn(model)
    getattr(type(model), f"make_{kind}_function")(stand_in, force=True)
    return stand_in.__dict__[f"{kind}_function"]


def fresh_train_function(model):
    """`model.make_train_function(force=True)` over a new step function:
    stored on `model` as Keras does, and returned.

    JAX caches traces by function, and every `model.train_step` is the same
    bound method: a new `partial` gets a trace of its own, traced with the
    model as it is now (and Keras' own function keeps its trace).

    Relies on: `Trainer.make_train_function` reading `self.train_step`
    (overridden on the instance while it builds).
    """
    step = functools.partial(type(model).train_step, model)
    object.__setattr__(model, "train_step", step)
    try:
        model.make_train_function(force=True)
    finally:
        object.__delattr__(model, "train_step")
    return model.train_function


# ----------------------------------------------------------------------------
# Recurrent layers.
# ----------------------------------------------------------------------------
def adopt_cell(layer, cell_class):
    """Makes `layer.cell` an instance of `cell_class`, a subclass of its
    class that adds methods only (no state): the cell Keras' constructor
    built stays, with every attribute it set.

    Relies on: Keras' RNN constructors building their cell, and the cell's
    constructor setting all the state its methods read.
    """
    if not issubclass(cell_class, type(layer.cell)):
        raise TypeError(f"{cell_class.__name__} does not extend {type(layer.cell)}")
    layer.cell.__class__ = cell_class


class StepLoopSwitch:
    """Mixin for subclasses of Keras' `LSTM`, `GRU` and `SimpleRNN`: a call
    for which the layer's `_needs_step_loop()` is true runs Keras' generic
    step loop (the cell's `call` at every step, no cuDNN); every other call
    runs the Keras layer's own loop (cuDNN where it can).

    Relies on: `RNN.inner_loop(sequences, initial_state, mask, training)`,
    the hook between `RNN.call` and the backend's loop that `LSTM` and `GRU`
    override with their cuDNN path.
    """

    def _needs_step_loop(self):
        return False

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self._needs_step_loop():
            return super().inner_loop(
                sequences, initial_state, mask=mask, training=training
            )
        if keras.tree.is_nested(mask):
            mask = mask[0]
        return keras.layers.RNN.inner_loop(
            self, sequences, initial_state, mask=mask, training=training
        )


_SHARED_CONFIGS = "shared_objects/id_to_config_map"


class _EntryHooks(dict):
    """Keras' id -> entry map of a sharing scope, calling a hook on the
    entry of an object when Keras records it."""

    def __init__(self, entries):
        super().__init__(entries)
        self.hooks = {}

    def __setitem__(self, key, entry):
        super().__setitem__(key, entry)
        hook = self.hooks.pop(key, None)
        if hook is not None:
            hook(entry)


def on_serialized(obj, hook):
    """Arranges for `hook(entry)` to run on the entry Keras writes for `obj`
    (the dict with `class_name`, `config`, `build_config`, ... that the file
    holds) once it is complete, when `obj` is being serialized inside an
    object-sharing scope: `model.save`, `keras.saving.save_model` and
    `ModelCheckpoint` open one around the whole model. Returns False, doing
    nothing, outside such a scope (a bare `get_config()`).

    Relies on: `ObjectSharingScope` keeping its id -> entry map under the
    global-state key "shared_objects/id_to_config_map", and
    `record_object_after_serialization` storing there, right after an object
    is serialized, the very dict that is embedded in the saved config.
    """
    from keras.src.backend.common import global_state

    entries = global_state.get_global_attribute(_SHARED_CONFIGS)
    if entries is None:
        return False
    if not isinstance(entries, _EntryHooks):
        entries = _EntryHooks(entries)
        global_state.set_global_attribute(_SHARED_CONFIGS, entries)
    entries.hooks[id(obj)] = hook
    return True
