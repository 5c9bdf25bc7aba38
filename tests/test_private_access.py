"""Keras' private parts are reached through `kerasdrop._keras` only.

The scan (`scan`) reads every module of `kerasdrop/` outside `_keras/` with
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

`tests/test_keras_door.py` then runs every public function of `_keras/`
against the installed Keras (and keras-hub), so an upgrade that moves a
private part fails there, by name.
"""

import ast
import functools
import importlib
import importlib.util
import inspect
import pathlib
import re


import kerasdrop

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
        if not where.startswith("kerasdrop/_keras/"):
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
