"""Serving models Keras cannot copy: `export` traces them as they are.

The keras.io text-classification Transformer (custom layers whose
constructors take arguments and define no `get_config`) and a subclassed
model without `from_config` convert in place only; `export` serves them
with their dropout held at inference, verifies the artifact and leaves the
model exactly as it was.
"""

import threading

import keras
import numpy as np
import pytest
from export_models import BACKEND, call, load_signatures, needs_saved_model
from keras import layers, ops

import kerasdrop
from kerasdrop.layers import mc_state
from kerasdrop.serving import ExportError, as_is, onnx_litert, random_ops
from helpers import to_numpy


class TransformerBlock(layers.Layer):
    """keras.io's block: no `get_config`, although the constructor takes
    arguments."""

    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential(
            [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs, training=False):
        attn_output = self.dropout1(self.att(inputs, inputs), training=training)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.dropout2(self.ffn(out1), training=training)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        positions = self.pos_emb(ops.arange(0, ops.shape(x)[-1], 1))
        return self.token_emb(x) + positions


def transformer(maxlen=6, vocab=20, dim=8):
    inputs = layers.Input(shape=(maxlen,), dtype="int32", name="tokens")
    x = TokenAndPositionEmbedding(maxlen, vocab, dim)(inputs)
    x = TransformerBlock(dim, 2, 8, rate=0.3)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(4, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    return keras.Model(inputs, layers.Dense(2, activation="softmax")(x))


class Subclassed(keras.Model):
    def __init__(self, units):
        super().__init__()
        self.hidden = layers.Dense(units, activation="relu")
        self.drop = layers.Dropout(0.4, seed=3)
        self.out = layers.Dense(2)

    def call(self, x, training=False):
        return self.out(self.drop(self.hidden(x), training=training))


def tokens(rows=3):
    return np.random.default_rng(0).integers(0, 20, (rows, 6)).astype("int32")


def state(model):
    """Everything export must leave as it was: every variable (weights,
    rates, steps, seed-generator states) byte for byte, the dropout
    layers' flags, rates and steps, and which layer sits where."""
    dropout = kerasdrop.graph.dropout_layers(model)
    return (
        [(v.path, ops.convert_to_numpy(v.value).tobytes()) for v in model.variables],
        [(id(x), x.mc, x.rate, x.step, x.driver) for x in dropout],
        [(id(x), type(x)) for x in kerasdrop.graph.all_layers(model)],
        mc_state.mc_sampled_ids(),
    )


def varies(model, x):
    """True when two inference calls differ (the MC layers still sample)."""
    return not np.array_equal(
        to_numpy(model(x, training=False)), to_numpy(model(x, training=False))
    )


def test_transformer_without_get_config_is_served_as_it_is(tmp_path):
    keras.utils.set_random_seed(0)
    model = transformer()
    x = tokens()
    expected = np.asarray(
        to_numpy(model(x, training=False))
    )  # stock dropout: inference
    assert kerasdrop.convert(model, copy=False, mc=True) is model
    dropout = kerasdrop.graph.dropout_layers(model)
    assert len(dropout) == 4  # the block's two and the head's two
    dropout[-1].rate = 0.25  # a live rate, not the config's
    model(x, training=True)  # the seed generators move
    with pytest.raises(TypeError, match="cannot copy.*serves it as it is"):
        kerasdrop.strip_dropout(model)
    before = state(model)
    if BACKEND == "torch":
        # Keras' torch ONNX path (torch.onnx) cannot trace LayerNormalization
        # with a dynamic batch (plain `model.export(..., format="onnx")`
        # fails the same way): a refusal naming the cause, nothing written,
        # the model as it was.
        with pytest.raises(ExportError, match="SymbolicValueError"):
            kerasdrop.export(model, tmp_path / "m.onnx", sample_inputs=x)
        assert state(model) == before and list(tmp_path.iterdir()) == []
        return
    on_tf = BACKEND == "tensorflow"
    samples = 3 if on_tf else None  # the `mc` signature too (CI time on JAX)
    path = kerasdrop.export(model, tmp_path / "m", mc_samples=samples, sample_inputs=x)
    assert state(model) == before
    assert varies(model, x)  # MC layers: still sampling
    if on_tf:
        # On JAX the graph is a compiled jax2tf module (the outputs are
        # compared, random ops cannot be seen).
        signatures = load_signatures(path)
        assert random_ops(signatures["serving_default"]) == []
        assert sorted(signatures) == ["mc", "serve", "serving_default"]
        served = call(signatures["serving_default"], {"tokens": x})
        (output,) = served.values()
        np.testing.assert_allclose(
            to_numpy(output), to_numpy(expected), rtol=1e-5, atol=1e-6
        )


def subclassed(x):
    model = Subclassed(8)
    model(x)
    return kerasdrop.convert(model, copy=False)


# ONNX: Keras writes it from TensorFlow (tf2onnx) and PyTorch (torch.onnx),
# from JAX through jax2onnx (not a kerasdrop extra). LiteRT is a TF-backend
# route here: Keras has no LiteRT writer on JAX, and on PyTorch it needs
# `litert-torch`, which kerasdrop neither installs nor tests.
_NOT_ON_JAX = pytest.mark.skipif(
    BACKEND == "jax", reason="Keras writes ONNX from JAX through jax2onnx"
)


@pytest.mark.parametrize(
    "fmt",
    [
        pytest.param("tf_saved_model", marks=needs_saved_model),
        pytest.param("onnx", marks=_NOT_ON_JAX),
        pytest.param("litert", marks=pytest.mark.tf_only),
    ],
)
def test_subclassed_model_with_no_copy_is_served(fmt, tmp_path):
    if fmt == "onnx" and BACKEND == "tensorflow":
        pytest.importorskip("tf2onnx", reason="ONNX export needs kerasdrop[export]")
        pytest.importorskip("onnxruntime", reason="needs kerasdrop[export]")
    x = np.random.default_rng(1).standard_normal((4, 3)).astype("float32")
    model = subclassed(x)
    expected = np.asarray(to_numpy(model(x, training=False)))
    model.drop.mc = True  # samples at inference: the export must not
    model.drop.rate = 0.3
    model(x, training=True)
    before = state(model)
    name = {"onnx": "m.onnx", "litert": "m.tflite"}.get(fmt, "m")
    path = kerasdrop.export(model, tmp_path / name, format=fmt, sample_inputs=x)
    assert state(model) == before
    assert varies(model, x)
    if fmt != "tf_saved_model":
        (output,) = onnx_litert.runner(path, fmt)(x)
    else:
        signature = load_signatures(path)["serving_default"]
        assert random_ops(signature) == []
        (output,) = call(signature, {"input_0": x}).values()
    np.testing.assert_allclose(
        to_numpy(output), to_numpy(expected), rtol=1e-4, atol=1e-5
    )


def test_export_inside_a_sampling_block_serves_inference(tmp_path):
    x = np.ones((2, 3), "float32")
    model = subclassed(x)
    expected = np.asarray(to_numpy(model(x, training=False)))
    with kerasdrop.mc.sampling(model):
        before = state(model)
        kerasdrop.export(model, tmp_path / "m", sample_inputs=x)
        assert state(model) == before  # the block still samples
        assert varies(model, x)
    served = as_is.AsIs(model)
    with kerasdrop.mc.sampling(model):
        np.testing.assert_allclose(to_numpy(served(x)), to_numpy(expected), rtol=1e-6)
        assert varies(model, x)


def test_inference_only_is_per_thread_and_training_still_drops():
    drop = kerasdrop.layers.Dropout(0.5, mc=True, seed=0)
    x = np.ones((4, 64), "float32")
    seen = {}

    def other_thread():
        seen["other"] = bool(np.all(np.asarray(to_numpy(drop(x))) == x))

    with mc_state.mc_inference_only([drop]):
        assert np.array_equal(to_numpy(drop(x)), to_numpy(x))
        assert not np.array_equal(to_numpy(drop(x, training=True)), to_numpy(x))
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    assert seen == {"other": False}  # the other thread's MC layer sampled
    assert drop.mc and not np.array_equal(to_numpy(drop(x)), to_numpy(x))


def test_a_model_that_copies_is_still_served_stripped():
    model = keras.Sequential(
        [keras.Input((3,)), kerasdrop.layers.Dropout(0.2), keras.layers.Dense(1)]
    )
    served = as_is.served_model(model)
    assert not isinstance(served, as_is.AsIs)
    assert type(served.layers[0]) is keras.layers.Identity
    sub = subclassed(np.ones((1, 3), "float32"))
    served = as_is.served_model(sub)
    assert isinstance(served, as_is.AsIs) and as_is.source(served) is sub
