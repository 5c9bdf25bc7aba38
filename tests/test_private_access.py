"""Keras' private parts are reached through `kerasdrop._keras` only.

The scan (`scan`) reads every module of `kerasdrop/` except `_keras.py` with
`ast` and reports:

1. Private module paths: an `import`/`from ... import` of `keras.src` or
   `keras_hub.src` (or below), an attribute `keras.src`/`keras_hub.src`, and
   a string literal starting with `"keras.src."` or `"keras_hub.src."`,
   except a `"module:Class"` path, the form only `_keras.loaded_class`
   resolves: every such path in the package is resolved by
   `test_every_private_class_path_resolves`, so it cannot go stale quietly.
2. Private attributes: a name is private when it has a single leading
   underscore (`_x`, not `__x`). `KERAS` is the set of private attribute
   names that Keras, keras-hub and TensorFlow's trackable data structures
   (`tf.python.trackable`, which tracks Keras' layers on TensorFlow) define:
   in their installed sources (tests excluded), a `def _x` or `_x = ...` in
   a class body, an assignment `<anything>._x = ...`, or
   `setattr(<anything>, "_x", ...)`. A use of a name in `KERAS` is:
   an attribute `<expr>._x` (read, write or delete), a
   `getattr/setattr/hasattr/delattr(<expr>, "_x", ...)` (also
   `object.__setattr__`/`object.__delattr__`/`object.__getattribute__`),
   or any other string constant equal to `"_x"` (an attribute name kept as
   data, as in `vars(layer)["_x"]`). Every use is reported, except `_x` on
   `self`, `cls` or `super()` inside a kerasdrop class that owns it: a
   kerasdrop class in its MRO defines `_x` (same three forms, `self._x = ...`
   and `setattr(self, "_x", ...)` in its methods) and no Keras, keras-hub or
   TensorFlow class in its MRO does (read from their source with
   `inspect`). So `layer._tracker` is reported anywhere, while
   `self._model` in a plain kerasdrop class that sets it is not, although
   Keras' callbacks also define `_model`.
3. Shadowing: a kerasdrop class defining `_x` (as above) while a Keras,
   keras-hub or TensorFlow class in its MRO defines `_x` too: overriding
   or overwriting a private part of Keras.

The accessor tests then run every public function of `_keras.py` against
the installed Keras (and keras-hub), so an upgrade that moves a private
part fails here, by name.
"""

import ast
import functools
import importlib
import importlib.util
import inspect
import pathlib
import re

import keras
import numpy as np
import pytest

import kerasdrop
from kerasdrop import _keras
from kerasdrop.graph import registry

PACKAGE = pathlib.Path(kerasdrop.__file__).parent
PRIVATE = re.compile(r"^_[A-Za-z0-9]\w*$")
PRIVATE_PACKAGES = ("keras.src", "keras_hub.src")
#: Packages whose classes' private names count as Keras'.
FOREIGN = ("keras", "keras_hub", "tensorflow")
#: Calls naming an attribute by a string: `f(obj, "_x", ...)`.
_BY_NAME = (
    "getattr",
    "setattr",
    "hasattr",
    "delattr",
    "__setattr__",
    "__delattr__",
    "__getattribute__",
)
_SETTERS = ("setattr", "__setattr__")


# ----------------------------------------------------------------------------
# Names a class or a source defines.
# ----------------------------------------------------------------------------
def _callee(node):
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _string_arg(node, index):
    if len(node.args) > index:
        arg = node.args[index]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
    return None


def _is_self(node):
    if isinstance(node, ast.Name):
        return node.id in ("self", "cls")
    return isinstance(node, ast.Call) and _callee(node) == "super"


def _assigned(node, receiver_ok):
    """Private names `node` assigns as attributes of a receiver that
    `receiver_ok` accepts (`x._a = ...`, `setattr(x, "_a", ...)`)."""
    names = set()
    for sub in ast.walk(node):
        targets = []
        if isinstance(sub, ast.Assign):
            targets = sub.targets
        elif isinstance(sub, (ast.AugAssign, ast.AnnAssign)):
            targets = [sub.target]
        for target in targets:
            for t in ast.walk(target):
                if isinstance(t, ast.Attribute) and receiver_ok(t.value):
                    names.add(t.attr)
        if isinstance(sub, ast.Call) and _callee(sub) in _SETTERS:
            name = _string_arg(sub, 1)
            if name is not None and receiver_ok(sub.args[0]):
                names.add(name)
    return {name for name in names if PRIVATE.match(name)}


def class_defines(classdef):
    """Private names a class defines: in its body and on `self` in its
    methods (nested classes left out)."""
    names = set()
    for item in classdef.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(item.name)
            names |= _assigned(item, _is_self)
        elif isinstance(item, (ast.Assign, ast.AnnAssign)):
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return {name for name in names if PRIVATE.match(name)}


def _source_root(package, sub):
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return pathlib.Path(spec.origin).parent.joinpath(*sub)


@functools.cache
def keras_private_names():
    """`KERAS`: private attribute names defined by Keras, keras-hub and TF's
    trackable data structures (their installed sources, tests excluded)."""
    roots = [
        _source_root("keras", ["src"]),
        _source_root("keras_hub", ["src"]),
        _source_root("tensorflow", ["python", "trackable"]),
    ]
    names = set()
    for root in roots:
        if root is None or not root.is_dir():
            continue
        for path in root.rglob("*.py"):
            if path.name.endswith("_test.py"):
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names |= _assigned(tree, lambda node: True)
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    names |= class_defines(node)
    assert {"_tracker", "_inbound_nodes", "_keras_history"} <= names
    return frozenset(names)


@functools.cache
def _foreign_defines(cls):
    """Private names a Keras/keras-hub/TF class defines (from its source)."""
    try:
        tree = ast.parse(inspect.cleandoc("\n" + inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return frozenset()
    node = tree.body[0]
    return frozenset(class_defines(node) if isinstance(node, ast.ClassDef) else ())


def _foreign(cls):
    return cls.__module__.split(".")[0] in FOREIGN


# ----------------------------------------------------------------------------
# The scan.
# ----------------------------------------------------------------------------
class _Scanner(ast.NodeVisitor):
    """Collects findings for one module; `resolve(qualname)` gives the
    runtime class of a class statement (None when it cannot)."""

    def __init__(self, where, resolve, own):
        self.where = where
        self.resolve = resolve
        self.own = own  # {runtime kerasdrop class: names its body defines}
        self.keras = keras_private_names()
        self.classes = []  # runtime classes (or None) of the enclosing classes
        self.findings = []
        self.by_name = set()  # ids of string constants read as attribute names

    def report(self, node, message):
        self.findings.append(f"{self.where}:{node.lineno}: {message}")

    def _owned(self, name):
        """True when the innermost class owns `name` (rule 2)."""
        cls = self.classes[-1] if self.classes else None
        if cls is None:
            return False
        mro = inspect.getmro(cls)
        if any(_foreign(c) and name in _foreign_defines(c) for c in mro):
            return False
        return any(name in self.own.get(c, ()) for c in mro)

    def _use(self, node, receiver, name):
        if name not in self.keras:
            return
        if receiver is not None and _is_self(receiver) and self._owned(name):
            return
        self.report(node, f"private Keras attribute {name!r}")

    def visit_ClassDef(self, node):
        qualname = ".".join(
            [c.__qualname__ for c in self.classes[-1:] if c is not None] + [node.name]
        )
        cls = self.resolve(qualname) if all(self.classes) else None
        if cls is not None:
            for c in inspect.getmro(cls)[1:]:
                if _foreign(c):
                    for name in sorted(_foreign_defines(c) & class_defines(node)):
                        self.report(node, f"{node.name} shadows {c.__name__}.{name}")
        self.classes.append(cls)
        self.generic_visit(node)
        self.classes.pop()

    def visit_Import(self, node):
        for alias in node.names:
            if alias.name.startswith(PRIVATE_PACKAGES):
                self.report(node, f"import of {alias.name}")

    def visit_ImportFrom(self, node):
        module = node.module or ""
        names = [f"{module}.{alias.name}" for alias in node.names]
        if any(name.startswith(PRIVATE_PACKAGES) for name in [module, *names]):
            self.report(node, f"import from {module}")

    def visit_Attribute(self, node):
        if (
            isinstance(node.value, ast.Name)
            and f"{node.value.id}.{node.attr}" in PRIVATE_PACKAGES
        ):
            self.report(node, f"attribute {node.value.id}.{node.attr}")
        if PRIVATE.match(node.attr):
            self._use(node, node.value, node.attr)
        self.generic_visit(node)

    def visit_Call(self, node):
        callee = _callee(node)
        name = _string_arg(node, 1) if callee in _BY_NAME else None
        if name is not None:
            self.by_name.add(id(node.args[1]))
            self._use(node, node.args[0], name)
        self.generic_visit(node)

    def visit_Constant(self, node):
        value = node.value
        if not isinstance(value, str) or id(node) in self.by_name:
            return
        if value.startswith(tuple(p + "." for p in PRIVATE_PACKAGES)):
            if ":" not in value:
                self.report(node, f"private module path {value!r}")
        elif PRIVATE.match(value):
            self._use(node, None, value)


def _module_classes(tree):
    """`{qualname: ClassDef}` of a module's classes (not inside functions)."""
    found = {}

    def visit(body, prefix):
        for node in body:
            if isinstance(node, ast.ClassDef):
                found[prefix + node.name] = node
                visit(node.body, prefix + node.name + ".")

    visit(tree.body, "")
    return found


def _resolver(namespace):
    def resolve(qualname):
        value = namespace
        for part in qualname.split("."):
            value = (
                value.get(part)
                if isinstance(value, dict)
                else getattr(value, part, None)
            )
        return value if isinstance(value, type) else None

    return resolve


def scan(source, where, namespace):
    """Findings for one module's `source`; `namespace`: its globals (to
    resolve its classes at runtime)."""
    tree = ast.parse(source)
    own = dict(_own_classes())
    resolve = _resolver(namespace)
    for qualname, node in _module_classes(tree).items():
        cls = resolve(qualname)
        if cls is not None:
            own[cls] = class_defines(node)
    scanner = _Scanner(where, resolve, own)
    scanner.visit(tree)
    return scanner.findings


def _package_modules():
    """`(path, globals)` of every module of the package (`__main__`, which
    runs the command line, is not imported: it defines no class)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            yield path, {}
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield path, vars(importlib.import_module(".".join(parts)))


@functools.cache
def _own_classes():
    """`{runtime class: private names it defines}` for kerasdrop's classes."""
    own = {}
    for path, namespace in _package_modules():
        resolve = _resolver(namespace)
        for qualname, node in _module_classes(ast.parse(path.read_text())).items():
            cls = resolve(qualname)
            if cls is not None:
                own[cls] = class_defines(node)
    return own


def _package_findings():
    findings = []
    scanned = 0
    for path, namespace in _package_modules():
        where = str(path.relative_to(PACKAGE.parent))
        if where != "kerasdrop/_keras.py":
            findings += scan(path.read_text(), where, namespace)
            scanned += 1
    return findings, scanned


def test_no_private_keras_access_outside_the_door():
    findings, scanned = _package_findings()
    assert scanned > 50
    assert not findings, "\n".join(findings)


# ----------------------------------------------------------------------------
# The scanner catches what it should (snippets, as in graph/sites.py).
# ----------------------------------------------------------------------------
def _scan_snippet(source):
    namespace = {}
    exec(compile(source, "<snippet>", "exec"), namespace)
    return scan(source, "snippet.py", namespace)


def _lines(findings):
    return sorted(int(f.split(":")[1]) for f in findings)


def test_scanner_catches_a_private_import_and_a_tracker():
    source = (
        "import keras\n"
        "from keras.src.models.functional import Functional\n"
        "import keras.src.ops.node\n"
        "def all_layers(model):\n"
        "    return model._tracker, keras.src\n"
    )
    findings = _scan_snippet(source)
    assert _lines(findings) == [2, 3, 5, 5], findings
    assert "import from keras.src.models.functional" in findings[0]
    assert any("'_tracker'" in f for f in findings)


def test_scanner_fails_on_such_an_edit_of_graph_sites():
    from kerasdrop.graph import sites

    path = PACKAGE / "graph" / "sites.py"
    where = "kerasdrop/graph/sites.py"
    assert scan(path.read_text(), where, vars(sites)) == []
    edited = path.read_text() + (
        "\nfrom keras.src.models.functional import Functional  # noqa\n"
        "\n\ndef _tracker_of(layer):\n    return layer._tracker\n"
    )
    findings = scan(edited, where, vars(sites))
    assert len(findings) == 2, findings
    assert "keras.src.models.functional" in findings[0]
    assert "'_tracker'" in findings[1]


def test_scanner_catches_attribute_names_kept_as_strings():
    source = (
        "def children(layer):\n"
        "    a = getattr(layer, '_layers', [])\n"
        "    b = vars(layer)['_functional']\n"
        "    object.__setattr__(layer, '_inbound_nodes', [])\n"
        "    c = 'keras_hub.src.models.mit.mit_layers'\n"
        "    d = 'keras.src.applications.convnext:StochasticDepth'\n"
        "    return a, b, c, d, '_not_a_keras_name_xyz'\n"
    )
    assert _lines(_scan_snippet(source)) == [2, 3, 4, 5]


def test_scanner_tells_kerasdrop_own_names_from_keras_ones():
    assert "_model" in keras_private_names()  # Keras' callbacks set it too
    source = (
        "import keras\n"
        "class Plain:\n"
        "    def __init__(self, model):\n"
        "        self._model = model\n"
        "    def get(self):\n"
        "        return self._model\n"  # its own: fine
        "class Layer(keras.layers.Layer):\n"
        "    def call(self, x):\n"
        "        return self._tracker\n"  # Keras': reported
        "class Backup(keras.callbacks.BackupAndRestore):\n"  # shadows
        "    def _save_model(self):\n"
        "        super()._save_model()\n"  # reported
        "def other(plain):\n"
        "    return plain._model\n"  # not on self: reported
    )
    findings = _scan_snippet(source)
    assert _lines(findings) == [9, 10, 12, 14], findings
    assert "Backup shadows BackupAndRestore._save_model" in findings[1]


# ----------------------------------------------------------------------------
# The accessors, against the installed Keras and keras-hub.
# ----------------------------------------------------------------------------
COVERED = set()


def covers(*names):
    """Marks a test as the check of these `_keras` accessors."""
    COVERED.update(names)
    return lambda test: test


def _public_names():
    return {
        name
        for name, value in vars(_keras).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == _keras.__name__
    }


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
    np.testing.assert_allclose(model.predict(x, verbose=0), model(x), rtol=1e-6)
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
    fused = np.asarray(layer(x))
    layer.step_loop = True
    stepped = np.asarray(layer(x, mask=np.ones((2, 5), bool)))
    np.testing.assert_allclose(stepped, fused, rtol=1e-5, atol=1e-6)
    assert calls == [False, True]


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
