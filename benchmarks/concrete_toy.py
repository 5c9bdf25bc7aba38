"""The Concrete Dropout reference toy experiment (Gal, Hron & Kendall 2017).

y = 2x + 8 + N(0, 1), x ~ N(0, 1). Three Dense(1024, relu) layers plus mean
and log-variance heads, every Dense wrapped in ConcreteDropout, the
heteroscedastic Gaussian loss, Adam, batch 20; N in {10, 25, 50, 100, 1000,
10000} trained for {2000, 1000, 500, 200, 20, 2} epochs; regularizers from
`concrete_regularizers(N, length_scale=1e-4)` (the reference's l^2/N, 2/N).
Records the learned p of every layer, and the epistemic (std of the MC mean
over T=20 samples) and aleatoric (mean predicted sigma) uncertainty on 1000
fresh inputs. The reference reports hidden p falling from ~0.40 (N=10) to
~0.13 (N=10000) with the input layer's p near 0.07.

Run:  python benchmarks/concrete_toy.py [--quick]
          [--out benchmarks/results/concrete_toy.json]
Writes the JSON and a PNG plot (p and uncertainty against N) beside it.
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

import kerasdrop  # noqa: E402
from kerasdrop.layers import ConcreteDropout, concrete_regularizers  # noqa: E402

SIZES = (10, 25, 50, 100, 1000, 10000)
EPOCHS = (2000, 1000, 500, 200, 20, 2)
LAYERS = ("input", "hidden1", "hidden2", "mean", "log_var")


def data(n, rng):
    x = rng.normal(size=(n, 1)).astype("float32")
    return x, (2.0 * x + 8.0 + rng.normal(size=(n, 1))).astype("float32")


def heteroscedastic_loss(y_true, y_pred):
    mean, log_var = y_pred[:, :1], y_pred[:, 1:]
    return ops.mean(0.5 * ops.exp(-log_var) * ops.square(y_true - mean) + 0.5 * log_var)


def build(n, width):
    wr, dr = concrete_regularizers(n, length_scale=1e-4)

    def wrap(units, name, activation=None):
        return ConcreteDropout(
            keras.layers.Dense(units, activation=activation),
            weight_regularizer=wr,
            dropout_regularizer=dr,
            name=name,
        )

    inputs = keras.Input((1,))
    h = wrap(width, "input", "relu")(inputs)
    h = wrap(width, "hidden1", "relu")(h)
    h = wrap(width, "hidden2", "relu")(h)
    out = keras.layers.Concatenate()([wrap(1, "mean")(h), wrap(1, "log_var")(h)])
    model = keras.Model(inputs, out)
    model.compile(keras.optimizers.Adam(), heteroscedastic_loss)
    return model


def run(sizes, epochs, width, seed, samples=20):
    rows = []
    for n, n_epochs in zip(sizes, epochs):
        keras.utils.set_random_seed(seed)
        rng = np.random.default_rng(seed)
        x, y = data(n, rng)
        model = build(n, width)
        start = time.perf_counter()
        model.fit(x, y, batch_size=20, epochs=n_epochs, verbose=0)
        seconds = time.perf_counter() - start
        x_test, _ = data(1000, rng)
        # MC: Concrete layers active (no BatchNorm here, so training=True is
        # exactly "dropout on").
        preds = np.stack(
            [
                np.asarray(ops.convert_to_numpy(model(x_test, training=True)))
                for _ in range(samples)
            ]
        )
        epistemic = float(preds[:, :, 0].std(axis=0).mean())
        aleatoric = float(np.sqrt(np.exp(preds[:, :, 1])).mean())
        p = {name: model.get_layer(name).rate for name in LAYERS}
        rows.append(
            {
                "N": n,
                "epochs": n_epochs,
                "p": p,
                "epistemic_std": epistemic,
                "aleatoric_std": aleatoric,
                "train_seconds": seconds,
            }
        )
        print(
            f"N={n:6d} epochs={n_epochs:5d}  "
            + "  ".join(f"{k}={v:.3f}" for k, v in p.items())
            + f"  epistemic={epistemic:.3f} aleatoric={aleatoric:.3f} ({seconds:.0f}s)",
            flush=True,
        )
    return rows


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = [r["N"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for name in LAYERS:
        ax1.plot(ns, [r["p"][name] for r in rows], marker="o", label=name)
    ax1.set(
        xscale="log",
        xlabel="N (training points)",
        ylabel="learned p",
        title="Concrete Dropout: learned rate against N",
    )
    ax1.legend()
    ax2.plot(ns, [r["epistemic_std"] for r in rows], marker="o", label="epistemic std")
    ax2.plot(ns, [r["aleatoric_std"] for r in rows], marker="o", label="aleatoric std")
    ax2.axhline(1.0, color="grey", linestyle=":", label="true noise std")
    ax2.set(
        xscale="log",
        xlabel="N (training points)",
        ylabel="std",
        title="Uncertainty against N",
    )
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="width 64 and a tenth of the epochs (a smoke run)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "concrete_toy.json")
    )
    args = parser.parse_args(argv)
    width = 64 if args.quick else 1024
    epochs = [max(1, e // 10) for e in EPOCHS] if args.quick else list(EPOCHS)
    rows = run(SIZES, epochs, width, args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "concrete_toy",
        "command": "python benchmarks/concrete_toy.py"
        + (" --quick" if args.quick else ""),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "kerasdrop": kerasdrop.__version__,
        "width": width,
        "seed": args.seed,
        "reference": {"hidden_p_N10": 0.40, "hidden_p_N10000": 0.13, "input_p": 0.07},
        "rows": rows,
    }
    out.write_text(json.dumps(result, indent=2))
    plot(rows, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
