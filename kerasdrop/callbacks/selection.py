"""Finding the layers a callback drives, and logging their rates."""

from kerasdrop import _checks, graph

#: Prefix of the logs keys the callbacks write: `dropout/<layer name>`.
LOG_PREFIX = "dropout/"


def select_layers(
    model, selector=None, argument="layers", learned=True, who="kerasdrop", sites=None
):
    """kerasdrop dropout layers of `model` picked by `selector`.

    `selector` is None (all), a name, a regex (full match), a layer class, or
    a list of them. Raises a clear error when the model has no kerasdrop
    layer (pointing to `kerasdrop.convert` if it has stock Keras dropout) or
    when the selector matches nothing (listing the available names). With
    `learned=False`, layers that learn their rate (Concrete Dropout) are left
    out of a `None` selection and refused when named. `sites`: the
    `graph.find(model)` a caller already has.

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)),
    ...     kerasdrop.layers.Dropout(0.1, name="input_drop"),
    ...     keras.layers.Dense(8),
    ...     kerasdrop.layers.Dropout(0.3, name="hidden_drop")])
    >>> [l.name for l in kerasdrop.callbacks.select_layers(model, "hidden.*")]
    ['hidden_drop']
    """
    sites = graph.find(model) if sites is None else sites
    candidates = [site.layer for site in sites if site.status == "kerasdrop"]
    others = graph.unreached(model, sites)
    if not candidates:
        raise _no_layer_error(model, sites, others)
    graph.warn_unreached(model, who, others, stacklevel=4)
    if selector is None:
        return _settable(model, candidates, learned)
    return _matching(candidates, selector, argument, learned)


def _no_layer_error(model, sites, others):
    convertible = [site.path for site in sites if site.status == "convertible"]
    if convertible:
        return ValueError(
            f"Model '{model.name}' has dropout layers {convertible} "
            "but no kerasdrop layer: their rate is a Python float that a "
            "compiled train step cannot see change. Use "
            "`model = kerasdrop.convert(model)` first."
        )
    reach = "".join(f" {graph.describe(site)}." for site in others)
    return ValueError(
        f"Model '{model.name}' has no kerasdrop dropout layer to schedule "
        f"or log.{reach}"
    )


def _settable(model, candidates, learned):
    """All candidates; without the learned ones when `learned=False`."""
    if learned:
        return candidates
    candidates = [layer for layer in candidates if not layer.learned]
    if not candidates:
        raise ValueError(
            f"Model '{model.name}' has only dropout layers that learn "
            "their rate (Concrete Dropout); there is no rate to set."
        )
    return candidates


def _matching(candidates, selector, argument, learned):
    items = graph.check_selector(argument, selector)
    chosen = [
        layer for layer in candidates if any(graph.matches(s, layer) for s in items)
    ]
    refused = [layer.name for layer in chosen if layer.learned and not learned]
    if refused:
        raise _checks.invalid_value(
            argument,
            f"Layers {refused} learn their rate (Concrete Dropout) and cannot "
            "be scheduled.",
            f"{argument}={selector!r}",
        )
    if not chosen:
        raise _checks.invalid_value(
            argument,
            "It matches no kerasdrop dropout layer; available: "
            f"{[layer.name for layer in candidates]}.",
            f"{argument}={selector!r}",
        )
    return chosen


def check_layers(layers):
    """`layers=` of the callbacks: None or a non-empty selector."""
    if layers is not None:
        if isinstance(layers, (list, tuple)) and not layers:
            raise _checks.value_error(
                "layers",
                "None (all kerasdrop layers) or a non-empty selection",
                layers,
            )
        graph.check_selector("layers", layers)
    return layers


def log_rates(model, logs, layers=None):
    """Writes `dropout/<name>` = live rate for each kerasdrop layer into `logs`.

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)),
    ...     kerasdrop.layers.Dropout(0.25, name="drop")])
    >>> logs = {}
    >>> kerasdrop.callbacks.log_rates(model, logs)
    >>> logs
    {'dropout/drop': 0.25}
    """
    if logs is None:
        return
    for layer in layers if layers is not None else graph.dropout_layers(model):
        logs[LOG_PREFIX + layer.name] = layer.rate
