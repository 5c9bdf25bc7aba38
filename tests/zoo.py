"""Tiny models nobody on this project wrote, built with random weights.

keras.applications with `weights=None`, keras-hub models from their
constructors (no preset, vocabulary or weights is downloaded), graphs with
operation nodes, a subclassed model and a custom layer, RNNs.
"""

import keras
import numpy as np

import kerasdrop


def mobilenet_v3_small():
    """keras.applications.MobileNetV3Small at 32x32 (operation nodes, BN)."""
    return keras.applications.MobileNetV3Small(
        input_shape=(32, 32, 3), weights=None, classes=4, minimalistic=True
    )


def efficientnet_b0():
    """keras.applications.EfficientNetB0 at 32x32 (drop-connect Dropouts)."""
    return keras.applications.EfficientNetB0(
        input_shape=(32, 32, 3), weights=None, classes=4
    )


def convnext_tiny_stub():
    """Two residual blocks with keras.applications ConvNeXt's StochasticDepth."""
    from keras.src.applications.convnext import StochasticDepth

    x = inputs = keras.Input((8, 8, 4))
    for i in range(2):
        h = keras.layers.Conv2D(4, 3, padding="same")(x)
        x = x + StochasticDepth(0.1 * (i + 1), name=f"stochastic_depth_{i}")(h)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs)


def bert_classifier(seed=0):
    """A keras-hub BertTextClassifier: 2 layers, hidden size 16, logits head."""
    import keras_hub

    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=50,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=16,
        dropout=0.1,
    )
    return keras_hub.models.BertTextClassifier(
        backbone=backbone, num_classes=3, preprocessor=None, dropout=0.1
    )


def bert_inputs(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "token_ids": rng.integers(1, 50, (n, 16)).astype("int32"),
        "segment_ids": np.zeros((n, 16), "int32"),
        "padding_mask": np.ones((n, 16), "int32"),
    }


def vit_backbone(seed=0):
    """A keras-hub ViTBackbone: 16x16 images, 2 layers, hidden size 16."""
    import keras_hub

    keras.utils.set_random_seed(seed)
    return keras_hub.models.ViTBackbone(
        image_shape=(16, 16, 3),
        patch_size=8,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        mlp_dim=32,
        dropout_rate=0.1,
        attention_dropout=0.1,
    )


def vit_inputs(n=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 16, 16, 3)).astype("float32")


def transformer_encoder_model():
    """Functional: a keras_hub.layers.TransformerEncoder(dropout=0.2) inside."""
    import keras_hub

    inputs = keras.Input((8, 16))
    h = keras_hub.layers.TransformerEncoder(
        intermediate_dim=32, num_heads=2, dropout=0.2, name="encoder"
    )(inputs)
    h = keras.layers.GlobalAveragePooling1D()(h)
    return keras.Model(inputs, keras.layers.Dense(3)(h))


def functional_ops_model():
    """`+`, slicing, `keras.ops.relu`, a shared layer, a nested Sequential,
    BatchNormalization, two inputs and README's `x + DropPath(r)(f(x))`."""
    a = keras.Input((8,), name="a")
    b = keras.Input((4, 8), name="b")
    shared = keras.layers.Dense(8, name="shared")
    h = shared(a) + shared(b[:, 0])
    h = keras.ops.relu(h)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = h + kerasdrop.layers.DropPath(0.2, name="drop_path")(keras.layers.Dense(8)(h))
    nested = keras.Sequential(
        [keras.layers.Dense(8), keras.layers.Dropout(0.3, name="inner_drop")],
        name="nested",
    )
    h = nested(h)
    h = keras.layers.Dropout(0.2, name="head_drop")(h)
    return keras.Model({"a": a, "b": b}, keras.layers.Dense(2, name="out")(h))


def functional_ops_inputs(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "a": rng.normal(size=(n, 8)).astype("float32"),
        "b": rng.normal(size=(n, 4, 8)).astype("float32"),
    }


@keras.saving.register_keras_serializable(package="zoo")
class AttentionBlock(keras.layers.Layer):
    """A custom layer holding a Dropout and a MultiHeadAttention(dropout=0.1)."""

    def __init__(self, width=8, **kwargs):
        super().__init__(**kwargs)
        self.width = width
        self.attention = keras.layers.MultiHeadAttention(2, 4, dropout=0.1)
        self.drop = keras.layers.Dropout(0.2)
        self.dense = keras.layers.Dense(width)

    def build(self, input_shape):
        self.attention.build(input_shape, input_shape)
        self.dense.build(input_shape)

    def call(self, x, training=False):
        h = self.attention(x, x, training=training)
        return x + self.dense(self.drop(h, training=training))

    def get_config(self):
        return {**super().get_config(), "width": self.width}


@keras.saving.register_keras_serializable(package="zoo")
class Subclassed(keras.Model):
    """A subclassed model: Dropout attributes, a list of them, a custom block."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.block = AttentionBlock(8)
        self.bn = keras.layers.BatchNormalization()
        self.drop = keras.layers.Dropout(0.3)
        self.blocks = [keras.layers.Dense(8), keras.layers.Dropout(0.1)]
        self.head = keras.layers.Dense(2)

    def call(self, x, training=False):
        h = self.bn(self.block(x, training=training), training=training)
        h = keras.ops.mean(h, axis=1)
        for layer in self.blocks:
            h = layer(h, training=training)
        return self.head(self.drop(h, training=training))


def subclassed_model():
    model = Subclassed()
    model(subclassed_inputs())
    return model


def subclassed_inputs(n=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 3, 8)).astype("float32")


def lstm_model():
    """Functional LSTM(8, dropout=0.2, recurrent_dropout=0.2)."""
    inputs = keras.Input((5, 4))
    h = keras.layers.LSTM(8, dropout=0.2, recurrent_dropout=0.2, name="lstm")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(h))
