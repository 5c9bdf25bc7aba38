"""What dropout a model holds: kinds, live rates, schedules, MC flags, warnings."""

import keras

from kerasdrop.layers import base as base_lib


def _stock_rate(layer):
    if isinstance(layer, keras.layers.GaussianNoise):
        return f"stddev {layer.stddev:.4g}"
    return f"{float(layer.rate):.4g}"


def dropout_summary(model):
    """One row per dropout-family layer of `model` (nested models included).

    Each row is a dict with `name`, `kind` (class name, `keras.` prefix for
    stock layers), `rate` (the live rate as text), `schedule` (repr or
    "-"), `step` (int or "-"), `mc` ("on", "off", or "n/a" for stock layers,
    which cannot sample at inference) and `learned` (bool).

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
    ...     kerasdrop.layers.Dropout(0.2, mc=True), keras.layers.Dropout(0.1)])
    >>> [(r["kind"], r["rate"], r["mc"]) for r in dropout_summary(model)]
    [('Dropout', '0.2', 'on'), ('keras.Dropout', '0.1', 'n/a')]
    """
    from kerasdrop.export import is_dropout_layer

    rows = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if not is_dropout_layer(layer):
            continue
        if isinstance(layer, base_lib.DropoutBase):
            rows.append(
                {
                    "name": layer.name,
                    "kind": type(layer).__name__,
                    "rate": f"{layer.rate:.4g}",
                    "schedule": repr(layer.schedule)
                    if layer.schedule is not None
                    else ("learned" if layer.learned else "-"),
                    "step": layer.step if layer.schedule is not None else "-",
                    "mc": "on" if layer.mc else "off",
                    "learned": bool(layer.learned),
                }
            )
        else:
            rows.append(
                {
                    "name": layer.name,
                    "kind": "keras." + type(layer).__name__,
                    "rate": _stock_rate(layer),
                    "schedule": "-",
                    "step": "-",
                    "mc": "n/a",
                    "learned": False,
                }
            )
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
    from kerasdrop.export import is_dropout_layer

    messages = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if not isinstance(layer, keras.layers.BatchNormalization):
            continue
        for node in layer._inbound_nodes:
            for tensor in keras.tree.flatten(node.input_tensors):
                history = getattr(tensor, "_keras_history", None)
                source = history.operation if history is not None else None
                if source is not None and is_dropout_layer(source):
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
        columns = ("name", "kind", "rate", "schedule", "step", "mc")
        table = [columns] + [tuple(str(row[c]) for c in columns) for row in rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(columns))]
        for i, r in enumerate(table):
            lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
    lines.extend(variance_shift_warnings(model))
    return "\n".join(lines)
