"""Cutting a graph at its dropout: the deterministic prefix MC reuses.

`split_deterministic_prefix(model)` splits a Functional or Sequential model
into the part before its first dropout layers (run once per batch by
`kerasdrop.mc.predict`) and the rest (run once per sample); `producer`,
`call_inputs` and `node_outputs` read the graph's nodes.
"""

import keras

from kerasdrop import _keras
from kerasdrop.graph.sites import holds_kerasdrop


def _graph_of(model):
    """The Functional graph of `model` (a Sequential's inner one), or None."""
    if _keras.is_functional(model):  # keras-hub tasks and backbones too
        return model
    if isinstance(model, keras.Sequential):
        return _keras.sequential_graph(model)
    return None


def _is_stochastic_op(op):
    return isinstance(op, keras.layers.Layer) and holds_kerasdrop(op)


def split_deterministic_prefix(model):
    """Splits a Functional/Sequential model at its first dropout layers.

    Returns `(prefix, suffix)`: `prefix` maps the model inputs to the
    deterministic tensors the stochastic part needs (the "frontier"), and
    `suffix` maps those to the model outputs; `suffix(prefix(x))` is the
    model. Returns `(None, model)` when there is nothing to reuse (the first
    dropout layer reads a model input, or the model is subclassed). The cut
    follows the shapes layers declare: where one declares a wrong shape,
    the halves fail on real inputs, and `kerasdrop.mc.predict` samples the
    whole model instead.
    """
    functional = _graph_of(model)
    if functional is None:
        return None, model
    stochastic = set()
    frontier = {}
    by_depth = _keras.nodes_by_depth(functional)
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            inputs = list(node.input_tensors)
            if _is_stochastic_op(node.operation) or any(
                id(t) in stochastic for t in inputs
            ):
                for tensor in inputs:
                    if id(tensor) not in stochastic:
                        frontier[id(tensor)] = tensor
                for tensor in node.output_tensors:
                    stochastic.add(id(tensor))
    if not stochastic:
        return None, model
    for tensor in keras.tree.flatten(functional.outputs):
        if id(tensor) not in stochastic:
            frontier[id(tensor)] = tensor
    input_ids = {id(t) for t in keras.tree.flatten(functional.inputs)}
    if set(frontier) <= input_ids:
        return None, model
    tensors = list(frontier.values())
    if len(tensors) == 1:
        tensors = tensors[0]
    inputs = functional.inputs
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
        inputs = inputs[0]
    try:
        prefix = keras.Model(inputs, tensors, name=f"{model.name}_prefix")
        suffix = keras.Model(tensors, functional.outputs, name=f"{model.name}_suffix")
    except Exception:  # a graph Keras cannot cut: sample the whole model
        return None, model
    return prefix, suffix


def producer(tensor):
    """`(operation, tensor_index, input_tensors)` of the graph node that
    computed a symbolic `tensor`, or None for a tensor without history."""
    history = _keras.history(tensor)
    if history is None or history.operation is None:
        return None
    node = _keras.inbound_nodes(history.operation)[history.node_index]
    inputs = keras.tree.flatten(node.input_tensors)
    return history.operation, history.tensor_index, inputs


def call_inputs(layer):
    """Every symbolic tensor `layer` was called on, in any graph."""
    return [
        tensor
        for node in _keras.inbound_nodes(layer)
        for tensor in keras.tree.flatten(node.input_tensors)
    ]


def node_outputs(model):
    """Every tensor the graph of `model` computes, or None (subclassed)."""
    functional = _graph_of(model)
    if functional is None:
        return None
    return [
        tensor
        for nodes in _keras.nodes_by_depth(functional).values()
        for node in nodes
        for tensor in node.output_tensors
    ]
