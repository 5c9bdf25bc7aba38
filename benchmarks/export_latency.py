"""Serving latency of exported SavedModels: stripped vs a dropout-free twin vs
unstripped MC.

An MLP (784 -> 3 x Dense(512, relu) -> Dense(10)) with kerasdrop MC dropout
(`mc=True`) after each hidden layer is exported three ways and reloaded
with `tf.saved_model.load`; the `serving_default` signature is timed at
batch 1 and 256, TF backend on CPU, with the protocol of `_timing.py`
(alternated in one process, headline: median of per-repetition paired
ratios):

    stripped   kerasdrop.export(model)             (dropout removed)
    twin       the same MLP built without dropout layers, same weights,
               exported with Keras' model.export
    unstripped the MC model exported as-is with Keras' model.export
               (its dropout keeps sampling at serving time)

    ratio stripped / twin       (target <= 1.02)
    ratio unstripped / stripped (what stripping saves)

Run:  python benchmarks/export_latency.py [--reps 21] [--threads 1]
"""

import argparse
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _timing import alternate, machine, set_threads, summarize  # noqa: E402

import kerasdrop  # noqa: E402

WIDTH, DEPTH = 512, 3


def mlp(with_dropout):
    layers = [keras.Input((784,), name="x")]
    for i in range(DEPTH):
        layers.append(keras.layers.Dense(WIDTH, activation="relu", name=f"d{i}"))
        if with_dropout:
            layers.append(kerasdrop.layers.Dropout(0.3, seed=i, mc=True))
    layers.append(keras.layers.Dense(10, name="out"))
    return keras.Sequential(layers)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=21)
    parser.add_argument(
        "--calls", type=int, default=200, help="calls per timed run at batch 1"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="TF threads (0: default)"
    )
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "export_latency.json")
    )
    args = parser.parse_args(argv)
    set_threads(args.threads)
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = mlp(True)
    twin = mlp(False)
    for i in range(DEPTH):
        twin.get_layer(f"d{i}").set_weights(model.get_layer(f"d{i}").get_weights())
    twin.get_layer("out").set_weights(model.get_layer("out").get_weights())

    tmp = Path(tempfile.mkdtemp(prefix="kerasdrop-export-bench-"))
    kerasdrop.export(model, tmp / "stripped")
    twin.export(str(tmp / "twin"), verbose=False)
    model.export(str(tmp / "unstripped"), verbose=False)
    serving = {
        name: tf.saved_model.load(str(tmp / name)).signatures["serving_default"]
        for name in ("stripped", "twin", "unstripped")
    }
    rng = np.random.default_rng(0)
    results = {
        "benchmark": "export_latency",
        "command": f"python benchmarks/export_latency.py --reps {args.reps} "
        f"--calls {args.calls} --threads {args.threads}",
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "kerasdrop": kerasdrop.__version__,
        "machine": machine(args.threads),
        "model": f"MLP 784 -> {DEPTH} x Dense({WIDTH}, relu) [+ MC Dropout(0.3)] "
        "-> Dense(10)",
        "reps": args.reps,
        "target": "paired ratio stripped / twin <= 1.02",
    }
    for batch, calls in ((1, args.calls), (256, max(1, args.calls // 4))):
        x = tf.constant(rng.normal(size=(batch, 784)).astype("float32"))
        check = {name: fn(x=x)["output_0"].numpy() for name, fn in serving.items()}
        np.testing.assert_allclose(
            check["stripped"], check["twin"], rtol=1e-5, atol=1e-5
        )

        def run(fn, x=x, calls=calls):
            for _ in range(calls):
                fn(x=x)

        runs = {name: (lambda fn=fn: run(fn)) for name, fn in serving.items()}
        r = summarize(alternate(runs, args.reps), "twin")
        paired = r["paired_ratio_to_twin"]
        r.update(
            calls_per_run=calls,
            latency_ms_median={k: 1e3 * v / calls for k, v in r["median_s"].items()},
            ratio_stripped_over_twin=paired["stripped"],
            ratio_unstripped_over_stripped=paired["unstripped"] / paired["stripped"],
        )
        results[f"batch_{batch}"] = r
        lat = r["latency_ms_median"]
        print(
            f"batch {batch:3d}: latency (ms/call, median) "
            f"stripped {lat['stripped']:.3f} "
            f"twin {lat['twin']:.3f} unstripped {lat['unstripped']:.3f} | paired ratio "
            f"stripped/twin {r['ratio_stripped_over_twin']:.3f} "
            f"unstripped/stripped {r['ratio_unstripped_over_stripped']:.3f}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")
    return results


if __name__ == "__main__":
    main()
