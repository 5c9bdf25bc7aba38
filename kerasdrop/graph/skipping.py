"""Rewriting residual graphs so that a dropped branch is not computed.

`skip_compute(model)` finds the blocks `x + DropPath(r)(f(x))` of a
Functional model (kerasdrop's `DropPath`, keras.applications ConvNeXt's
`StochasticDepth`, the registered drop-path classes) and returns a new
Functional model in which each block whose branch `f` reads only `x` is one
`kerasdrop.layers.SkipResidual(branch=f, rate=r)`: the same layer objects
and weights, the same inference outputs, and in training a dropped branch
is skipped instead of computed and multiplied by zero. Blocks that do not
fit the pattern are named with the reason (`Unfit`).
"""

import dataclasses
import warnings

import keras

from kerasdrop import _checks, _keras
from kerasdrop.graph import registry
from kerasdrop.graph import sites as sites_lib
from kerasdrop.layers import drop_path as drop_path_lib
from kerasdrop.layers import skip_residual as skip_lib


@dataclasses.dataclass(frozen=True)
class Unfit:
    """A drop-path block `skip_compute` left as it was, and why.

    Attributes:
        name: the drop-path layer's name (inside a nested model, prefixed
            with that model's name: `"encoder/block_1_drop_path"`).
        reason: why the block does not fit `x + drop_path(f(x))` with a
            branch `f` reading only `x`.
    """

    name: str
    reason: str


@dataclasses.dataclass
class _Block:
    """A block that fits: `add(x, drop(f(x)))`, `branch` the nodes of `f`
    in graph order."""

    add: object
    x: object
    start: object  # f(x), the drop path's input
    drop: drop_path_lib.DropPath  # what the drop-path layer amounts to
    branch: list
    inner: set  # ids of the branch's nodes and the drop path's node


# ----------------------------------------------------------------------------
# The graph, indexed.
# ----------------------------------------------------------------------------
class _Graph:
    """The nodes of a Functional in graph order, with each tensor's producer
    and consumers (in this graph only)."""

    def __init__(self, functional):
        by_depth = _keras.nodes_by_depth(functional)
        self.order = [n for d in sorted(by_depth, reverse=True) for n in by_depth[d]]
        self.position = {id(n): i for i, n in enumerate(self.order)}
        self.producer, self.consumers = {}, {}
        for node in self.order:
            for tensor in node.outputs:
                self.producer[id(tensor)] = node
            for tensor in node.input_tensors:
                self.consumers.setdefault(id(tensor), []).append(node)
        self.outputs = {id(t) for t in keras.tree.flatten(functional.outputs)}

    def source(self, tensor):
        """Words for where `tensor` comes from."""
        node = self.producer.get(id(tensor))
        if node is None or node.is_input:
            name = node.operation.name if node is not None else tensor.name
            return f"model input '{name}'"
        return f"the output of '{node.operation.name}'"


def _is_drop_path(layer):
    """True for kerasdrop's `DropPath` and the layers of a registered kind
    that converts to it (or to a subclass)."""
    if isinstance(layer, drop_path_lib.DropPath):
        return True
    kind = registry.kind_of(layer)
    target = None if kind is None else kind.target
    return target is not None and issubclass(target, drop_path_lib.DropPath)


def _drop_path_of(layer):
    """`(DropPath, None)`: the kerasdrop `DropPath` a drop-path `layer`
    amounts to (itself for one), or `(None, reason)` when it cannot be read
    as one."""
    if isinstance(layer, drop_path_lib.DropPath):
        cls = type(layer)
    else:
        kind = registry.kind_of(layer)
        cls = kind.target
        if cls is drop_path_lib.DropPath:
            layer = kind.to_kerasdrop(layer, False)
    if cls is not drop_path_lib.DropPath:
        return None, (
            f"it is (or converts to) {cls.__name__}, a subclass of DropPath "
            "that may compute something else than a drop path"
        )
    return layer, None


def _is_add(node):
    """True for a two-tensor sum node: `Add()([a, b])`, `a + b`."""
    op = node.operation
    tensors = node.input_tensors
    if type(op) is keras.layers.Add:
        return len(tensors) == 2
    if _keras.is_add_operation(op):
        args, kwargs = _keras.node_call_arguments(node, {})
        return len(tensors) == 2 and len(args) == 2 and not kwargs
    return False


# ----------------------------------------------------------------------------
# Matching one drop-path node.
# ----------------------------------------------------------------------------
def _sum_of(graph, node):
    """`(add node, x)` for a drop-path node whose output is one operand of a
    residual sum, else `(None, reason)`."""
    (out,) = node.outputs
    users = graph.consumers.get(id(out), [])
    if id(out) in graph.outputs:
        return None, "its output is a model output"
    if len(users) != 1:
        return None, f"its output is used by {len(users)} nodes, not by one sum"
    (add,) = users
    if not _is_add(add):
        return None, (
            f"its output goes to '{add.operation.name}' "
            f"({type(add.operation).__name__}), not to a sum of two tensors "
            "(`keras.layers.Add` or `+`)"
        )
    a, b = add.input_tensors
    x = b if a is out else a
    if x is out:
        return None, "the sum adds its output to itself"
    return add, x


def _ancestors(graph, start, x):
    """The nodes computing `start`, walking back from it and stopping at
    `x`, in graph order."""
    found, todo = {}, [start]
    while todo:
        tensor = todo.pop()
        node = graph.producer.get(id(tensor))
        if tensor is x or node is None or id(node) in found:
            continue
        found[id(node)] = node
        todo.extend(node.input_tensors)
    return sorted(found.values(), key=lambda node: graph.position[id(node)])


def _branch_of(graph, start, x, drop_node):
    """`(branch nodes, reason)`: the nodes of `f` in `drop(f(x))`, or None
    with why `f` is no branch reading only `x`."""
    if start is x:
        return None, "its branch is empty (it drops `x` itself)"
    reads_x, branch = set(), []
    for node in _ancestors(graph, start, x):
        if any(
            t is x or id(graph.producer.get(id(t))) in reads_x
            for t in node.input_tensors
        ):
            reads_x.add(id(node))
            branch.append(node)
    if id(graph.producer.get(id(start))) not in reads_x:
        return None, f"its branch ({graph.source(start)}) does not read the sum's x"
    inside = reads_x | {id(drop_node)}
    for node in branch:
        for t in node.input_tensors:
            if t is not x and id(graph.producer.get(id(t))) not in reads_x:
                return None, (
                    f"its branch reads {graph.source(t)} (into "
                    f"'{node.operation.name}'), not only the sum's x"
                )
        for t in node.outputs:
            users = [u for u in graph.consumers.get(id(t), []) if id(u) not in inside]
            if id(t) in graph.outputs or users:
                where = f"'{users[0].operation.name}'" if users else "a model output"
                return None, (
                    f"'{node.operation.name}' of its branch also feeds {where} "
                    "outside the block"
                )
    return branch, None


def _match(graph, node, drop):
    """A `_Block` for the drop-path `node`, or the reason it does not fit."""
    if len(node.input_tensors) != 1:
        return None, "its call reads several tensors"
    add, x = _sum_of(graph, node)
    if add is None:
        return None, x
    (start,) = node.input_tensors
    (total,) = add.outputs
    if tuple(x.shape) != tuple(start.shape):
        return None, (
            f"the sum broadcasts x of shape {tuple(x.shape)} with a branch "
            f"of shape {tuple(start.shape)}"
        )
    if not x.dtype == start.dtype == node.outputs[0].dtype == total.dtype:
        return None, (
            f"the sum mixes dtypes (x {x.dtype}, branch {start.dtype}, sum "
            f"{total.dtype})"
        )
    branch, reason = _branch_of(graph, start, x, node)
    if branch is None:
        return None, reason
    inner = {id(n) for n in branch} | {id(node)}
    return _Block(add, x, start, drop, branch, inner), None


# ----------------------------------------------------------------------------
# Rebuilding the graph.
# ----------------------------------------------------------------------------
class _Rewriter:
    """Rebuilds Functional graphs with their fitting blocks as `SkipResidual`
    layers; collects the blocks left (`unfit`) and the drop-path layers met
    as graph nodes (`seen`)."""

    def __init__(self):
        self.unfit, self.seen, self.count = [], set(), 0
        self.models = {}  # id(nested Functional) -> its rewrite (or itself)

    def blocks(self, graph, prefix):
        """The fitting blocks of `graph` by id of their sum node; records
        the others in `unfit`."""
        found = {}
        for node in graph.order:
            if not _is_drop_path(node.operation):
                continue
            self.seen.add(id(node.operation))
            drop, reason = _drop_path_of(node.operation)
            block = None
            if drop is not None:
                block, reason = _match(graph, node, drop)
            if block is not None and id(block.add) in found:
                block, reason = None, "its sum adds two drop paths' outputs"
            if block is None:
                self.unfit.append(Unfit(prefix + node.operation.name, reason))
            else:
                found[id(block.add)] = block
        return found

    def replay(self, nodes, tensors, blocks):
        """Calls `nodes` (graph order) again on `tensors` ({id(old): new},
        filled in as it goes); a block whose sum is among them and that no
        other block holds becomes one `SkipResidual`."""
        held = set().union(*(b.inner for b in blocks.values())) if blocks else set()
        for node in nodes:
            if node.is_input or id(node) in held:
                continue
            block = blocks.get(id(node))
            if block is not None:
                outputs = self.skipping(block, blocks)(tensors[id(block.x)])
            elif any(id(t) not in tensors for t in node.input_tensors):
                continue  # upstream of the model's inputs: not part of it
            else:
                args, kwargs = _keras.node_call_arguments(node, tensors)
                outputs = self.operation(node.operation)(*args, **kwargs)
            for old, new in zip(node.outputs, keras.tree.flatten(outputs)):
                tensors[id(old)] = new

    def skipping(self, block, blocks):
        """The `SkipResidual` of `block`: its branch a Functional over the
        branch's own layers (blocks inside it rewritten too)."""
        drop = block.drop
        x = keras.Input(batch_shape=tuple(block.x.shape), dtype=block.x.dtype)
        tensors = {id(block.x): x}
        inside = {k: b for k, b in blocks.items() if k in block.inner}
        self.replay(block.branch, tensors, inside)
        branch = keras.Model(x, tensors[id(block.start)], name=f"{drop.name}_branch")
        rate = drop.schedule if drop.schedule is not None else drop.rate
        layer = skip_lib.SkipResidual(
            branch,
            rate,
            seed=drop.seed,
            scale_by_keep=drop.scale_by_keep,
            mc=drop.mc,
            name=drop.name,
            dtype=drop.dtype_policy,
        )
        if drop.schedule is not None:
            layer.step = drop.step
        self.count += 1
        return layer

    def operation(self, op):
        """`op`, or the rewrite of a nested Functional model."""
        if not _keras.is_functional(op):
            return op
        if id(op) not in self.models:
            new = self.model(op, f"{op.name}/")
            self.models[id(op)] = op if new is None else new
        return self.models[id(op)]

    def model(self, functional, prefix="", name=None):
        """The rewrite of `functional` (named `name`, by default its own),
        or None when nothing in it changed."""
        graph = _Graph(functional)
        count = self.count
        blocks = self.blocks(graph, prefix)
        inputs = _keras.inputs_struct(functional)
        tensors = {id(t): t for t in keras.tree.flatten(inputs)}
        self.replay(graph.order, tensors, blocks)
        nested = [self.models.get(id(n.operation)) for n in graph.order]
        if self.count == count and all(
            new is None or new is n.operation for new, n in zip(nested, graph.order)
        ):
            return None
        outputs = [tensors[id(t)] for t in keras.tree.flatten(functional.outputs)]
        outputs = keras.tree.pack_sequence_as(
            _keras.outputs_struct(functional), outputs
        )
        return keras.Model(inputs, outputs, name=name or functional.name)


# ----------------------------------------------------------------------------
# The entry point.
# ----------------------------------------------------------------------------
def _graph_model(model):
    """The Functional graph of `model` (a Sequential's own), or a clear
    error; nothing is changed."""
    _checks.check_model(model, built=True)
    if _keras.is_functional(model):
        return model
    graph = _keras.sequential_graph(model)
    if isinstance(model, keras.Sequential) and graph is not None:
        return graph
    raise _checks.invalid_value(
        "model",
        "Expected a Functional model (`keras.Model(inputs, outputs)`) or a "
        "Sequential one: `skip_compute` rewrites the nodes of its graph, and "
        f"a subclassed model has none ({type(model).__name__} computes its "
        "residual blocks in its own `call`).",
        f"model '{model.name}' of class {type(model).__name__}",
    )


def _held_elsewhere(model, rewriter):
    """`Unfit` records for the drop-path layers of `model` that are no node
    of a graph `skip_compute` walks (held by a layer or a subclassed model)."""
    unfit = []
    for site in sites_lib.find(model):
        if id(site.layer) in rewriter.seen or not _is_drop_path(site.layer):
            continue
        holder = site.holders[0][0]
        unfit.append(
            Unfit(
                site.path,
                f"it is held by '{holder.name}' ({type(holder).__name__}), "
                "not called as a node of a Functional graph",
            )
        )
    return unfit


def skip_compute(model, return_unfit=False):
    """A model whose drop-path residual blocks skip the dropped branch.

    Finds the blocks `x + drop_path(f(x))` of a Functional model (the sum a
    `keras.layers.Add` or `+`, either order; the drop path kerasdrop's
    `DropPath`, keras.applications ConvNeXt's `StochasticDepth` or a
    registered drop-path class such as keras-hub's) and returns a new
    Functional model in which each block whose branch `f` reads only `x`
    (and whose intermediate tensors are used nowhere else) is one
    `kerasdrop.layers.SkipResidual`: its `branch` a Functional `x -> f(x)`
    over the same layer objects (the same weights: the new model shares
    them with `model`), its rate, seed, `scale_by_keep` and `mc` the drop
    path's (a schedule carries over with its step), its name the drop
    path's. Inference outputs are bit-identical to `model`'s; in training a
    dropped branch is not computed. Blocks inside a branch, and inside
    nested Functional models, are rewritten too. `model` is not changed.

    Blocks that do not fit (a branch reading another tensor, a drop path
    whose output is not one operand of a two-tensor sum, a broadcast or
    mixed-dtype sum, a drop path held inside a layer rather than called in
    the graph) stay as they were and are named, with the reason, in one
    warning, or returned with `return_unfit=True`.

    Args:
        model: a built Functional (or Sequential) `keras.Model`; a
            Functional subclass (keras-hub) gives a plain Functional.
        return_unfit: bool, default False. Return `(new model, unfit)`, a
            list of `Unfit` records, instead of warning.

    Returns:
        The new Functional model, or `(model, unfit)`.

    Example:

    >>> import numpy as np, keras, kerasdrop
    >>> x = keras.Input((8,))
    >>> h = keras.layers.Dense(8, name="f")(x)
    >>> y = x + kerasdrop.layers.DropPath(0.2, name="drop_path")(h)
    >>> model = keras.Model(x, keras.layers.Dense(2)(y))
    >>> new, unfit = kerasdrop.graph.skip_compute(model, return_unfit=True)
    >>> [(type(layer).__name__, layer.name) for layer in new.layers[1:]]
    [('SkipResidual', 'drop_path'), ('Dense', 'dense')]
    >>> new.get_layer("drop_path").branch.layers[1] is model.get_layer("f")
    True
    >>> data = np.ones((2, 8), "float32")
    >>> bool(np.array_equal(new.predict(data, verbose=0),
    ...                     model.predict(data, verbose=0)))
    True
    >>> unfit
    []
    """
    graph = _graph_model(model)
    _checks.check_bool("return_unfit", return_unfit)
    rewriter = _Rewriter()
    new = rewriter.model(graph, name=model.name) or _copy_graph(graph, model.name)
    unfit = rewriter.unfit + _held_elsewhere(model, rewriter)
    if return_unfit:
        return new, unfit
    _warn(model, rewriter.count, unfit)
    return new


def _copy_graph(graph, name):
    """A new Functional over the same graph (nothing to rewrite)."""
    return keras.Model(
        _keras.inputs_struct(graph), _keras.outputs_struct(graph), name=name
    )


def _warn(model, count, unfit):
    """One warning naming the blocks left, or saying none was found."""
    if unfit:
        lines = "\n  ".join(f"'{u.name}': {u.reason}" for u in unfit)
        warnings.warn(
            f"skip_compute rewrote {count} residual block(s) of model "
            f"'{model.name}' and left {len(unfit)} drop path(s) as they were:"
            f"\n  {lines}",
            stacklevel=3,
        )
    elif not count:
        warnings.warn(
            f"skip_compute found no residual block `x + drop_path(f(x))` in "
            f"model '{model.name}'; the new model computes the same graph.",
            stacklevel=3,
        )
