"""The `kerasdrop` command line (also `python -m kerasdrop`).

One small function builds each subcommand's parser (`demo`, `export`,
`inspect`, `uci`) and one handler runs it; `main` parses and dispatches.
Errors are one line on stderr: exit status 2 for a bad flag, 1 for a
failed command.

Example:

>>> parser = build_parser()
>>> parser.parse_args(["export", "m.keras", "served", "--mc-samples", "20"]).mc_samples
20
"""

import argparse
import os
import re
import sys
import warnings

from kerasdrop import _checks


# ----------------------------------------------------------------------------
# Flag types.
# ----------------------------------------------------------------------------
#: The largest count a flag takes (epochs, samples, splits, batch size):
#: far above any real run, low enough that no typo runs for ever.
MAX_COUNT = 10**6
#: The most worker processes `uci --jobs` starts.
MAX_JOBS = 1024
#: The largest seed (Keras and NumPy seed with 32-bit integers).
MAX_SEED = 2**32 - 1
#: The largest TF Serving version (an int64).
MAX_VERSION = 2**63 - 1


def _flag_type(name, expected, parse):
    """An argparse type: `parse(text)`, or an argparse error naming the flag
    (exit status 2) for text `parse` refuses."""

    def convert(text):
        try:
            return parse(text)
        except (ValueError, TypeError, OverflowError):
            raise argparse.ArgumentTypeError(
                _checks.invalid(
                    f"--{name}", f"Expected {expected}.", f"{name}={text!r}"
                )
            ) from None

    return convert


def _int_type(name, minimum, expected, maximum=MAX_COUNT):
    """The integer a flag's text spells, in `[minimum, maximum]`."""
    expected = f"{expected}, at most {maximum}"
    return _flag_type(
        name,
        expected,
        lambda text: _checks.check_int(name, int(text), minimum, maximum),
    )


def _positive_int(name):
    return _int_type(name, 1, "a positive integer")


def _seed(name):
    return _int_type(name, 0, "a non-negative integer", maximum=MAX_SEED)


def _mc_samples(name):
    return _int_type(name, 2, "an integer >= 2 (MC dropout needs several samples)")


def _rate(name):
    return _flag_type(
        name,
        "a dropout rate in [0, 1)",
        lambda text: _checks.check_rate(name, float(text)),
    )


def _positive_number(name):
    return _flag_type(
        name,
        "a positive finite number",
        lambda text: _checks.check_number(name, float(text), minimum=0, strict=True),
    )


# ----------------------------------------------------------------------------
# The parser: one function per subcommand.
# ----------------------------------------------------------------------------
def _add_demo(sub):
    p = sub.add_parser(
        "demo",
        help="train one MLP four ways on bundled digits; write a report",
        description=(
            "Train the same small MLP on scikit-learn's bundled digits 0-8 "
            "four ways (no dropout, constant kerasdrop Dropout, a scheduled "
            "recipe, Concrete Dropout), evaluate each deterministically and "
            "with MC dropout (accuracy, NLL, ECE, Brier, OOD AUROC against "
            "the never-seen digit 9), export and verify the best model, and "
            "write report.md, report.html, results.json and PNG plots to OUT."
        ),
    )
    p.add_argument(
        "--out",
        default="kerasdrop-demo-report",
        metavar="DIR",
        help="report directory, created if needed (default: %(default)s)",
    )
    p.add_argument(
        "--epochs",
        type=_positive_int("epochs"),
        default=None,
        help="epochs per variant (default 30; 3 with --quick)",
    )
    p.add_argument(
        "--samples",
        type=_mc_samples("samples"),
        default=None,
        help="MC dropout samples (default 50; 10 with --quick)",
    )
    p.add_argument("--batch-size", type=_positive_int("batch-size"), default=64)
    p.add_argument("--seed", type=_seed("seed"), default=0)
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 3 epochs, 10 MC samples",
    )
    p.add_argument(
        "--no-export",
        action="store_true",
        help="skip exporting the best model (a SavedModel; ONNX on torch)",
    )


def _add_export(sub):
    p = sub.add_parser(
        "export",
        help="export a .keras model for serving, dropout stripped",
        description=(
            "Load MODEL.keras, strip every dropout layer and write a verified "
            "SavedModel (deterministic serving_default, optional `mc` "
            "signature), ONNX or LiteRT artifact to OUT. An existing OUT is "
            "replaced only with --overwrite and only if it is an export "
            "artifact (a SavedModel directory with nothing else in it, an "
            "ONNX or LiteRT file, an empty directory); any other file or "
            "directory, and an OUT that is or contains MODEL.keras, is "
            "refused and left untouched. On the torch backend Keras writes "
            "no SavedModel: ONNX is its serving format, and --mc-samples "
            "and --version are refused."
        ),
    )
    p.add_argument("model", metavar="MODEL.keras", help="saved Keras model")
    p.add_argument(
        "out",
        metavar="OUT",
        help="target directory (SavedModel) or file (.onnx, .tflite)",
    )
    p.add_argument(
        "--mc-samples",
        type=_mc_samples("mc-samples"),
        default=None,
        help=(
            "add an `mc` signature with this many dropout samples (>= 2; "
            "SavedModel only: not on torch)"
        ),
    )
    p.add_argument(
        "--version",
        type=_int_type("version", 0, "a non-negative integer", MAX_VERSION),
        default=None,
        help="write TF Serving's layout OUT/<version>/ (SavedModel only)",
    )
    p.add_argument(
        "--format",
        choices=("tf_saved_model", "onnx", "litert"),
        default=None,
        help=(
            "default: from OUT's suffix (.onnx: onnx, .tflite: litert), "
            "else the backend's serving format (tf_saved_model; onnx on "
            "torch, written to OUT.onnx); must agree with that suffix"
        ),
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing export artifact at OUT (never other files)",
    )


def _add_inspect(sub):
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


_UCI_COUNTS = (  # (flag, default, help) of uci's positive-integer flags
    ("--splits", None, "first N splits only (default: all)"),
    ("--epochs", None, "training epochs (default: 10 x n_epochs.txt = 400)"),
    ("--samples", 10000, "MC dropout passes T (default 10000)"),
    (
        "--batch-size",
        None,
        "training batch size (default 32, the paper's 2016 scripts')",
    ),
    ("--jobs", 1, "worker processes for splits (default 1)"),
)


def _add_uci(sub):
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
        "--datasets",
        default=None,
        help="comma-separated folder names to run (default: all found)",
    )
    p.add_argument(
        "--mode",
        choices=("fixed", "grid"),
        default="fixed",
        help="the paper's (p, tau), or a grid search by validation LL",
    )
    for flag, default, text in _UCI_COUNTS:
        most = MAX_JOBS if flag == "--jobs" else MAX_COUNT
        kind = _int_type(flag[2:], 1, "a positive integer", most)
        p.add_argument(flag, type=kind, default=default, help=text)
    p.add_argument("--rate", type=_rate("rate"), default=None, help="fixed-mode p")
    p.add_argument(
        "--tau", type=_positive_number("tau"), default=None, help="fixed-mode tau"
    )
    p.add_argument("--seed", type=_seed("seed"), default=0)
    p.add_argument(
        "--out",
        default=None,
        help="folder for uci.json and uci.md (default: print only)",
    )


def build_parser():
    """The `kerasdrop` argument parser, one subparser per command."""
    import kerasdrop

    parser = argparse.ArgumentParser(
        prog="kerasdrop",
        description=(
            "Dropout for Keras 3 whose rate can be scheduled, learned and served."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"kerasdrop {kerasdrop.__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_demo, _add_export, _add_inspect, _add_uci):
        add(sub)
    return parser


# ----------------------------------------------------------------------------
# The handlers.
# ----------------------------------------------------------------------------
def demo_command(args):
    """`kerasdrop demo`: exit 2 for a bad `--out` (before any training), 1
    when the export of the best model failed (the report is written)."""
    from kerasdrop.apps import demo

    try:
        demo.check_out_dir(args.out)
    except ValueError as err:
        print(f"kerasdrop demo: error: {err}", file=sys.stderr)
        return 2
    results = demo.run(
        out=args.out,
        epochs=args.epochs,
        quick=args.quick,
        seed=args.seed,
        samples=args.samples,
        batch_size=args.batch_size,
        export_model=not args.no_export,
    )
    export = results.get("export")
    if export is not None and export.get("error"):
        print(
            f"kerasdrop demo: error: the export failed: {export['error']}",
            file=sys.stderr,
        )
        return 1
    return 0


def _load(path):
    """Loads a .keras file, or raises ValueError with a one-line reason."""
    import zipfile

    import keras

    import kerasdrop  # noqa: F401  (registers the layers for loading)
    from kerasdrop.apps import archives

    if not os.path.exists(path):
        raise ValueError(f"Model file '{path}' does not exist.")
    if os.path.isdir(path) or not str(path).endswith(".keras"):
        raise ValueError(f"Expected a Keras v3 `.keras` file. Received: '{path}'")
    try:
        with open(path, "rb"):
            pass
    except OSError as err:
        raise ValueError(
            f"Could not load '{path}': cannot read it ({err.strerror or err})."
        ) from err
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"Could not load '{path}': the model file is corrupt or not a "
            "`.keras` model (a `.keras` file is a zip archive; this one is "
            "not, or is truncated)."
        )
    archives.check_unpack_size(path)  # before Keras unpacks anything
    try:
        return keras.saving.load_model(path)
    except Exception as err:  # corrupt member, unknown custom layer, ...
        raise ValueError(
            f"Could not load '{path}': the model file is corrupt or "
            f"unreadable ({type(err).__name__}: {err})"
        ) from err


def _export_format(args):
    """--format, or the format OUT's suffix names; refuses a mismatch."""
    from kerasdrop.serving import SUFFIX_FORMATS

    suffix = os.path.splitext(args.out)[1]
    implied = SUFFIX_FORMATS.get(suffix.lower())
    if args.format is None:
        return implied  # None: the backend's serving format
    if implied is not None and implied != args.format:
        raise _checks.invalid_value(
            "--format",
            f"OUT ends in '{suffix}', which is for --format {implied}.",
            f"--format {args.format} with OUT={args.out!r}",
        )
    return args.format


def _written_format(target):
    """The format of a written artifact, from its name."""
    from kerasdrop.serving import SUFFIX_FORMATS

    return SUFFIX_FORMATS.get(target.suffix.lower(), "tf_saved_model")


def export_command(args, out=None):
    """`kerasdrop export`: checks, loads, exports, prints where."""
    from kerasdrop.serving import artifacts
    from kerasdrop.serving import export

    format = _export_format(args)
    target = artifacts.as_path(args.out, name="OUT")
    if args.version is not None:
        target = target / str(args.version)
    artifacts.check_not_input(target, [args.model], received=args.out)
    model = _load(args.model)
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always", UserWarning)
        target = export(
            model,
            args.out,
            mc_samples=args.mc_samples,
            version=args.version,
            overwrite=args.overwrite,
            format=format,
        )
    _print_notes(notes)
    format = format or _written_format(target)
    extra = (
        f" with an `mc` signature ({args.mc_samples} samples)"
        if (args.mc_samples)
        else ""
    )
    print(
        f"Exported '{args.model}' ({format}){extra} to '{target}'; verified.",
        file=out or sys.stdout,
    )


def _print_notes(notes):
    """`export`'s own warnings (the backend's format chosen) as lines in
    flags; any other warning as Python shows it."""
    for note in notes:
        text = str(note.message)
        if text.startswith("kerasdrop.export: "):
            text = _in_flags(text.removeprefix("kerasdrop.export: "))
            print(f"kerasdrop export: note: {text}", file=sys.stderr)
        else:
            warnings.showwarning(
                note.message, note.category, note.filename, note.lineno
            )


#: How export's keyword arguments are spelled on the command line.
_EXPORT_FLAGS = {
    "overwrite": "--overwrite",
    "mc_samples": "--mc-samples",
    "version": "--version",
    "format": "--format",
    "path": "OUT",
    "model": "MODEL",
}


def _in_flags(message):
    """An error of `kerasdrop.export` with its keyword arguments as flags."""
    message = message.replace("`overwrite=True`", "`--overwrite`")
    message = re.sub(r"(?<![\w-])format='(\w+)'", r"--format \1", message)
    for keyword, flag in _EXPORT_FLAGS.items():
        message = message.replace(f"argument `{keyword}`", f"argument `{flag}`")
        message = re.sub(rf"(?<![\w-]){keyword}=", f"{flag}=", message)
    return message


def inspect_command(args, out=None):
    """`kerasdrop inspect`: the dropout layers of a `.keras` file."""
    from kerasdrop.inspection import format_summary

    print(format_summary(_load(args.model)), file=out or sys.stdout)


def _uci_out(out):
    """`--out` of `kerasdrop uci`: a folder or a path that is none yet."""
    from pathlib import Path

    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise _checks.invalid_value(
            "--out", "Expected a folder.", f"--out={out!r} (a file)"
        )


def uci_command(args):
    """`kerasdrop uci`: runs, prints the table, writes files with --out."""
    from kerasdrop.apps import uci

    folders = uci.select(args.data, args.datasets)
    _uci_out(args.out)
    results = uci.run(
        folders,
        mode=args.mode,
        splits=args.splits,
        epochs=args.epochs,
        samples=args.samples,
        rate=args.rate,
        tau=args.tau,
        seed=args.seed,
        jobs=args.jobs,
        batch_size=uci.BATCH_SIZE if args.batch_size is None else args.batch_size,
        log=lambda line: print(line, flush=True),
    )
    print(uci.markdown_table(results))
    if args.out is not None:
        written = uci.write(results, args.out, "kerasdrop " + " ".join(sys.argv[1:]))
        print(f"Wrote {written / 'uci.json'} and {written / 'uci.md'}")


#: The handlers whose errors `main` prints as one line (exit status 1).
COMMANDS = {"export": export_command, "inspect": inspect_command, "uci": uci_command}


def main(argv=None):
    """Runs the `kerasdrop` command; returns its exit status."""
    # TensorFlow's C++ start-up notices (oneDNN, CUDA probing) bury the
    # command's own output; a value the user set wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "demo":
        return demo_command(args)
    try:
        COMMANDS[args.command](args)
    except (ValueError, TypeError, ImportError) as err:
        message = _in_flags(str(err)) if args.command == "export" else err
        print(f"kerasdrop {args.command}: error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
