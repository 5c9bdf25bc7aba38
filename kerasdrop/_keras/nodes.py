"""Graph nodes: the operations of a Functional graph and their links."""

from keras.src.ops.node import KerasHistory
from keras.src.ops.numpy import Add as NumpyAdd


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
