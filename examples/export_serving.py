"""Export a dropout model for serving: deterministic signature + MC uncertainty.

Run: python examples/export_serving.py [--epochs 10] [--out DIR]

Trains a digits MLP with kerasdrop Dropout, exports it as a SavedModel in
TF Serving's layout (`DIR/1/`) with a deterministic `serving_default` and an
`mc` signature (30 dropout samples: mean, std, predictive entropy, mutual
information), reloads it with plain TensorFlow and compares both endpoints;
also writes the stripped model as a `.keras` file that loads without
kerasdrop.
"""

import argparse
import tempfile
from pathlib import Path

import keras
import numpy as np

import kerasdrop
from kerasdrop.data import load_digits


def main(epochs=10, out=None):
    keras.utils.set_random_seed(0)
    (x_train, y_train), _, (x_test, y_test) = load_digits(seed=0)
    model = keras.Sequential(
        [
            keras.Input((x_train.shape[1],), name="pixels"),
            keras.layers.Dense(128, activation="relu"),
            kerasdrop.layers.Dropout(0.3, seed=1),
            keras.layers.Dense(128, activation="relu"),
            kerasdrop.layers.Dropout(0.3, seed=2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)

    out = Path(out or tempfile.mkdtemp(prefix="kerasdrop-serving-")) / "digits"
    path = kerasdrop.export(model, out, mc_samples=30, version=1, overwrite=True)
    print(f"SavedModel (verified): {path}")

    import tensorflow as tf  # serving side: plain TensorFlow, no kerasdrop

    loaded = tf.saved_model.load(str(path))
    x = tf.constant(x_test.astype("float32"))
    probs = loaded.signatures["serving_default"](pixels=x)["output_0"].numpy()
    mc = {k: v.numpy() for k, v in loaded.signatures["mc"](pixels=x).items()}
    accuracy = np.mean(probs.argmax(-1) == y_test)
    mc_accuracy = np.mean(mc["output_0_mean"].argmax(-1) == y_test)
    print(
        f"serving_default accuracy {accuracy:.3f}; mc mean accuracy {mc_accuracy:.3f}"
    )
    wrong = mc["output_0_mean"].argmax(-1) != y_test
    for name in ("entropy", "mutual_information"):
        right_v, wrong_v = (
            mc[f"output_0_{name}"][~wrong].mean(),
            mc[f"output_0_{name}"][wrong].mean() if wrong.any() else float("nan"),
        )
        print(
            f"mean {name}: correct {right_v:.3f} nats, misclassified {wrong_v:.3f} nats"
        )

    keras_file = out.parent / "digits_stripped.keras"
    kerasdrop.strip_dropout(model).save(keras_file)
    print(f"stripped .keras (stock layers only): {keras_file}")
    return {"accuracy": float(accuracy), "mc_accuracy": float(mc_accuracy)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", default=None, help="directory for the artifacts")
    args = parser.parse_args()
    main(args.epochs, args.out)
