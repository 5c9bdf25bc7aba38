"""What dropout a model holds: paths, kinds, live rates, schedules, MC flags,
whether kerasdrop reaches each one and why not, and warnings."""

import keras

from kerasdrop import graph
from kerasdrop.layers import base as base_lib


_REACH = {"kerasdrop": "yes", "convertible": "convert", "unreachable": "no"}


def dropout_summary(model):
    """One row per dropout-bearing layer of `model`, at any depth.

    Each row is a dict with `name`, `path` (layer names or attributes from
    the model down, as `kerasdrop.graph.find` reports them), `kind` (class
    name, `keras.` prefix for stock layers), `rate` (the live rate as text),
    `schedule` (repr or "-"), `step` (int or "-"), `mc` ("on", "off", or
    "n/a" for layers that cannot sample at inference), `learned` (bool),
    `reach` ("yes": kerasdrop drives it; "convert": `kerasdrop.convert`
    makes it a kerasdrop layer; "no") and `why` (the reason for "no").

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
    ...     kerasdrop.layers.Dropout(0.2, mc=True), keras.layers.Dropout(0.1)])
    >>> [(r["kind"], r["rate"], r["mc"], r["reach"])
    ...  for r in dropout_summary(model)]
    [('Dropout', '0.2', 'on', 'yes'), ('keras.Dropout', '0.1', 'n/a', 'convert')]
    """
    rows = []
    for site in graph.find(model):
        layer = site.layer
        row = {
            "name": layer.name,
            "path": site.path,
            "kind": site.kind,
            "rate": site.rate,
            "schedule": "-",
            "step": "-",
            "mc": "n/a",
            "learned": False,
            "reach": _REACH[site.status],
            "why": site.reason,
        }
        if isinstance(layer, base_lib.DropoutBase):
            row["schedule"] = (
                repr(layer.schedule)
                if layer.schedule is not None
                else ("learned" if layer.learned else "-")
            )
            row["step"] = layer.step if layer.schedule is not None else "-"
            row["mc"] = "on" if layer.mc else "off"
            row["learned"] = bool(layer.learned)
        rows.append(row)
    return rows


def variance_shift_warnings(model):
    """Messages for dropout layers whose output feeds a BatchNormalization.

    Dropout right before BatchNormalization shifts the variance BN sees
    between training and inference (Li et al., CVPR 2019, "Understanding
    the disharmony between dropout and batch normalization by variance
    shift"): BN's moving variance is learned on dropped activations and then
    applied to undropped ones.

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
    ...     kerasdrop.layers.Dropout(0.3, name="drop"),
    ...     keras.layers.BatchNormalization(name="bn")])
    >>> len(variance_shift_warnings(model))
    1
    """
    messages = []
    for layer in graph.all_layers(model):
        if not isinstance(layer, keras.layers.BatchNormalization):
            continue
        for tensor in graph.call_inputs(layer):
            found = graph.producer(tensor)
            source = found[0] if found is not None else None
            if source is None or not graph.is_dropout_layer(source):
                continue
            messages.append(
                f"WARNING: dropout layer '{source.name}' "
                f"({type(source).__name__}) directly precedes "
                f"BatchNormalization '{layer.name}': BN's moving "
                "variance is learned on dropped activations "
                "(variance shift at inference). Move the dropout "
                "after the last BatchNormalization."
            )
    return sorted(set(messages))


def format_summary(model):
    """The text `kerasdrop inspect` prints: a table and the warnings.

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)),
    ...     kerasdrop.layers.Dropout(0.3, name="drop")], name="m")
    >>> print(format_summary(model).splitlines()[0])
    Model 'm': 1 dropout-family layer(s)
    """
    rows = dropout_summary(model)
    lines = [f"Model '{model.name}': {len(rows)} dropout-family layer(s)"]
    if rows:
        columns = ("path", "kind", "rate", "schedule", "step", "mc", "reach")
        table = [columns] + [tuple(str(row[c]) for c in columns) for row in rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(columns))]
        for i, r in enumerate(table):
            lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
    lines.extend(
        f"NOT REACHED: '{row['path']}': {row['why']}" for row in rows if row["why"]
    )
    lines.extend(variance_shift_warnings(model))
    return "\n".join(lines)
