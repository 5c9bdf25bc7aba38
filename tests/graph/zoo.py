"""Tiny models nobody on this project wrote, built with random weights.

keras.applications with `weights=None`, keras-hub models from their
constructors (no preset, vocabulary or weights is downloaded), graphs with
operation nodes, a subclassed model with a custom layer, RNNs. Every builder
returns a built model in well under 3 s on CPU, under TensorFlow and JAX.
A builder's `seed` goes to `keras.utils.set_random_seed` (global state).
"""

import keras
import numpy as np

import kerasdrop


def _seed(seed):
    if seed is not None:
        keras.utils.set_random_seed(seed)


def image_inputs(n=2, size=32, seed=0):
    """`n` random channels-last images in [0, 255), float32."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (n, size, size, 3)).astype("float32")


# ----------------------------------------------------------------------------
# keras.applications.
# ----------------------------------------------------------------------------
def mobilenet_v3_small(seed=0):
    """keras.applications.MobileNetV3Small at 32x32: SE blocks' op nodes, BN, a
    Dropout.
    """
    _seed(seed)
    return keras.applications.MobileNetV3Small(
        input_shape=(32, 32, 3),
        weights=None,
        classes=4,
        minimalistic=False,  # hard-swish and SE blocks: `x + 3.0`, `* (1/6)` nodes
        dropout_rate=0.2,
    )


def efficientnet_b0(seed=0):
    """keras.applications.EfficientNetB0 at 32x32: 9 drop-connect Dropouts +
    top_dropout.
    """
    _seed(seed)
    return keras.applications.EfficientNetB0(
        input_shape=(32, 32, 3), weights=None, classes=4
    )


def convnext_tiny_stub(seed=0):
    """keras.applications' ConvNeXt builder, tiny widths, drop_path_rate=0.2
    (StochasticDepth).
    """
    # keras.applications.ConvNeXtTiny hard-codes drop_path_rate=0.0 (no
    # StochasticDepth at all) and has 28M parameters; the module's own
    # `ConvNeXt` builder takes the rate and the widths.
    from keras.src.applications.convnext import ConvNeXt

    _seed(seed)
    return ConvNeXt(
        depths=[1, 1, 2, 1],
        projection_dims=[8, 16, 16, 32],
        drop_path_rate=0.2,  # linspace(0, 0.2, 5): the first block gets none
        input_shape=(32, 32, 3),
        classes=4,
        weights=None,
        name="convnext_stub",
    )


# ----------------------------------------------------------------------------
# keras-hub.
# ----------------------------------------------------------------------------
def bert_classifier(seed=0):
    """A keras-hub BertTextClassifier (no preprocessor): 2 layers, hidden 16, logits."""
    import keras_hub

    _seed(seed)
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
    """Inputs for `bert_classifier`: token ids, segment ids, padding mask
    (n, 16) int32.
    """
    rng = np.random.default_rng(seed)
    lengths = rng.integers(8, 17, n)
    mask = (np.arange(16)[None, :] < lengths[:, None]).astype("int32")
    return {
        "token_ids": rng.integers(1, 50, (n, 16)).astype("int32") * mask,
        "segment_ids": np.zeros((n, 16), "int32"),
        "padding_mask": mask,
    }


def vit_backbone(seed=0):
    """A keras-hub ViTBackbone: 16x16 images, 8x8 patches, 2 layers, hidden 16."""
    import keras_hub

    _seed(seed)
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


def vit_inputs(n=4, seed=0):
    """Inputs for `vit_backbone`: (n, 16, 16, 3) float32 images."""
    return np.random.default_rng(seed).normal(size=(n, 16, 16, 3)).astype("float32")


def hub_drop_path_model(seed=0):
    """A keras-hub MiTBackbone (SegFormer encoder) with max_drop_path_rate=0.2:
    its own DropPath.
    """
    import keras_hub

    _seed(seed)
    # Three blocks, drop-path rates linspace(0, 0.2, 3) = 0, 0.1, 0.2 (each
    # block holds a keras_hub MiT DropPath, the first at rate 0).
    return keras_hub.models.MiTBackbone(
        layerwise_depths=[1, 2],
        num_layers=2,
        layerwise_num_heads=[1, 2],
        layerwise_sr_ratios=[2, 1],
        max_drop_path_rate=0.2,
        layerwise_patch_sizes=[7, 3],
        layerwise_strides=[4, 2],
        image_shape=(32, 32, 3),
        hidden_dims=[8, 16],
    )


def swin_backbone(seed=0):
    """A keras-hub SwinTransformerBackbone at 32x32 with drop_path=0.2 (its own
    DropPath).
    """
    import keras_hub

    _seed(seed)
    return keras_hub.models.SwinTransformerBackbone(
        image_shape=(32, 32, 3),
        embed_dim=8,
        depths=[2, 2],
        num_heads=[1, 2],
        window_size=4,
        patch_size=4,
        dropout_rate=0.1,
        attention_dropout=0.1,
        drop_path=0.2,
    )


def mobilenetv5_backbone(seed=0):
    """A keras-hub MobileNetV5Backbone, 3 blocks, drop_path_rate=0.2 (its own
    DropPath).
    """
    import keras_hub

    _seed(seed)
    # Rates linspace(0, 0.2, 3); a block at rate 0 holds a lambda, no layer.
    types = [["er"], ["uir", "uir"]]
    zeros = [[0], [0, 0]]
    return keras_hub.models.MobileNetV5Backbone(
        stackwise_block_types=types,
        stackwise_num_blocks=[1, 2],
        stackwise_num_filters=[[16], [16, 16]],
        stackwise_strides=[[2], [1, 1]],
        stackwise_act_layers=[["relu"], ["relu", "relu"]],
        stackwise_exp_ratios=[[2.0], [2.0, 2.0]],
        stackwise_se_ratios=[[0.0], [0.0, 0.0]],
        stackwise_dw_kernel_sizes=[[0], [3, 3]],
        stackwise_dw_start_kernel_sizes=[[0], [3, 3]],
        stackwise_dw_end_kernel_sizes=zeros,
        stackwise_exp_kernel_sizes=[[3], [0, 0]],
        stackwise_pw_kernel_sizes=[[1], [0, 0]],
        stackwise_num_heads=zeros,
        stackwise_key_dims=zeros,
        stackwise_value_dims=zeros,
        stackwise_kv_strides=zeros,
        stackwise_use_cpe=[[False], [False, False]],
        stem_size=8,
        num_features=16,
        use_msfa=False,
        drop_path_rate=0.2,
        image_shape=(32, 32, 3),
    )


def dinov2_backbone(seed=0):
    """A keras-hub DINOV2Backbone (16x16, 2 layers), drop_path_rate=0.2:
    inference only.
    """
    # keras-hub's DINOV2DropPath fails in training (its noise shape, set in
    # build, keeps the symbolic batch size None) and has no floor: it scales by
    # (u + keep) / keep, u ~ U[0, 1), instead of a 0/1 mask.
    import keras_hub

    _seed(seed)
    return keras_hub.models.DINOV2Backbone(
        patch_size=8,
        num_layers=2,
        hidden_dim=16,
        num_heads=2,
        intermediate_dim=32,
        dropout_rate=0.1,
        drop_path_rate=0.2,
        image_shape=(16, 16, 3),
        position_embedding_shape=(16, 16, 3),
    )


def dinov3_backbone(seed=0):
    """A keras-hub DINOV3Backbone (16x16, 2 layers), drop_path_rate=0.2:
    inference only.
    """
    # DINOV3DropPath is DINOV2DropPath's copy: same training failure. Layer 0
    # gets rate 0 (an Identity layer), layer 1 a DINOV3DropPath(0.2).
    import keras_hub

    _seed(seed)
    return keras_hub.models.DINOV3Backbone(
        patch_size=8,
        num_layers=2,
        hidden_dim=16,
        num_heads=2,
        intermediate_dim=32,
        num_register_tokens=1,
        attention_dropout=0.1,
        drop_path_rate=0.2,
        image_shape=(16, 16, 3),
    )


def transformer_encoder_model(seed=0):
    """Functional: Input((8, 16)) -> keras_hub TransformerEncoder(dropout=0.2)
    -> pool -> Dense(3).
    """
    import keras_hub

    _seed(seed)
    inputs = keras.Input((8, 16))
    h = keras_hub.layers.TransformerEncoder(
        intermediate_dim=32, num_heads=2, dropout=0.2, name="encoder"
    )(inputs)
    h = keras.layers.GlobalAveragePooling1D()(h)
    return keras.Model(inputs, keras.layers.Dense(3)(h))


# ----------------------------------------------------------------------------
# Plain Keras: operation nodes, subclassing, custom layers, RNNs.
# ----------------------------------------------------------------------------
def functional_ops_model(seed=0):
    """Two inputs; `+`, slicing, ops.relu, a shared Dense, BN, nested
    Sequential, DropPath residual.
    """
    _seed(seed)
    a = keras.Input((8,), name="a")
    b = keras.Input((4, 8), name="b")
    shared = keras.layers.Dense(8, name="shared")
    h = shared(a) + shared(b[:, 0])  # one layer, two nodes; slicing; `+`
    h = keras.ops.relu(h)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = h + kerasdrop.layers.DropPath(0.2, name="drop_path")(
        keras.layers.Dense(8, name="branch")(h)
    )
    nested = keras.Sequential(
        [keras.layers.Dense(8), keras.layers.Dropout(0.3, name="inner_drop")],
        name="nested",
    )
    h = nested(h)
    h = keras.layers.Dropout(0.2, name="head_drop")(h)
    return keras.Model({"a": a, "b": b}, keras.layers.Dense(2, name="out")(h))


def functional_ops_inputs(n=4, seed=0):
    """Inputs for `functional_ops_model`: {"a": (n, 8), "b": (n, 4, 8)} float32."""
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
        self.attention = keras.layers.MultiHeadAttention(
            num_heads=2, key_dim=4, dropout=0.1, name="attention"
        )
        self.drop = keras.layers.Dropout(0.2, name="block_drop")
        self.dense = keras.layers.Dense(width, name="proj")

    def build(self, input_shape):
        self.attention.build(input_shape, input_shape)
        self.dense.build(input_shape)  # attention's output has the query's width

    def call(self, x, training=False):
        h = self.attention(x, x, training=training)
        return x + self.dense(self.drop(h, training=training))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "width": self.width}


@keras.saving.register_keras_serializable(package="zoo")
class Subclassed(keras.Model):
    """A subclassed model: a Dropout attribute, one in a list, a custom block, BN."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.block = AttentionBlock(8, name="block")
        self.bn = keras.layers.BatchNormalization(name="bn")
        self.drop = keras.layers.Dropout(0.3, name="drop")
        self.blocks = [
            keras.layers.Dense(8, name="hidden"),
            keras.layers.Dropout(0.1, name="list_drop"),
        ]
        self.head = keras.layers.Dense(2, name="head")

    def call(self, x, training=False):
        h = self.bn(self.block(x, training=training), training=training)
        h = keras.ops.mean(h, axis=1)
        for layer in self.blocks:
            h = layer(h, training=training)
        return self.head(self.drop(h, training=training))


def subclassed_model(seed=0):
    """A built `Subclassed` model (inputs (n, 3, 8))."""
    _seed(seed)
    model = Subclassed(name="subclassed")
    model(subclassed_inputs())
    return model


def subclassed_inputs(n=4, seed=0):
    """Inputs for `subclassed_model`: (n, 3, 8) float32."""
    return np.random.default_rng(seed).normal(size=(n, 3, 8)).astype("float32")


def lstm_model(seed=0):
    """Functional Input((5, 4)) -> LSTM(8, dropout=0.2, recurrent_dropout=0.2)
    -> Dense(2).
    """
    _seed(seed)
    inputs = keras.Input((5, 4))
    h = keras.layers.LSTM(8, dropout=0.2, recurrent_dropout=0.2, name="lstm")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(h))


def cell_rnn_model(seed=0):
    """Functional Input((5, 4)) -> RNN(LSTMCell(8, dropout=0.2,
    recurrent_dropout=0.2)) -> Dense(2): RNN dropout kerasdrop cannot reach
    (a generic `RNN` over a cell, not Keras' `LSTM`)."""
    _seed(seed)
    inputs = keras.Input((5, 4))
    cell = keras.layers.LSTMCell(8, dropout=0.2, recurrent_dropout=0.2)
    h = keras.layers.RNN(cell, name="lstm")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(h))


def bidirectional_gru_model(seed=0):
    """Functional Input((5, 4)) -> Bidirectional(GRU(4, dropout=0.1)) -> Dense(2)."""
    _seed(seed)
    inputs = keras.Input((5, 4))
    h = keras.layers.Bidirectional(
        keras.layers.GRU(4, dropout=0.1, name="gru"), name="bigru"
    )(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(h))


def rnn_inputs(n=4, seed=0):
    """Inputs for `lstm_model`, `cell_rnn_model` and `bidirectional_gru_model`:
    (n, 5, 4) float32."""
    return np.random.default_rng(seed).normal(size=(n, 5, 4)).astype("float32")


# Every builder with a function giving sample inputs for its model.
BUILDERS = {
    "mobilenet_v3_small": (mobilenet_v3_small, lambda: image_inputs(2, 32)),
    "efficientnet_b0": (efficientnet_b0, lambda: image_inputs(2, 32)),
    "convnext_tiny_stub": (convnext_tiny_stub, lambda: image_inputs(2, 32)),
    "bert_classifier": (bert_classifier, bert_inputs),
    "vit_backbone": (vit_backbone, vit_inputs),
    "hub_drop_path_model": (hub_drop_path_model, lambda: image_inputs(2, 32)),
    "swin_backbone": (swin_backbone, lambda: image_inputs(2, 32)),
    "mobilenetv5_backbone": (mobilenetv5_backbone, lambda: image_inputs(2, 32)),
    "dinov2_backbone": (dinov2_backbone, lambda: {"images": image_inputs(2, 16)}),
    "dinov3_backbone": (
        dinov3_backbone,
        lambda: {"pixel_values": image_inputs(2, 16)},
    ),
    "transformer_encoder_model": (
        transformer_encoder_model,
        lambda: np.random.default_rng(0).normal(size=(4, 8, 16)).astype("float32"),
    ),
    "functional_ops_model": (functional_ops_model, functional_ops_inputs),
    "subclassed_model": (subclassed_model, subclassed_inputs),
    "lstm_model": (lstm_model, rnn_inputs),
    "cell_rnn_model": (cell_rnn_model, rnn_inputs),
    "bidirectional_gru_model": (bidirectional_gru_model, rnn_inputs),
}
