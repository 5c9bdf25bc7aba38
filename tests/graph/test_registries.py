"""Rewrites keep every registry of a model true, on every backend.

`graph.rewrite` swaps layers in place (what `convert`, `strip_dropout` and
`convert(to="keras")` run). Afterwards Keras' variable lists are exactly the
variables of the layers the model tracks (the replaced layers' gone, the new
ones' in), and on torch `model.parameters()` (what an optimizer built from
the model, or ONNX export, reads) holds exactly those variables' tensors,
each once. Site paths are the same strings on every backend.
"""

import importlib.util
import warnings

import keras
import numpy as np
import pytest

import kerasdrop
from helpers import to_numpy
from kerasdrop import graph

import zoo


BACKEND = keras.backend.backend()
NEEDS_HUB = {
    "bert_classifier",
    "vit_backbone",
    "hub_drop_path_model",
    "swin_backbone",
    "mobilenetv5_backbone",
    "dinov2_backbone",
    "dinov3_backbone",
    "transformer_encoder_model",
}
#: Costly to build on JAX (compiled shape inference): one backend only.
ONE_BACKEND = ("efficientnet_b0", "mobilenetv5_backbone", "swin_backbone")
#: What this test checks beyond Keras' own variables is torch's parameter
#: registry; MobileNetV3 costs ~40 s on JAX for checks the TF pass makes:
#: it runs on TF and torch.
if BACKEND == "jax":
    ONE_BACKEND += ("mobilenet_v3_small",)


def _own_variables(layer):
    """The variables `layer` itself creates (weights, seed states), not its
    sublayers'."""
    own = layer._trainable_variables + layer._non_trainable_variables
    return own + [generator.state for generator in layer._seed_generators]


def check_registries(model, torch_params=True):
    """Keras' lists and (torch) `model.parameters()` agree with the layers
    the model tracks."""
    variables = model.trainable_variables + model.non_trainable_variables
    ids = [id(v) for v in variables]
    assert len(ids) == len(set(ids))
    expected = {
        id(v) for layer in model._flatten_layers() for v in _own_variables(layer)
    }
    assert set(ids) == expected
    if BACKEND == "torch" and torch_params:
        parameters = list(model.parameters())
        assert len(parameters) == len(variables)
        assert {id(p) for p in parameters} == {id(v.value) for v in variables}


def _fresh_copy(site):
    """A new kerasdrop layer from `site`'s config (new variables)."""
    if site.status != "kerasdrop":
        return None
    return type(site.layer).from_config(site.layer.get_config())


def _build(name):
    if name in NEEDS_HUB and importlib.util.find_spec("keras_hub") is None:
        pytest.skip("keras-hub (extra `hub`) is not installed")
    build, inputs = zoo.BUILDERS[name]
    return build(), inputs()


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.one_backend) if n in ONE_BACKEND else n
        for n in zoo.BUILDERS
    ],
)
def test_rewrites_keep_registries_true(name):
    model, x = _build(name)
    # Keras' own: keras-hub models built on torch register no parameters at
    # all until a rewrite makes their registry anew (Keras 3.15).
    check_registries(model, torch_params=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # unreached RNN cells
        converted = kerasdrop.convert(model)  # a copy, rewritten
        check_registries(converted, torch_params=bool(graph.find(converted)))
        check_registries(kerasdrop.strip_dropout(converted))
        graph.rewrite(converted, _fresh_copy)  # rewrite itself, in place
        check_registries(converted)
        in_place = kerasdrop.convert(model, copy=False)  # the original
        check_registries(in_place, torch_params=bool(graph.find(in_place)))
    ref = keras.tree.flatten(model(x, training=False))[0]
    assert np.all(np.isfinite(to_numpy(ref)))


@pytest.mark.skipif(BACKEND != "torch", reason="torch's optimizers: torch only")
def test_torch_optimizer_over_parameters_trains_the_stripped_model():
    import torch

    stripped = kerasdrop.strip_dropout(kerasdrop.convert(zoo.lstm_model()))
    kernel = stripped.layers[-1].kernel
    before = np.array(to_numpy(kernel.value))  # a copy: numpy shares torch's memory
    optimizer = torch.optim.SGD(stripped.parameters(), lr=0.1)
    stripped(zoo.rnn_inputs()).square().sum().backward()
    optimizer.step()
    assert not np.allclose(to_numpy(kernel.value), before)
    for parameter in stripped.parameters():  # every one is the model's
        assert (parameter.grad is not None) == parameter.requires_grad


def _nested_bigru_model():
    inputs = keras.Input((5, 4))
    h = keras.layers.Bidirectional(
        keras.layers.GRU(4, dropout=0.1, name="gru"), name="bigru"
    )(inputs)
    block = keras.Sequential(
        [keras.layers.Dense(4), keras.layers.Dropout(0.2, name="inner_drop")],
        name="block",
    )
    h = zoo.AttentionBlock(4, name="attn")(keras.ops.expand_dims(block(h), 1))
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(h))


def test_site_paths_are_the_same_strings_on_every_backend():
    model = _nested_bigru_model()
    before = [
        "bigru/forward_layer",
        "bigru/backward_layer",
        "block/inner_drop",
        "attn/attention/_dropout_layer",
        "attn/drop",
    ]
    assert [s.path for s in graph.find(model)] == before
    converted = kerasdrop.convert(model, copy=False)
    assert [s.path for s in graph.find(converted)] == [
        "bigru/forward_layer/input_dropout",
        "bigru/backward_layer/input_dropout",
        *before[2:],
    ]
    check_registries(converted)
