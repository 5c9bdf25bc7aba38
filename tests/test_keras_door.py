"""Every accessor of `kerasdrop._keras` works on the installed Keras.

Each public function of the door is exercised against the installed Keras
(and keras-hub): an upgrade that moves a private part Keras kerasdrop relies
on fails here, by name. `tests/test_private_access.py` makes sure nothing
outside the door reaches those parts.
"""

import ast
import importlib
import importlib.util
import inspect
import pathlib
import pkgutil

import keras
import numpy as np
import pytest

from kerasdrop import _keras
from kerasdrop.graph import registry
from test_private_access import PACKAGE, PRIVATE_PACKAGES
from helpers import to_numpy


# ----------------------------------------------------------------------------
# The accessors, against the installed Keras and keras-hub.
# ----------------------------------------------------------------------------
COVERED = set()


def covers(*names):
    """Marks a test as the check of these `_keras` accessors."""
    COVERED.update(names)
    return lambda test: test


def _public_names():
    """The public functions and classes the door's modules define; each is
    also reachable as `_keras.<name>`, the only way the package uses them."""
    names = set()
    for info in pkgutil.iter_modules(_keras.__path__):
        module = importlib.import_module(f"{_keras.__name__}.{info.name}")
        for name, value in vars(module).items():
            if (
                not name.startswith("_")
                and (inspect.isfunction(value) or inspect.isclass(value))
                and value.__module__ == module.__name__
            ):
                assert getattr(_keras, name, None) is value, name
                names.add(name)
    return names


def test_every_accessor_is_checked_and_says_what_it_relies_on():
    names = _public_names()
    assert names == COVERED, (names - COVERED, COVERED - names)
    for name in sorted(names):
        doc = getattr(_keras, name).__doc__ or ""
        assert "Relies on: " in doc, name


def _functional():
    x = keras.Input((4,), name="x")
    h = keras.layers.Dense(3, name="dense")(x)
    y = keras.layers.Dropout(0.5, name="drop")(h)
    return keras.Model(x, y)


@covers("functional_class", "is_functional", "sequential_graph", "inputs_struct")
def test_graph_models():
    model = _functional()
    assert isinstance(_keras.functional_class(), type)
    assert isinstance(model, _keras.functional_class())
    assert _keras.is_functional(model)
    assert not _keras.is_functional(keras.layers.Dense(2))
    sequential = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    graph = _keras.sequential_graph(sequential)
    assert _keras.is_functional(graph) and sequential.layers[0] in graph.layers
    assert _keras.sequential_graph(model) is None
    assert _keras.inputs_struct(model) is model.inputs[0]

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    assert _keras.inputs_struct(Subclassed()) is None


@covers("flatten_layers", "tracked_sublayers", "attention_dropout")
def test_sublayers():
    model = _functional()
    everything = _keras.flatten_layers(model)
    assert everything[0] is model and model.get_layer("dense") in everything
    assert model not in _keras.flatten_layers(model, include_self=False)
    attention = keras.layers.MultiHeadAttention(2, 4, dropout=0.1)
    x = np.ones((1, 3, 8), "float32")
    attention(x, x)
    rate, dropout = _keras.attention_dropout(attention)
    assert rate == 0.1 and isinstance(dropout, keras.layers.Dropout)
    assert dropout in _keras.tracked_sublayers(attention)
    assert dropout in _keras.flatten_layers(attention)
    assert _keras.tracked_sublayers(object()) == []


class _Holder(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = keras.layers.Dense(2)
        self.blocks = [keras.layers.Dense(2)]

    def build(self, shape):
        self.inner.build(shape)
        self.blocks[0].build(shape)

    def call(self, x):
        return self.blocks[0](self.inner(x))


@covers("named_attributes", "untracked_attributes")
def test_attributes():
    holder = _Holder()
    named = dict(_keras.named_attributes(holder))
    assert named["inner"] is holder.inner and "blocks" in named
    assert not any(name.startswith(("_tracker", "_self_")) for name in named)
    assert "_layers" not in named
    untracked = dict(_keras.untracked_attributes(holder))
    assert "_tracker" in vars(holder) and "_tracker" not in untracked
    assert holder.inner in untracked["_layers"]  # Keras' list of sublayers
    assert {"blocks", "inner"} <= set(named) and "_modules" not in named  # torch


@covers("retrack_torch_params")
def test_retrack_torch_params():
    holder = _Holder()
    holder.build((None, 3))
    _keras.retrack_torch_params(holder)
    _keras.retrack_torch_params(object())  # no registry: nothing
    if keras.backend.backend() != "torch":
        return
    old, new = holder.inner, keras.layers.Dense(2)
    new.build((None, 3))
    holder._modules["inner"] = new  # a swap behind torch's back
    holder._layers[holder._layers.index(old)] = new
    stale = {id(p) for p in holder.parameters()}
    assert {id(v.value) for v in old.weights} <= stale
    _keras.retrack_torch_params(holder)
    fresh = {id(p) for p in holder.parameters()}
    assert fresh == {id(v.value) for v in holder.variables}
    assert not {id(v.value) for v in old.weights} & fresh


@covers("register_torch_parameters")
def test_register_torch_parameters():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)]
    )
    before = list(model.variables)
    _keras.register_torch_parameters(model)  # nothing on other backends
    assert list(model.variables) == before
    if keras.backend.backend() != "torch":
        return
    registered = {id(p) for p in model._torch_params.values()}
    assert registered == {id(v.value) for v in model.variables}
    assert "_torch_params" in model._modules  # torch holds it
    assert {id(p) for p in model.parameters()} == registered


@covers("unlocked_tracker", "swap_tracked_id")
def test_tracker():
    holder = _Holder()
    holder.build((None, 3))
    holder.built = True
    holder._lock_state()
    with pytest.raises(ValueError, match="already built"):
        holder.extra = keras.layers.Dense(2)
    with _keras.unlocked_tracker(holder):
        holder.extra = keras.layers.Dense(2)
    with pytest.raises(ValueError, match="already built"):
        holder.other = keras.layers.Dense(2)
    old, new = holder.inner, keras.layers.Dense(2)
    _keras.swap_tracked_id(holder, old, new)
    ids = holder._tracker.stored_ids["layers"]
    assert id(new) in ids and id(old) not in ids
    _keras.swap_tracked_id(object(), old, new)  # nothing to do


@covers("list_storage", "note_list_swap")
def test_tracked_lists():
    plain = [1, 2]
    assert _keras.list_storage(plain) is plain
    assert _keras.list_storage((1, 2)) is None
    holder = _Holder()
    storage = _keras.list_storage(holder.blocks)
    assert list(storage) == list(holder.blocks)
    _keras.note_list_swap(plain, plain)  # a plain list: nothing
    if keras.backend.backend() != "tensorflow":
        return
    from tensorflow.python.trackable import data_structures

    wrapper = data_structures.ListWrapper([1, 2])
    storage = _keras.list_storage(wrapper)
    assert storage is not wrapper and storage == [1, 2]
    list.__setitem__(storage, 0, 3)
    _keras.note_list_swap(wrapper, storage)
    assert wrapper._last_wrapped_list_snapshot == [3, 2]
    assert not wrapper._non_append_mutation


@covers("nodes_by_depth", "inbound_nodes", "outbound_nodes", "history")
def test_nodes():
    model = _functional()
    dense, drop = model.get_layer("dense"), model.get_layer("drop")
    by_depth = _keras.nodes_by_depth(model)
    assert by_depth and [n.operation for n in by_depth[0]] == [drop]
    (node,) = _keras.inbound_nodes(dense)
    assert node.operation is dense
    assert [n.operation for n in _keras.outbound_nodes(dense)] == [drop]
    history = _keras.history(model.outputs[0])
    assert (history.operation, history.node_index, history.tensor_index) == (
        drop,
        0,
        0,
    )
    assert _keras.history(np.ones(2)) is None


@covers("outputs_struct", "node_call_arguments", "is_add_operation")
def test_graph_replay():
    x = keras.Input((4,), name="x")
    h = keras.layers.Dense(4, name="dense")(x)
    total = x + h
    model = keras.Model(x, {"total": total, "h": h})
    assert _keras.outputs_struct(model) == {"total": total, "h": h}
    assert _keras.outputs_struct(keras.Sequential([keras.layers.Dense(2)])) is None
    node = _keras.inbound_nodes(_keras.history(total).operation)[0]
    assert _keras.is_add_operation(node.operation)
    assert not _keras.is_add_operation(keras.layers.Add())
    new = keras.Input((4,))
    args, kwargs = _keras.node_call_arguments(node, {id(x): new, id(h): new})
    assert args == (new, new) and kwargs == {}


@covers("convnext")
def test_convnext_builder():
    model = _keras.convnext(
        depths=[1, 1, 1, 1],
        projection_dims=[4, 4, 4, 4],
        drop_path_rate=0.5,
        default_size=32,
        input_shape=(32, 32, 3),
        classes=3,
        weights=None,
    )
    kinds = {type(layer).__name__ for layer in model.layers}
    assert "StochasticDepth" in kinds and model.output_shape == (None, 3)


@covers("set_history", "set_nodes", "rename_node_keys")
def test_node_rewiring():
    model = _functional()
    old = model.get_layer("drop")
    new = keras.layers.Dropout(0.5, name="new")
    tensor = keras.KerasTensor((None, 4))
    _keras.set_history(tensor, new, 0, 1)
    assert tuple(_keras.history(tensor)) == (new, 0, 1)
    _keras.set_nodes(new, _keras.inbound_nodes(old), _keras.outbound_nodes(old))
    assert _keras.inbound_nodes(new) == _keras.inbound_nodes(old)
    assert _keras.outbound_nodes(new) == _keras.outbound_nodes(old)
    assert f"{id(old)}_ib-0" in model._nodes
    _keras.rename_node_keys(model, old, new)
    assert f"{id(new)}_ib-0" in model._nodes
    assert f"{id(old)}_ib-0" not in model._nodes
    _keras.rename_node_keys(keras.layers.Dense(2), old, new)  # no nodes


@covers("build_at_init")
def test_build_at_init():
    class Stateless(keras.layers.Layer):
        def call(self, x):
            return x

    layer = Stateless()
    layer.built = False
    _keras.build_at_init(layer)
    assert layer.built


@covers("metric_direction")
def test_metric_direction():
    model = _functional()
    model.compile("sgd", "mse", metrics=[keras.metrics.Precision(name="p")])
    model.evaluate(np.ones((2, 4)), np.ones((2, 3)), verbose=0)
    compiled = [m for outer in model.metrics for m in getattr(outer, "metrics", [])]
    (precision,) = [m for m in compiled if m.name == "p"]
    assert _keras.metric_direction(precision) == "up"
    assert _keras.metric_direction(keras.metrics.MeanSquaredError()) == "down"
    assert _keras.metric_direction(keras.metrics.Mean()) is None


@covers("backup_metadata_path", "backup_hooks_available", "BackupWithSaveHook")
def test_backup_hooks(tmp_path):
    saves = []

    class Counting(_keras.BackupWithSaveHook):
        def after_save(self):
            path = _keras.backup_metadata_path(self)
            saves.append(pathlib.Path(path).is_file())

    backup = Counting(str(tmp_path))
    assert _keras.backup_hooks_available(backup)
    model = _functional()
    model.compile("sgd", "mse")
    x, y = np.ones((4, 4)), np.ones((4, 3))
    model.fit(x, y, epochs=2, batch_size=2, callbacks=[backup], verbose=0)
    assert saves == [True, True]  # after each epoch's save, file written


@covers("override_function_maker", "build_function")
def test_function_hooks():
    model = _functional()
    model.compile("sgd", "mse")
    x = np.ones((2, 4), "float32")
    function = _keras.build_function(model, "predict")
    assert callable(function) and model.predict_function is None
    made = []

    def maker(force=False):
        made.append(force)
        model.predict_function = _keras.build_function(model, "predict")
        return model.predict_function

    _keras.override_function_maker(model, "predict", maker)
    _keras.override_function_maker(model, "predict", None)  # kept: first wins
    np.testing.assert_allclose(
        to_numpy(model.predict(x, verbose=0)), to_numpy(model(x)), rtol=1e-6
    )
    assert made and model.predict_function is not function


@covers("fresh_train_function")
def test_fresh_train_function():
    model = _functional()
    model.compile("sgd", "mse")
    first = _keras.fresh_train_function(model)
    second = _keras.fresh_train_function(model)
    assert callable(first) and first is not second
    assert model.train_function is second
    assert "train_step" not in model.__dict__
    model.fit(np.ones((2, 4)), np.ones((2, 3)), verbose=0)


@covers("adopt_cell", "StepLoopSwitch")
def test_recurrent_hooks():
    signature = inspect.signature(keras.layers.RNN.inner_loop)
    assert list(signature.parameters)[:5] == [
        "self",
        "sequences",
        "initial_state",
        "mask",
        "training",
    ]
    calls = []

    class Switched(_keras.StepLoopSwitch, keras.layers.LSTM):
        step_loop = False

        def _needs_step_loop(self):
            calls.append(self.step_loop)
            return self.step_loop

    class Cell(keras.layers.LSTMCell):
        pass

    layer = Switched(3)
    _keras.adopt_cell(layer, Cell)
    assert type(layer.cell) is Cell and layer.cell.units == 3
    with pytest.raises(TypeError):
        _keras.adopt_cell(layer, keras.layers.GRUCell)
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    fused = np.asarray(to_numpy(layer(x)))
    layer.step_loop = True
    stepped = np.asarray(to_numpy(layer(x, mask=np.ones((2, 5), bool))))
    np.testing.assert_allclose(to_numpy(stepped), to_numpy(fused), rtol=1e-5, atol=1e-6)
    assert calls == [False, True]


@covers("on_serialized")
def test_on_serialized_sees_the_entry_keras_saves(tmp_path):
    model = _functional()
    layer = model.get_layer("dense")
    assert not _keras.on_serialized(layer, lambda entry: None)  # no saving scope
    seen = []

    def get_config():
        _keras.on_serialized(layer, seen.append)
        return type(layer).get_config(layer)

    object.__setattr__(layer, "get_config", get_config)
    model.save(tmp_path / "m.keras")
    (entry,) = seen
    assert entry["class_name"] == "Dense" and "build_config" in entry


@covers("loaded_class")
def test_loaded_class():
    path = "keras.src.models.functional:Functional"
    assert _keras.loaded_class(path) is _keras.functional_class()
    assert _keras.loaded_class("not_a_package_xyz.module:Class") is None
    with pytest.raises(LookupError, match="no attribute"):
        _keras.loaded_class("keras.src.models.functional:NoSuchClass")
    with pytest.raises(LookupError):
        _keras.loaded_class("keras.src.no_such_module_xyz:Class")


def _class_paths():
    """Every "module:Class" path under `keras.src`/`keras_hub.src` that the
    package names (the registry's, and any other)."""
    paths = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.startswith(tuple(p + "." for p in PRIVATE_PACKAGES))
                and ":" in node.value
            ):
                paths.add(node.value)
    return sorted(paths)


def _check_paths(prefix):
    paths = [p for p in _class_paths() if p.startswith(prefix)]
    assert paths, f"no {prefix} class path found in the package"
    for path in paths:
        cls = _keras.loaded_class(path)
        assert isinstance(cls, type) and issubclass(cls, keras.layers.Layer), path
    return paths


def test_every_keras_class_path_resolves():
    paths = _check_paths("keras.src.")
    registered = {key for key in registry._BUILTIN if isinstance(key, str)}
    assert {p for p in registered if p.startswith("keras.src.")} <= set(paths)


def test_every_keras_hub_class_path_resolves():
    if importlib.util.find_spec("keras_hub") is None:
        pytest.skip("keras_hub is not installed: its class paths cannot resolve")
    importlib.import_module("keras_hub")
    paths = _check_paths("keras_hub.src.")
    registered = {key for key in registry._BUILTIN if isinstance(key, str)}
    assert {p for p in registered if p.startswith("keras_hub.src.")} <= set(paths)
