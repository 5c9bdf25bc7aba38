"""Finding the layers a callback drives, and logging their rates."""

import re

from kerasdrop import _checks, graph

#: Prefix of the logs keys the callbacks write: `dropout/<site path>`.
LOG_PREFIX = "dropout/"
#: Characters a TensorBoard tag does not take (`tf.summary` replaces them).
_UNSAFE = re.compile(r"[^A-Za-z0-9_./-]")


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


def log_key(path):
    """The logs key of the dropout site at `path` (`graph.find`'s
    `Site.path`): `dropout/<path>`, an item of a list or dict (`blocks[1]`,
    `heads['q']`) as a path element (`blocks/1`, `heads/q`), and any
    character a TensorBoard tag does not take as `_`.

    Example:

    >>> import kerasdrop
    >>> kerasdrop.callbacks.log_key("encoder/blocks[1]/_dropout")
    'dropout/encoder/blocks/1/_dropout'
    """
    tag = path.replace("[", "/").replace("]", "").replace("'", "").replace('"', "")
    return LOG_PREFIX + _UNSAFE.sub("_", tag)


def log_keys(model, layers=None, sites=None):
    """`{logs key: layer}` for the kerasdrop layers of `model` (or those of
    `layers`), in the order of `graph.find`.

    Keys come from each layer's path (`log_key`), so two layers of the same
    name in different blocks (keras-hub blocks reuse their sublayers' names)
    keep one key each, and a model built again gets the same keys (a path
    that is still taken gets `_2`, `_3`... in order). A layer of the model's
    own graph has its name as path: `dropout/<name>`. `sites`: the
    `graph.find(model)` a caller already has.

    Example:

    >>> import keras, kerasdrop
    >>> inner = keras.Sequential([keras.Input((4,)),
    ...     kerasdrop.layers.Dropout(0.1, name="drop")], name="block")
    >>> model = keras.Sequential([keras.Input((4,)),
    ...     kerasdrop.layers.Dropout(0.2, name="drop"), inner])
    >>> list(kerasdrop.callbacks.log_keys(model))
    ['dropout/drop', 'dropout/block/drop']
    """
    sites = graph.find(model) if sites is None else sites
    wanted = None if layers is None else {id(layer) for layer in layers}
    keys = {}
    for site in sites:
        if site.status != "kerasdrop":
            continue
        if wanted is not None and id(site.layer) not in wanted:
            continue
        key = base = log_key(site.path)
        count = 1
        while key in keys:
            count += 1
            key = f"{base}_{count}"
        keys[key] = site.layer
    return keys


def log_rates(model, logs, layers=None):
    """Writes the live rate of each kerasdrop layer into `logs`, under its
    `log_keys` key (`dropout/<path>`).

    `layers`: None (all), a list of layers, or the `{key: layer}` of
    `log_keys` (no search of the model: for a callback logging per batch).

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
    keys = layers if isinstance(layers, dict) else log_keys(model, layers)
    for key, layer in keys.items():
        logs[key] = layer.rate
