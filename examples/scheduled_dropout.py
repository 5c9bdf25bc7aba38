"""Scheduled and assigned dropout rates inside a compiled `fit`.

Run: python examples/scheduled_dropout.py [--epochs N]

Trains an MLP on scikit-learn's bundled breast-cancer data twice: once with a
Cosine schedule evaluated in-graph by the layer itself, once with the rate
assigned from a plain Keras callback between epochs. Neither retraces the
train step, which stock `keras.layers.Dropout` cannot do.
"""

import argparse

import keras
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import kerasdrop


def make_model(rate):
    return keras.Sequential(
        [
            keras.Input((30,)),
            keras.layers.Dense(64, activation="relu"),
            kerasdrop.layers.Dropout(rate, seed=0, name="dropout"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def main(epochs=10):
    keras.utils.set_random_seed(0)
    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, random_state=0)
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    steps = epochs * int(np.ceil(len(x_train) / 32))

    # 1. The layer evaluates the schedule itself, once per training step.
    model = make_model(kerasdrop.schedules.Cosine(0.5, 0.1, steps=steps))
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    layer = model.get_layer("dropout")
    print(f"schedule: after {layer.step} steps the rate is {layer.rate:.3f}")
    print("  test accuracy:", model.evaluate(x_test, y_test, verbose=0)[1])

    # 2. Any callback can assign the rate; the compiled step reads it.
    class Halve(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            layer = self.model.get_layer("dropout")
            layer.rate = layer.rate / 2
            logs["dropout_rate"] = layer.rate

    model = make_model(0.6)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(
        x_train, y_train, epochs=epochs, batch_size=32, callbacks=[Halve()], verbose=0
    )
    print(
        "assigned: rate per epoch",
        [round(r, 4) for r in history.history["dropout_rate"]],
    )
    print("  test accuracy:", model.evaluate(x_test, y_test, verbose=0)[1])
    return model


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    main(parser.parse_args().epochs)
