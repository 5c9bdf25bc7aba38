"""MC dropout prediction speed and memory (TF, CPU), four figures in one run.

1. `kerasdrop.mc.predict(model, x, samples=T)` vs what peers do, a loop of
   T `model.predict(x)` calls with dropout switched on (target >= 20x), at
   several input counts (the loop pays Keras' per-call overhead T times).
2. vs the compute limit: T compiled inference passes of the same model on
   the same batches (a `tf.function` forward called T times per batch, no
   Python data handling; target mc / limit <= 1.2).
3. A model whose only dropout sits before the classifier head:
   `mc.predict` T=100 vs one `model.predict` (target <= 3x), with and
   without prefix reuse; a CNN (conv trunk, 128 pooled features) and, as the
   worst case, an MLP with a 512-wide sampled layer.
4. Peak memory of T=1000 vs T=10 on the same data (target <= 2x): each in a
   fresh subprocess, peak RSS of the whole process during the call
   (VmHWM after resetting it) and its growth over the RSS before the call;
   next to them, what stacking all T outputs would need.
Timed variants alternate in one process (protocol of `_timing.py`).

Run:  python benchmarks/mc_predict.py [--reps 7] [--threads 1] [--samples 100]
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _timing import alternate, machine, set_threads, summarize  # noqa: E402

import kerasdrop  # noqa: E402
from kerasdrop import layers as L  # noqa: E402

HERE = Path(__file__).parent


def mlp(rate=0.2):
    """Digits-sized MLP, dropout after each hidden layer."""
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(256, activation="relu"),
            L.Dropout(rate),
            keras.layers.Dense(256, activation="relu"),
            L.Dropout(rate),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def head_only(kind, rate=0.2):
    """Only dropout: before the classifier head.

    "cnn": conv trunk on 32x32x3 images -> GlobalAveragePooling (128
    features) -> Dropout -> Dense(10), the usual place of dropout in a CNN.
    "mlp": 3 x Dense(512) trunk -> Dropout -> Dense(10), the worst case for
    sampling: a cheap trunk and a wide (512) sampled layer.
    """
    keras.utils.set_random_seed(0)
    if kind == "cnn":
        trunk = [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(128, 3, strides=2, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
        ]
    else:
        trunk = [keras.Input((64,))] + [
            keras.layers.Dense(512, activation="relu") for _ in range(3)
        ]
    return keras.Sequential(
        trunk + [L.Dropout(rate), keras.layers.Dense(10, activation="softmax")]
    )


def speed(args):
    import tensorflow as tf

    T = args.samples
    x = np.random.default_rng(0).normal(size=(args.rows, 64)).astype("float32")
    model = mlp()
    batch = args.batch_size

    forward = tf.function(lambda b: model(b, training=False))
    with kerasdrop.mc.sampling(model):
        forward.get_concrete_function(tf.TensorSpec((batch, 64), tf.float32))
    batches = [tf.constant(x[i : i + batch]) for i in range(0, len(x), batch)]

    def limit():  # T compiled passes per batch, nothing else
        out = None
        for b in batches:
            for _ in range(T):
                out = forward(b)
        return np.asarray(out)

    def ours():
        return kerasdrop.mc.predict(model, x, samples=T, batch_size=batch, verbose=0)

    runs = {"mc_predict": ours, "compiled_passes": limit}
    times = alternate(runs, args.reps)
    result = summarize(times, "compiled_passes")
    # The peer loop (T model.predict calls with dropout on) is slow: fewer
    # repetitions, alternated with mc.predict on the same inputs. Its cost
    # is T x (Keras' per-call overhead + compute), so the speed-up depends
    # on the number of inputs: measured at several sizes.
    peer = {}
    for rows in args.peer_rows:
        px = np.random.default_rng(2).normal(size=(rows, 64)).astype("float32")

        def peers(px=px):
            with kerasdrop.mc.sampling(model):
                return [
                    model.predict(px, batch_size=batch, verbose=0) for _ in range(T)
                ]

        def ours_px(px=px):
            return kerasdrop.mc.predict(
                model, px, samples=T, batch_size=batch, verbose=0
            )

        summary = summarize(
            alternate(
                {"predict_loop": peers, "mc_predict": ours_px}, max(3, args.reps // 2)
            ),
            "mc_predict",
        )
        peer[f"rows={rows}"] = {
            "median_s": summary["median_s"],
            "speedup": summary["paired_ratio_to_mc_predict"]["predict_loop"],
        }
    heads = {}
    for kind, shape in (("cnn", (32, 32, 3)), ("mlp", (64,))):
        head = head_only(kind)
        head_x = (
            np.random.default_rng(1).normal(size=(args.rows,) + shape).astype("float32")
        )
        runs = {
            "one_predict": lambda h=head, hx=head_x: h.predict(
                hx, batch_size=batch, verbose=0
            ),
            "mc_predict": lambda h=head, hx=head_x: kerasdrop.mc.predict(
                h, hx, samples=T, batch_size=batch, verbose=0
            ),
            "mc_predict_no_reuse": lambda h=head, hx=head_x: kerasdrop.mc.predict(
                h, hx, samples=T, batch_size=batch, verbose=0, reuse_prefix=False
            ),
        }
        summary = summarize(alternate(runs, args.reps), "one_predict")
        ratios = summary["paired_ratio_to_one_predict"]
        heads[kind] = {
            "median_s": summary["median_s"],
            "ratio": ratios["mc_predict"],
            "ratio_without_prefix_reuse": ratios["mc_predict_no_reuse"],
        }
    return {
        "samples": T,
        "rows": args.rows,
        "batch_size": batch,
        "vs_predict_loop": {**peer, "target": ">= 20"},
        "vs_compute_limit": {
            "median_s": result["median_s"],
            "ratio": result["paired_ratio_to_compiled_passes"]["mc_predict"],
            "target": "<= 1.2",
        },
        "head_only_dropout": {**heads, "target": "<= 3 (cnn)"},
    }


def memory_child(samples, rows, batch):
    """Runs in a subprocess: peak RSS of one mc.predict call."""
    set_threads(1)
    x = np.random.default_rng(0).normal(size=(rows, 64)).astype("float32")
    model = mlp()
    kerasdrop.mc.predict(model, x[:batch], samples=2, batch_size=batch, verbose=0)
    # Reset the kernel's peak-RSS mark (VmHWM) so it covers this call only.
    Path("/proc/self/clear_refs").write_text("5")
    before = _status("VmRSS")
    kerasdrop.mc.predict(model, x, samples=samples, batch_size=batch, verbose=0)
    peak = _status("VmHWM")
    print(
        json.dumps({"peak_rss_mib": peak / 1024, "growth_mib": (peak - before) / 1024})
    )


def _status(key):
    """A /proc/self/status field in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def memory(args):
    out = {}
    for samples in (10, 1000):
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--memory-child",
                str(samples),
                "--mem-rows",
                str(args.mem_rows),
                "--batch-size",
                str(args.batch_size),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        out[f"T={samples}"] = json.loads(proc.stdout.strip().splitlines()[-1])
    stacked = 1000 * args.mem_rows * 10 * 4 / 2**20
    return {
        "rows": args.mem_rows,
        "runs": out,
        "peak_ratio_T1000_over_T10": out["T=1000"]["peak_rss_mib"]
        / out["T=10"]["peak_rss_mib"],
        "stacking_all_T1000_outputs_would_need_mib": stacked,
        "target": "<= 2",
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--rows", type=int, default=1024)
    parser.add_argument(
        "--peer-rows",
        type=lambda t: [int(v) for v in t.split(",")],
        default=[256, 1024, 4096],
        help="input counts for the peer-loop comparison",
    )
    parser.add_argument("--mem-rows", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--threads", type=int, default=1, help="TF threads (0: default)"
    )
    parser.add_argument(
        "--memory-child", type=int, default=None, help=argparse.SUPPRESS
    )
    parser.add_argument("--out", default=str(HERE / "results" / "mc_predict.json"))
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.mem_rows, args.batch_size)
        return
    set_threads(args.threads)
    result = {
        "command": "python benchmarks/mc_predict.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(args.threads),
        "speed": speed(args),
        "memory": memory(args),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    s, m = result["speed"], result["memory"]
    for key, value in s["vs_predict_loop"].items():
        if key.startswith("rows="):
            print(
                f"vs predict loop ({key}): {value['speedup']:.1f}x faster "
                "(target >= 20)"
            )
    print(f"vs compute limit: {s['vs_compute_limit']['ratio']:.3f} (target <= 1.2)")
    for kind in ("cnn", "mlp"):
        h = s["head_only_dropout"][kind]
        print(
            f"head-only dropout ({kind}), T={s['samples']} vs one predict: "
            f"{h['ratio']:.2f}x "
            f"(no prefix reuse: {h['ratio_without_prefix_reuse']:.2f}x; "
            "target <= 3 for cnn)"
        )
    print(
        f"peak RSS T=1000 / T=10: {m['peak_ratio_T1000_over_T10']:.3f} (target <= 2); "
        f"{json.dumps(m['runs'])}"
    )


if __name__ == "__main__":
    main()
