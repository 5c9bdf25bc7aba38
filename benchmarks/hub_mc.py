"""MC dropout on a converted keras-hub classifier (TF, CPU), two figures.

1. `kerasdrop.mc.predict(converted, x, samples=T, task="logits")` vs what
   users write today, a loop of T `model(x, training=True)` calls (which
   also puts every other layer in training mode), at 256 inputs: speed ratio
   (target >= 10x) and peak RSS growth of each.
2. The same classifier with dropout only in its head (backbone built with
   dropout 0 and only `classifier_dropout` converted:
   `convert(model, layers="classifier_dropout")`): `mc.predict` T=50 vs one
   `model.predict` (target <= 1.5x): the backbone is the deterministic
   prefix and runs once per batch.
3. The compute floor beside them: T compiled inference passes
   (`predict_on_batch`, no mask drawing), and `mc.predict` on a copy whose
   keep-masks are constant (`constant_masks`, a diagnostic: the same
   graph without random draws), which splits `mc.predict`'s excess over
   the floor into drawing and everything else; and that copy once more
   with one sample per compiled call (`memory_budget=1`: 256-row calls,
   as the floor's, instead of all T samples of the batch, 12,800 rows, in
   one call), which splits the rest into the size of the calls and
   applying the masks.
Timed variants alternate in one process (protocol of `_timing.py`).

Run:  python benchmarks/hub_mc.py [--reps 5] [--threads 1] [--samples 50]
"""

import argparse
import contextlib
import json
import os
import resource
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _timing import alternate, machine, set_threads, summarize  # noqa: E402

import kerasdrop  # noqa: E402

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "tests" / "graph"))
import zoo  # noqa: E402


def classifier(backbone_dropout, layers=None):
    import keras_hub

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=50,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=16,
        dropout=backbone_dropout,
    )
    model = keras_hub.models.BertTextClassifier(
        backbone=backbone, num_classes=3, preprocessor=None, dropout=0.1
    )
    return kerasdrop.convert(model, layers=layers)


@contextlib.contextmanager
def constant_masks():
    """Diagnostic: every keep-mask traced inside is all-true (no draws)."""
    from keras import ops

    from kerasdrop.layers.base import DropoutBase

    original = DropoutBase.keep_mask

    def keep_all(layer, inputs, rate):
        return ops.greater_equal(ops.zeros(layer.mask_shape(inputs)), rate)

    DropoutBase.keep_mask = keep_all
    try:
        yield
    finally:
        DropoutBase.keep_mask = original


def peak_growth(fn):
    """Peak RSS (MiB) reached while `fn` runs, above the RSS before it."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fn()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (after - before) / 1024


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--inputs", type=int, default=256)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    T = args.samples
    x = zoo.bert_inputs(args.inputs)
    model = classifier(0.1)

    def mc_predict():
        kerasdrop.mc.predict(
            model, x, samples=T, task="logits", batch_size=256, verbose=0
        )

    def loop():
        for _ in range(T):
            np.asarray(model(x, training=True))

    def floor():
        for _ in range(T):
            model.predict_on_batch(x)

    drawless = classifier(0.1)

    def mc_constant_masks(**options):
        with constant_masks():
            kerasdrop.mc.predict(
                drawless,
                x,
                samples=T,
                task="logits",
                batch_size=256,
                verbose=0,
                **options,
            )

    def mc_constant_masks_one_per_call():
        mc_constant_masks(memory_budget=1)  # chunks of one sample

    # Compiled and traced first.
    mc_predict(), loop(), mc_constant_masks(), mc_constant_masks_one_per_call()
    memory = {"loop_mib": peak_growth(loop), "mc_predict_mib": peak_growth(mc_predict)}
    runs = {
        "mc_predict": mc_predict,
        "loop": loop,
        "compute_floor": floor,
        "mc_constant_masks": mc_constant_masks,
        "mc_constant_masks_one_per_call": mc_constant_masks_one_per_call,
    }
    speed = summarize(alternate(runs, args.reps), "mc_predict")

    head = classifier(0.0, layers="classifier_dropout")  # only the head samples

    def head_mc():
        kerasdrop.mc.predict(
            head, x, samples=T, task="logits", batch_size=256, verbose=0
        )

    def one_predict():
        head.predict(x, batch_size=256, verbose=0)

    prefix = summarize(
        alternate({"mc": head_mc, "predict": one_predict}, args.reps), "predict"
    )
    result = {
        "benchmark": "hub_mc",
        "command": " ".join(["python benchmarks/hub_mc.py"] + (argv or sys.argv[1:])),
        "model": "keras-hub BertTextClassifier, 2 layers, hidden 16, seq 16, converted",
        "samples": T,
        "inputs": args.inputs,
        "machine": machine(args.threads),
        "speedup_over_training_true_loop": speed["paired_ratio_to_mc_predict"]["loop"],
        "compute_floor_over_mc_predict": speed["paired_ratio_to_mc_predict"][
            "compute_floor"
        ],
        "constant_masks_over_mc_predict": speed["paired_ratio_to_mc_predict"][
            "mc_constant_masks"
        ],
        "constant_masks_one_per_call_over_mc_predict": speed[
            "paired_ratio_to_mc_predict"
        ]["mc_constant_masks_one_per_call"],
        "peak_rss_growth_mib": memory,
        "head_only_mc_over_one_predict": prefix["paired_ratio_to_predict"]["mc"],
        "targets": {"speedup": ">= 10", "head_only_ratio": "<= 1.5"},
        "speed": speed,
        "prefix": prefix,
    }
    out = HERE / "results" / "hub_mc.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(
        json.dumps(
            {k: v for k, v in result.items() if k not in ("speed", "prefix")}, indent=2
        )
    )


if __name__ == "__main__":
    main()
