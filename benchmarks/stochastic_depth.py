"""Train-step time of stochastic depth that skips the dropped branch.

Three residual networks, each trained for one epoch per repetition in three
variants, alternated in one process with the protocol of `_timing.py`
(headline: median of per-repetition paired ratios to "none"):

    none        x + f(x): no drop path (the same network and weights layout)
    per_sample  x + DropPath(r)(f(x)): computes f for every example, then
                zeroes the dropped ones (what Keras, keras-hub and timm do)
    skip        kerasdrop.layers.SkipResidual(f, r): one draw per batch
                decides whether f runs (`ops.cond`); a dropped branch costs
                neither its forward nor its backward pass

The rates follow the linear rule with p_L = 0.5 (Huang et al. 2016):
`depth_rates(0.5, n)`, 0 for the first block, 0.5 for the last. Networks:

    cnn          16 residual blocks Conv3x3-ReLU-Conv3x3, 32 channels,
                 16x16 inputs, batch 32
    transformer  12 pre-LN encoder blocks (attention and MLP residuals,
                 each with the block's rate, as timm does), width 64,
                 4 heads, 64 tokens, batch 32
    convnext     keras.applications' ConvNeXt (the Tiny depths [3, 3, 9, 3],
                 widths quartered, `weights=None`, 32x32 inputs, batch 16)
                 with its own `StochasticDepth`, drop_path_rate 0.5 ("none":
                 drop_path_rate 0); "skip" is that model rewritten by
                 `kerasdrop.graph.skip_compute` (TensorFlow only: its
                 LayerScale and StochasticDepth layers are built per
                 backend alike, but one backend keeps the run short)

`--parity` trains a residual MLP (8 blocks, rates linear to 0.5) on the
digits data set bundled with scikit-learn for 5 seeds with per-sample and
with skipping drop path, and reports the final validation losses: mean,
standard error, and whether they agree within 2 standard errors of the
difference.

Run:  python benchmarks/stochastic_depth.py [--reps 7] [--nets cnn ...]
      KERAS_BACKEND=jax python benchmarks/stochastic_depth.py --nets cnn transformer
      python benchmarks/stochastic_depth.py --parity
      KERAS_BACKEND=jax python benchmarks/stochastic_depth.py --conv-in-cond
Results are merged into benchmarks/results/stochastic_depth.json, under
the backend's name (or "parity").
"""

import argparse
import json
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _timing import alternate, machine, set_threads, summarize  # noqa: E402

import kerasdrop  # noqa: E402
from kerasdrop import _keras  # noqa: E402
from kerasdrop.layers.drop_path import depth_rates  # noqa: E402

HERE = Path(__file__).parent
OUT = HERE / "results" / "stochastic_depth.json"
MAX_RATE = 0.5
VARIANTS = ("none", "per_sample", "skip")
#: The runs the committed results come from (each run also records its own).
COMMANDS = "\n".join(
    (
        "python benchmarks/stochastic_depth.py --reps 7",
        "KERAS_BACKEND=jax python benchmarks/stochastic_depth.py "
        "--nets cnn transformer --reps 3",
        "python benchmarks/stochastic_depth.py --parity",
        "KERAS_BACKEND=jax python benchmarks/stochastic_depth.py --conv-in-cond",
    )
)


def residual(x, branch, rate, variant):
    """`x + f(x)` in the variant's form."""
    if variant == "skip":
        return kerasdrop.layers.SkipResidual(branch, rate)(x)
    y = branch(x)
    if variant == "per_sample":
        y = kerasdrop.layers.DropPath(rate)(y)
    return keras.layers.Add()([x, y])


def conv_branch(shape):
    inputs = keras.Input(shape)
    h = keras.layers.Conv2D(shape[-1], 3, padding="same", activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Conv2D(shape[-1], 3, padding="same")(h))


def cnn(variant, blocks=16, shape=(16, 16, 32)):
    inputs = keras.Input(shape[:2] + (3,))
    h = keras.layers.Conv2D(shape[-1], 3, padding="same")(inputs)
    for rate in depth_rates(MAX_RATE, blocks):
        h = residual(h, conv_branch(shape), rate, variant)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(10)(h))


def attention_branch(shape, heads=4):
    inputs = keras.Input(shape)
    h = keras.layers.LayerNormalization()(inputs)
    h = keras.layers.MultiHeadAttention(heads, shape[-1] // heads)(h, h)
    return keras.Model(inputs, h)


def mlp_branch(shape):
    inputs = keras.Input(shape)
    h = keras.layers.LayerNormalization()(inputs)
    h = keras.layers.Dense(4 * shape[-1], activation="gelu")(h)
    return keras.Model(inputs, keras.layers.Dense(shape[-1])(h))


def transformer(variant, blocks=12, shape=(64, 64)):
    inputs = keras.Input(shape[:1] + (8,))
    h = keras.layers.Dense(shape[-1])(inputs)
    for rate in depth_rates(MAX_RATE, blocks):
        h = residual(h, attention_branch(shape), rate, variant)
        h = residual(h, mlp_branch(shape), rate, variant)
    h = keras.layers.GlobalAveragePooling1D()(keras.layers.LayerNormalization()(h))
    return keras.Model(inputs, keras.layers.Dense(10)(h))


def convnext(variant):
    rate = 0.0 if variant == "none" else MAX_RATE
    model = _keras.convnext(
        depths=[3, 3, 9, 3],
        projection_dims=[24, 48, 96, 192],
        drop_path_rate=rate,
        default_size=32,
        input_shape=(32, 32, 3),
        classes=10,
        weights=None,
        name=f"convnext_{variant}",
    )
    return kerasdrop.graph.skip_compute(model) if variant == "skip" else model


#: name -> (builder, input shape, batch, steps per epoch)
NETS = {
    "cnn": (cnn, (16, 16, 3), 32, 8),
    "transformer": (transformer, (64, 8), 32, 8),
    "convnext": (convnext, (32, 32, 3), 16, 8),
}


def compiled(model):
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def time_net(name, reps):
    build, shape, batch, steps = NETS[name]
    rng = np.random.default_rng(0)
    x = rng.random((batch * steps,) + shape).astype("float32")
    y = rng.integers(0, 10, batch * steps)
    models = {v: compiled(build(v)) for v in VARIANTS}
    cpu = {v: [] for v in VARIANTS}

    def run(v):
        start = time.process_time()
        models[v].fit(x, y, batch_size=batch, epochs=1, verbose=0)
        cpu[v].append(time.process_time() - start)

    result = summarize(alternate({v: partial(run, v) for v in VARIANTS}, reps), "none")
    # The process's CPU seconds, warm-up left out: immune to the stalls of
    # a shared machine, which stretch wall time in steps of whole seconds.
    result["cpu"] = summarize({v: t[1:] for v, t in cpu.items()}, "none")
    result["cpu"]["saving_vs_none"] = {
        v: 1.0 - r for v, r in result["cpu"]["paired_ratio_to_none"].items()
    }
    result["setup"] = {"input": list(shape), "batch": batch, "steps": steps}
    result["saving_vs_none"] = {
        v: 1.0 - r for v, r in result["paired_ratio_to_none"].items()
    }
    return result


def parity_model(variant, seed, blocks=8, width=64):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((64,))
    h = keras.layers.Dense(width, activation="relu")(inputs)
    for rate in depth_rates(MAX_RATE, blocks):
        branch = keras.Sequential(
            [
                keras.Input((width,)),
                keras.layers.Dense(width, activation="relu"),
                keras.layers.Dense(width),
            ]
        )
        h = residual(h, branch, rate, variant)
    return compiled(keras.Model(inputs, keras.layers.Dense(10)(h)))


def parity(seeds=5, epochs=30):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    losses = {}
    for variant in ("per_sample", "skip"):
        losses[variant] = []
        for seed in range(seeds):
            model = parity_model(variant, seed)
            history = model.fit(
                x[:split],
                y[:split],
                batch_size=32,
                epochs=epochs,
                validation_data=(x[split:], y[split:]),
                verbose=0,
            )
            losses[variant].append(float(history.history["val_loss"][-1]))
    return parity_summary(losses, epochs)


def parity_summary(losses, epochs):
    def se(v):
        return statistics.stdev(v) / len(v) ** 0.5

    a, b = losses["per_sample"], losses["skip"]
    diff = statistics.mean(b) - statistics.mean(a)
    se_diff = (se(a) ** 2 + se(b) ** 2) ** 0.5
    return {
        "task": "sklearn digits, 80/20 split, residual MLP 8x64, batch 32",
        "epochs": epochs,
        "val_loss": losses,
        "mean": {k: statistics.mean(v) for k, v in losses.items()},
        "se": {k: se(v) for k, v in losses.items()},
        "difference": diff,
        "se_difference": se_diff,
        "within_2_se": abs(diff) <= 2 * se_diff,
    }


def conv_in_cond(reps):
    """JAX only: milliseconds of a 3x3 Conv2D (32x16x16x32, NHWC) forward,
    kernel gradient and input gradient, plain and inside `lax.cond` (why
    `SkipResidual` selects instead of skipping a convolutional branch on
    JAX on CPU: jax-ml/jax#12868)."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.random((32, 16, 16, 32), "float32"))
    k = jnp.asarray(0.1 * rng.random((3, 3, 32, 32), "float32"))

    def conv(x, k):
        return jax.lax.conv_general_dilated(
            x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )

    forms = {
        "plain": lambda x, k: jnp.sum(x + conv(x, k)),
        "in_cond": lambda x, k: jnp.sum(
            jax.lax.cond(jnp.sum(k) > -1.0, lambda: x + conv(x, k), lambda: x)
        ),
    }
    result = {}
    for form, f in forms.items():
        for part, g in (
            ("forward", f),
            ("kernel_grad", jax.grad(f, argnums=1)),
            ("input_grad", jax.grad(f, argnums=0)),
        ):
            g = jax.jit(g)
            jax.block_until_ready(g(x, k))
            times = []
            for _ in range(reps):
                start = time.perf_counter()
                jax.block_until_ready(g(x, k))
                times.append(time.perf_counter() - start)
            result.setdefault(part, {})[form] = 1000 * float(np.median(times))
    return {
        part: {**ms, "ratio": ms["in_cond"] / ms["plain"]}
        for part, ms in result.items()
    }


def merge(key, value, path=OUT):
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault("benchmark", "stochastic_depth")
    data["command"] = COMMANDS
    data.setdefault("runs", {})[key] = value
    path.write_text(json.dumps(data, indent=2) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--nets", nargs="+", choices=sorted(NETS), default=list(NETS))
    parser.add_argument("--parity", action="store_true")
    parser.add_argument("--conv-in-cond", action="store_true")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    command = " ".join(
        ["python benchmarks/stochastic_depth.py", *(argv or sys.argv[1:])]
    )
    if args.parity:
        result = {"command": command, **parity()}
        merge("parity", result)
        print(json.dumps({k: result[k] for k in ("mean", "se", "within_2_se")}))
        return
    if args.conv_in_cond:
        result = {"command": command, "ms": conv_in_cond(max(args.reps, 5))}
        merge("conv_in_cond", result)
        print(json.dumps(result["ms"]))
        return
    backend = keras.backend.backend()
    result = {"command": command, "machine": machine(args.threads), "nets": {}}
    for name in args.nets:
        result["nets"][name] = time_net(name, args.reps)
        for v, s in result["nets"][name]["saving_vs_none"].items():
            median = result["nets"][name]["median_s"][v]
            cpu = result["nets"][name]["cpu"]["saving_vs_none"][v]
            print(
                f"{backend} {name:12s} {v:11s} {median:.3f} s  saving {s:+.1%}"
                f"  (CPU time: {cpu:+.1%})"
            )
    merge(backend, result)


if __name__ == "__main__":
    main()
