"""The demo's task and models: the digits split, the MLP per variant, one fit.

`load_data` splits the bundled digits (0-8 in distribution, every 9 out of
distribution); `build_model` builds and compiles the MLP of one of
`VARIANTS` with the callbacks its fit needs; `train` fits it and reads the
dropout rates per epoch from its history.
"""

import time

import numpy as np

from kerasdrop import _checks
from kerasdrop.apps.demo.settings import HIDDEN, OOD_CLASS, RATE, VARIANTS


def load_data(seed=0):
    """Digits 0-8 split train/validation/test; every 9 is the OOD set.

    Returns a dict of float32 pixel arrays in [0, 1] and int32 labels:
    `x_train`, `y_train`, `x_val`, `y_val`, `x_test`, `y_test`, `x_ood`.

    Example:

    >>> data = load_data()
    >>> int(data["y_train"].max()), data["x_ood"].shape
    (8, (180, 64))
    """
    from kerasdrop.data import load_digits

    splits = load_digits(seed=seed)
    data, ood = {}, []
    for name, (x, y) in zip(("train", "val", "test"), splits):
        keep = y != OOD_CLASS
        data["x_" + name], data["y_" + name] = x[keep], y[keep]
        ood.append(x[~keep])
    data["x_ood"] = np.concatenate(ood, axis=0)
    return data


def _dense(units, name, activation="relu"):
    import keras

    return keras.layers.Dense(units, activation=activation, name=name)


def _dropout_head(h, variant, total_steps, seed):
    """Hidden layer 2 and the softmax, with dropout unless "no dropout"."""
    import kerasdrop

    if variant == "no dropout":
        h = _dense(HIDDEN, "hidden_2")(h)
        return _dense(OOD_CLASS, "probs", "softmax")(h), None
    rate = RATE if variant == "constant" else 0.0
    h = kerasdrop.layers.Dropout(rate, seed=seed + 1, name="drop_1")(h)
    h = _dense(HIDDEN, "hidden_2")(h)
    h = kerasdrop.layers.Dropout(rate, seed=seed + 2, name="drop_2")(h)
    outputs = _dense(OOD_CLASS, "probs", "softmax")(h)
    if variant == "scheduled":
        curriculum = kerasdrop.recipes.curriculum_dropout
        return outputs, curriculum(total_steps, final_rate=RATE)
    return outputs, kerasdrop.callbacks.DropoutLogger()


def _concrete_head(h, n_train, seed):
    """Hidden layer 2 and the softmax, each wrapped in `ConcreteDropout`."""
    import kerasdrop
    from kerasdrop.layers import ConcreteDropout, concrete_regularizers

    wr, dr = concrete_regularizers(n_train, loss="cross_entropy")

    def wrap(layer, name, layer_seed):
        return ConcreteDropout(
            layer,
            weight_regularizer=wr,
            dropout_regularizer=dr,
            init_rate=0.1,
            seed=layer_seed,
            name=name,
        )

    h = wrap(_dense(HIDDEN, "hidden_2"), "concrete_1", seed + 1)(h)
    outputs = wrap(_dense(OOD_CLASS, "probs", "softmax"), "concrete_2", seed + 2)(h)
    return outputs, kerasdrop.callbacks.DropoutLogger()


def build_model(variant, n_train, total_steps, seed=0):
    """The MLP for one variant, compiled, and the callbacks its fit needs.

    `variant` is one of `VARIANTS`; `total_steps` (batches of the whole run)
    sets the curriculum of "scheduled".

    Example:

    >>> model, callbacks = build_model("concrete", n_train=970, total_steps=500)
    >>> [layer.name for layer in model.layers if "concrete" in layer.name]
    ['concrete_1', 'concrete_2']
    >>> type(callbacks[0]).__name__
    'DropoutLogger'
    """
    import keras

    _checks.check_choice("variant", variant, VARIANTS)
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((64,), name="pixels")
    h = _dense(HIDDEN, "hidden_1")(inputs)
    if variant == "concrete":
        outputs, callback = _concrete_head(h, n_train, seed)
    else:
        outputs, callback = _dropout_head(h, variant, total_steps, seed)
    model = keras.Model(inputs, outputs, name=variant.replace(" ", "_"))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model, [] if callback is None else [callback]


def _rates_from_history(history):
    prefix = "dropout/"
    return {
        key[len(prefix) :]: [float(v) for v in values]
        for key, values in history.items()
        if key.startswith(prefix)
    }


def train(variant, data, results, verbose):
    """Builds and fits one variant: `(model, history, rates per epoch,
    seconds fitting)`, the rates starting with each layer's rate before
    training."""
    from kerasdrop import graph

    batch_size, epochs = results["batch_size"], results["epochs"]
    steps = -(-len(data["x_train"]) // batch_size)
    model, callbacks = build_model(
        variant, len(data["x_train"]), steps * epochs, results["seed"]
    )
    initial = {layer.name: layer.rate for layer in graph.dropout_layers(model)}
    t0 = time.perf_counter()
    history = model.fit(
        data["x_train"],
        data["y_train"],
        validation_data=(data["x_val"], data["y_val"]),
        epochs=epochs,
        batch_size=batch_size,
        callbacks=callbacks,
        verbose=verbose,
    ).history
    seconds = time.perf_counter() - t0
    rates = {
        name: [initial[name]] + values
        for name, values in _rates_from_history(history).items()
    }
    return model, history, rates, seconds
