"""Active learning with MC dropout: BALD and BatchBALD against random labels.

Run: python examples/active_learning.py [--epochs 10] [--rounds 4] [--samples 20]

A digits classifier starts from 20 labelled digits (2 per class, drawn from
the pool); each round trains the model from scratch with early stopping on
a fixed labelled validation set of 100 digits, scores a random 500 of the
unlabelled pool with `kerasdrop.active.acquire` (MC dropout, streamed
through `kerasdrop.mc.predict`) and "labels" the 10 digits it picks (the
labels are known: a simulation) -- Gal et al. 2017's protocol, as a
`kerasdrop.active.Protocol`. Prints test accuracy per round for random picks,
BALD and BatchBALD, and one acquisition on its own: the rows picked and
their scores.
"""

import argparse

import keras
import numpy as np

import kerasdrop
from kerasdrop.data import load_digits


def build():
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu"),
            kerasdrop.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(epochs=10, rounds=4, samples=20):
    keras.utils.set_random_seed(0)
    (x_pool, y_pool), _, (x_test, y_test) = load_digits(seed=0)
    start = np.concatenate([np.flatnonzero(y_pool == c)[:2] for c in range(10)])
    rest = np.setdiff1d(np.arange(len(y_pool)), start)
    labelled, pool = (x_pool[start], y_pool[start]), (x_pool[rest], y_pool[rest])

    # One acquisition: the 10 pool rows to label next, and their scores.
    model = build()
    model.fit(*labelled, epochs=epochs * 5, verbose=0)
    picks = kerasdrop.active.acquire(
        model, pool[0], 10, "batch_bald", samples=samples, seed=0
    )
    print("BatchBALD picks", picks.indices.tolist())
    print("gains (nats)   ", np.round(picks.scores, 3).tolist())

    # The loop: fit -> score the pool -> label -> refit, for three
    # strategies, with the paper's protocol. One compiled model, reused: each
    # round it gets fresh weights and optimizer state (nothing retraced).
    model = build()
    protocol = kerasdrop.active.Protocol(
        initial_per_class=2, validation_size=100, early_stopping=10, pool_subset=500
    )
    for strategy in ("random", "bald", "batch_bald"):
        result = kerasdrop.active.run_loop(
            model,
            None,  # the start set: 2 labels per class, drawn from the pool
            (x_pool, y_pool),
            rounds=rounds,
            count=10,
            strategy=strategy,
            fit_kwargs={"epochs": epochs * 5, "batch_size": 8},
            validation_data=(x_test, y_test),
            seed=0,
            protocol=protocol,
            samples=samples,
        )
        curve = " ".join(f"{logs['accuracy']:.3f}" for logs in result.logs)
        first, last = result.labelled[0], result.labelled[-1]
        print(f"{strategy:10s} labels {first}..{last}: {curve}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    main(args.epochs, args.rounds, args.samples)
