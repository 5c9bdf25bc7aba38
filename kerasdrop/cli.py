"""The `kerasdrop` command line."""

import argparse
import sys
import time


def _positive_int(name):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"Invalid value received for argument `--{name}`. Expected a "
                f"positive integer. Received: {name}={text!r}"
            ) from None
        if value <= 0:
            raise argparse.ArgumentTypeError(
                f"Invalid value received for argument `--{name}`. Expected a "
                f"positive integer. Received: {name}={text!r}"
            )
        return value

    return parse


def demo(epochs=20, batch_size=64, seed=0, verbose=1, out=sys.stdout):
    """Trains an MLP on bundled digits with a scheduled kerasdrop Dropout.

    Prints Keras' progress bars, the dropout rate of each epoch and the test
    accuracy; returns `{"rates": [...], "test_accuracy": float}`.
    """
    import keras

    import kerasdrop
    from kerasdrop.data import load_digits

    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_digits(seed=seed)
    steps_per_epoch = -(-len(x_train) // batch_size)
    # Curriculum-style ramp: no dropout at first, 0.5 after half the run.
    schedule = kerasdrop.schedules.Linear(
        0.0, 0.5, steps=max(1, steps_per_epoch * epochs // 2)
    )
    model = keras.Sequential(
        [
            keras.Input((x_train.shape[1],)),
            keras.layers.Dense(256, activation="relu"),
            kerasdrop.layers.Dropout(schedule, seed=seed, name="dropout_1"),
            keras.layers.Dense(256, activation="relu"),
            kerasdrop.layers.Dropout(schedule, seed=seed + 1, name="dropout_2"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="digits_mlp",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    rates = []

    class _PrintRate(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            # Runs before Keras' progress bar: the bar shows the rate too.
            rates.append(self.model.get_layer("dropout_1").rate)
            if logs is not None:
                logs["dropout_rate"] = rates[-1]

    print(
        f"kerasdrop demo: {len(x_train)} train / {len(x_val)} validation / "
        f"{len(x_test)} test digits, schedule {schedule!r}",
        file=out,
    )
    start = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=epochs,
        batch_size=batch_size,
        callbacks=[_PrintRate()],
        verbose=verbose,
    )
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print("dropout rate at the end of each epoch:", file=out)
    for epoch, rate in enumerate(rates, start=1):
        print(f"  epoch {epoch:3d}: rate {rate:.4f}", file=out)
    print(
        f"test accuracy: {accuracy:.4f}  "
        f"({time.perf_counter() - start:.1f} s)",
        file=out,
    )
    return {"rates": rates, "test_accuracy": float(accuracy)}


def build_parser():
    import kerasdrop

    parser = argparse.ArgumentParser(
        prog="kerasdrop",
        description=(
            "Dropout for Keras 3 whose rate can be scheduled, learned and "
            "served."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"kerasdrop {kerasdrop.__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser(
        "demo",
        help="train an MLP on bundled digits with scheduled dropout",
        description=(
            "Train a small MLP on scikit-learn's bundled digits with a "
            "scheduled kerasdrop Dropout; print the rate per epoch and the "
            "test accuracy."
        ),
    )
    p.add_argument("--epochs", type=_positive_int("epochs"), default=20)
    p.add_argument("--batch-size", type=_positive_int("batch-size"), default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--quick", action="store_true", help="3 epochs (a smoke test)"
    )

    p = sub.add_parser(
        "export",
        help="export a .keras model for serving, dropout stripped",
        description=(
            "Load MODEL.keras, strip every dropout layer and write a verified "
            "SavedModel (deterministic serving_default, optional `mc` "
            "signature), ONNX or LiteRT artifact to OUT."
        ),
    )
    p.add_argument("model", metavar="MODEL.keras", help="saved Keras model")
    p.add_argument("out", metavar="OUT", help="target directory or file")
    p.add_argument(
        "--mc-samples",
        type=_positive_int("mc-samples"),
        default=None,
        help="add an `mc` signature with this many dropout samples",
    )
    p.add_argument(
        "--version",
        type=_non_negative_int("version"),
        default=None,
        help="write TF Serving's layout OUT/<version>/",
    )
    p.add_argument(
        "--format",
        choices=("tf_saved_model", "onnx", "litert"),
        default="tf_saved_model",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace an existing artifact"
    )

    p = sub.add_parser(
        "inspect",
        help="list the dropout layers of a .keras model",
        description=(
            "Print every dropout-family layer of MODEL.keras with its kind, "
            "live rate, schedule and step, and whether MC sampling is on; "
            "warn when dropout directly precedes BatchNormalization."
        ),
    )
    p.add_argument("model", metavar="MODEL.keras", help="saved Keras model")

    p = sub.add_parser(
        "uci",
        help="MC dropout on the UCI regression sets (Gal & Ghahramani 2016)",
        description=(
            "Run the MC dropout protocol of Gal & Ghahramani (2016) on a UCI "
            "data folder (one data set folder, or a folder of them) and "
            "report RMSE and test log-likelihood, mean +- standard error "
            "over splits, beside the paper's figures."
        ),
    )
    p.add_argument("data", metavar="DATA", help="UCI data set folder(s)")
    p.add_argument(
        "--datasets", default=None,
        help="comma-separated folder names to run (default: all found)",
    )
    p.add_argument("--mode", choices=("fixed", "grid"), default="fixed",
                   help="the paper's (p, tau), or a grid search by validation LL")
    p.add_argument("--splits", type=_positive_int("splits"), default=None,
                   help="first N splits only (default: all)")
    p.add_argument("--epochs", type=_positive_int("epochs"), default=None,
                   help="training epochs (default: 10 x n_epochs.txt = 400)")
    p.add_argument("--samples", type=_positive_int("samples"), default=10000,
                   help="MC dropout passes T (default 10000)")
    p.add_argument("--batch-size", type=_positive_int("batch-size"), default=128,
                   help="training batch size (default 128, the protocol's)")
    p.add_argument("--rate", type=float, default=None, help="fixed-mode p")
    p.add_argument("--tau", type=float, default=None, help="fixed-mode tau")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=_positive_int("jobs"), default=1,
                   help="worker processes for splits (default 1)")
    p.add_argument("--out", default=None,
                   help="folder for uci.json and uci.md (default: print only)")
    return parser


def _non_negative_int(name):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = -1
        if value < 0:
            raise argparse.ArgumentTypeError(
                f"Invalid value received for argument `--{name}`. Expected a "
                f"non-negative integer. Received: {name}={text!r}"
            )
        return value

    return parse


def _load(path):
    """Loads a .keras file, or raises ValueError with a one-line reason."""
    import os

    import keras

    import kerasdrop  # noqa: F401  (registers the layers for loading)

    if not os.path.exists(path):
        raise ValueError(f"Model file '{path}' does not exist.")
    if not str(path).endswith(".keras"):
        raise ValueError(
            f"Expected a Keras v3 `.keras` file. Received: '{path}'"
        )
    try:
        return keras.saving.load_model(path)
    except Exception as err:  # corrupt file, unknown custom layer, ...
        raise ValueError(
            f"Could not load '{path}': {type(err).__name__}: {err}"
        ) from err


def export_command(args, out=None):
    from kerasdrop.export import export

    model = _load(args.model)
    target = export(
        model,
        args.out,
        mc_samples=args.mc_samples,
        version=args.version,
        overwrite=args.overwrite,
        format=args.format,
    )
    extra = f" with an `mc` signature ({args.mc_samples} samples)" if (
        args.mc_samples
    ) else ""
    print(
        f"Exported '{args.model}' ({args.format}){extra} to '{target}'; "
        "verified.",
        file=out or sys.stdout,
    )


def inspect_command(args, out=None):
    from kerasdrop.inspection import format_summary

    print(format_summary(_load(args.model)), file=out or sys.stdout)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "demo":
        epochs = 3 if args.quick else args.epochs
        demo(epochs=epochs, batch_size=args.batch_size, seed=args.seed)
        return 0
    try:
        if args.command == "export":
            export_command(args)
        elif args.command == "inspect":
            inspect_command(args)
        elif args.command == "uci":
            from kerasdrop.uci import command as uci_command

            uci_command(args)
    except (ValueError, TypeError, ImportError) as err:
        print(f"kerasdrop {args.command}: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
