"""What benchmarks/tables.py, charts.py and readings.py share: where the
results live and how a figure is read from them."""

import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"

#: The active-learning benchmark's strategies: the order it runs them in,
#: and of its table and chart.
ACTIVE_STRATEGIES = (
    "random",
    "entropy",
    "variation_ratio",
    "mean_std",
    "bald",
    "batch_bald",
    "power_bald",
)


#: The stochastic-depth benchmark's networks, in table order, with labels.
DEPTH_NETS = (
    ("cnn", "residual CNN, 16 blocks"),
    ("transformer", "transformer encoder, 12 blocks"),
    ("convnext", "keras.applications ConvNeXt (rewritten)"),
)


def depth_rows(r):
    """`(backend, net key, label, net result)` of every timed network."""
    return [
        (backend, key, label, run["nets"][key])
        for backend, run in r["runs"].items()
        if "nets" in run  # not "parity" or "conv_in_cond"
        for key, label in DEPTH_NETS
        if key in run["nets"]
    ]


def load(name):
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def pct(x):
    return f"{100 * x:+.1f}%"


CONNECT_NETS = {
    "mlp": "MLP, 2 x DropConnect(Dense(256))",
    "cnn": "CNN, 2 x DropConnect(Conv2D)",
}


def connect_rows(r):
    """`(backend, net label, ratios)` of drop_connect.json, ratios to the T
    compiled passes without DropConnect: `mc_predict` and `looped_before`."""
    rows = []
    for backend, run in r["backends"].items():
        for kind, label in CONNECT_NETS.items():
            if kind in run["nets"]:
                ratios = run["nets"][kind]["paired_ratio_to_compiled_passes"]
                rows.append((backend, label, ratios))
    return rows
