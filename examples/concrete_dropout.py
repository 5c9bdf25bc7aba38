"""Concrete Dropout: learn the dropout rate of every layer (bundled diabetes data).

Run: python examples/concrete_dropout.py [--epochs 200]

Each Dense is wrapped in `ConcreteDropout`, with regularizers derived from
the number of training points; `DropoutLogger` records the learned rates in
the History, printed at the end with the test RMSE.
"""

import argparse

import keras
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import kerasdrop
from kerasdrop.layers import ConcreteDropout, concrete_regularizers


def main(epochs=200):
    keras.utils.set_random_seed(0)
    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, random_state=0)
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    y_mean, y_std = y_train.mean(), y_train.std()
    y_train_n = (y_train - y_mean) / y_std

    wr, dr = concrete_regularizers(len(x_train), length_scale=1e-2)
    model = keras.Sequential(
        [
            keras.Input((x.shape[1],)),
            ConcreteDropout(
                keras.layers.Dense(64, activation="relu"),
                weight_regularizer=wr,
                dropout_regularizer=dr,
                name="cd_1",
            ),
            ConcreteDropout(
                keras.layers.Dense(64, activation="relu"),
                weight_regularizer=wr,
                dropout_regularizer=dr,
                name="cd_2",
            ),
            ConcreteDropout(
                keras.layers.Dense(1),
                weight_regularizer=wr,
                dropout_regularizer=dr,
                name="cd_out",
            ),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    history = model.fit(
        x_train,
        y_train_n,
        batch_size=32,
        epochs=epochs,
        verbose=0,
        callbacks=[kerasdrop.callbacks.DropoutLogger()],
    )
    for name in ("cd_1", "cd_2", "cd_out"):
        rates = history.history[f"dropout/{name}"]
        print(
            f"{name}: learned p {rates[0]:.3f} (epoch 1) -> "
            f"{rates[-1]:.3f} (epoch {len(rates)})"
        )
    pred = model.predict(x_test, verbose=0)[:, 0] * y_std + y_mean
    print(f"test RMSE: {np.sqrt(np.mean((pred - y_test) ** 2)):.2f}")
    return model


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    main(parser.parse_args().epochs)
