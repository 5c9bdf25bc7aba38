"""Tune dropout with KerasTuner: two independent spaces, one per block.

Run: python examples/tuner_search.py [--epochs 10] [--trials 3]

Needs the `tuner` extra (`pip install "kerasdrop[tuner]"`). An MLP on
scikit-learn's bundled digits gets one `dropout_space` per hidden block
(`block0`, `block1`): each chooses no dropout, a constant rate or a
scheduled rate (and the schedule's own parameters, present only when that
schedule is chosen). `DropoutHyperModel` adds each trial's schedulers to
`fit`. Prints every trial's choices and validation accuracy, then the best.
"""

import argparse
import tempfile

import keras
import keras_tuner as kt

from kerasdrop.data import load_digits
from kerasdrop.tuning import DropoutHyperModel, dropout_space


def build(hp, spec):
    inputs = keras.Input((64,))
    x = inputs
    for i in range(2):
        block = dropout_space(
            hp,
            name=f"block{i}",
            kinds=("none", "constant", "scheduled"),
            rate=(0.1, 0.5, 0.1),
        )
        x = block.layer(keras.layers.Dense(64, activation="relu"))(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        keras.optimizers.Adam(3e-3),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main(epochs=10, trials=3, seed=0):
    keras.utils.set_random_seed(seed)
    (x, y), (xv, yv), _ = load_digits(seed=seed)
    with tempfile.TemporaryDirectory() as directory:
        tuner = kt.RandomSearch(
            DropoutHyperModel(build, space=False),  # build declares its spaces
            objective="val_accuracy",
            max_trials=trials,
            seed=seed,
            directory=directory,
            project_name="example",
        )
        tuner.search(
            x, y, epochs=epochs, batch_size=64, validation_data=(xv, yv), verbose=0
        )
        for trial in tuner.oracle.trials.values():
            print(
                f"trial {trial.trial_id}: val_accuracy {trial.score:.4f}  "
                f"{trial.hyperparameters.values}"
            )
        best = tuner.get_best_hyperparameters()[0].values
    print(f"best: {best}")
    return best


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.epochs, args.trials, args.seed)
