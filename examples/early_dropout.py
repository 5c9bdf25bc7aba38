"""Early dropout vs standard dropout vs none on an underfitting model.

Run: python examples/early_dropout.py [--epochs 60]

Liu et al. ("Dropout Reduces Underfitting", ICML 2023) report that dropout
used only at the start of training lets an *underfitting* model reach a lower
final training loss than no dropout, while standard (always-on) dropout
raises it. The model here is deliberately too small for scikit-learn's
bundled digits (one hidden layer of 12 units). Prints the final training
loss (inference mode, whole training set) and the test accuracy of each.
"""

import argparse

import keras

import kerasdrop
from kerasdrop.data import load_digits


def train(callbacks, rate, epochs, data, seed=0):
    (x_train, y_train), _, (x_test, y_test) = data
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            kerasdrop.layers.Dropout(rate, seed=seed, name="input_drop"),
            keras.layers.Dense(12, activation="relu"),
            kerasdrop.layers.Dropout(rate, seed=seed + 1, name="hidden_drop"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(3e-3),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        x_train, y_train, batch_size=64, epochs=epochs, verbose=0, callbacks=callbacks
    )
    train_loss = model.evaluate(x_train, y_train, verbose=0)[0]
    test_accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
    return train_loss, test_accuracy


def main(epochs=60, rate=0.1, seeds=1):
    data = load_digits()
    runs = {
        "no dropout": ([], 0.0),
        "standard dropout": ([], rate),
        # Dropout for the first quarter of training, then none.
        "early dropout": (
            [
                kerasdrop.recipes.early_dropout(
                    epochs, rate=rate, cutoff=max(1, epochs // 4)
                )
            ],
            0.0,
        ),
    }
    print(
        f"{'variant':18s} {'final train loss':>16s} {'test accuracy':>14s}"
        f"   (mean of {seeds} seed{'s' if seeds > 1 else ''})"
    )
    results = {}
    for name, (callbacks, initial_rate) in runs.items():
        scores = [
            train(callbacks, initial_rate, epochs, data, seed) for seed in range(seeds)
        ]
        loss = sum(s[0] for s in scores) / seeds
        acc = sum(s[1] for s in scores) / seeds
        results[name] = (loss, acc)
        print(f"{name:18s} {loss:16.4f} {acc:14.4f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    main(args.epochs, args.rate, args.seeds)
