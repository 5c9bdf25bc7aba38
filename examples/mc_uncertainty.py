"""Monte-Carlo dropout uncertainty: calibration and out-of-distribution digits.

Run: python examples/mc_uncertainty.py [--epochs 30] [--samples 50]

Trains a digits MLP with kerasdrop Dropout on the digits 0-8 only, then
predicts the test digits and the never-seen digit 9 twice: one deterministic
pass, and `kerasdrop.mc.predict` (T dropout samples in one compiled pass per
batch; every other layer stays in inference mode). Prints accuracy, NLL,
ECE and Brier score of both, and how well predictive entropy and mutual
information (BALD) tell the unseen 9s from known digits (AUROC).
"""

import argparse

import keras
import numpy as np

import kerasdrop
from kerasdrop import metrics
from kerasdrop.data import load_digits


def main(epochs=30, samples=50):
    keras.utils.set_random_seed(0)
    (x_train, y_train), _, (x_test, y_test) = load_digits(seed=0)
    x_ood = x_test[y_test == 9]  # out of distribution: never trained on
    x_train, y_train = x_train[y_train != 9], y_train[y_train != 9]
    x_test, y_test = x_test[y_test != 9], y_test[y_test != 9]

    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu"),
            kerasdrop.layers.Dropout(0.3, seed=1),
            keras.layers.Dense(128, activation="relu"),
            kerasdrop.layers.Dropout(0.3, seed=2),
            keras.layers.Dense(9, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)

    # Deterministic: dropout off, as model.predict always does.
    det = model.predict(x_test, verbose=0)
    det_ood = model.predict(x_ood, verbose=0)
    # MC dropout: T stochastic passes, reduced on the fly; same seed, same result.
    mc = kerasdrop.mc.predict(model, x_test, samples=samples, seed=0)
    mc_ood = kerasdrop.mc.predict(model, x_ood, samples=samples, seed=0)
    print(
        f"{mc!r}: mean {mc.mean.shape}, "
        f"mutual information {mc.mutual_information.shape}"
    )

    print(
        f"{'':14s} {'accuracy':>8s} {'NLL':>7s} {'ECE':>7s} {'Brier':>7s} "
        f"{'AUROC H':>8s} {'AUROC MI':>8s}"
    )
    rows = (
        (
            "deterministic",
            det,
            metrics.predictive_entropy(det),
            metrics.predictive_entropy(det_ood),
            None,
            None,
        ),
        (
            f"MC (T={samples})",
            mc.mean,
            mc.predictive_entropy,
            mc_ood.predictive_entropy,
            mc.mutual_information,
            mc_ood.mutual_information,
        ),
    )
    for name, probs, h_in, h_out, mi_in, mi_out in rows:
        probs = probs / probs.sum(axis=-1, keepdims=True)
        auroc_mi = (
            f"{metrics.ood_auroc(mi_in, mi_out):8.3f}"
            if mi_in is not None
            else f"{'n/a':>8s}"
        )
        print(
            f"{name:14s} {np.mean(probs.argmax(-1) == y_test):8.3f} "
            f"{metrics.negative_log_likelihood(y_test, probs):7.3f} "
            f"{metrics.expected_calibration_error(y_test, probs):7.3f} "
            f"{metrics.brier_score(y_test, probs):7.3f} "
            f"{metrics.ood_auroc(h_in, h_out):8.3f} {auroc_mi}"
        )
    print(
        f"mean mutual information: known digits {mc.mutual_information.mean():.4f}, "
        f"unseen 9s {mc_ood.mutual_information.mean():.4f} nats"
    )

    # The same switch by hand: dropout active at inference inside the block.
    with kerasdrop.mc.sampling(model):
        a, b = model(x_test[:1]), model(x_test[:1])
    print("two calls inside mc.sampling() differ:", not np.allclose(a, b))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    main(epochs=args.epochs, samples=args.samples)
