"""One-line dropout recipes from the literature, as `DropoutScheduler`s.

Each returns a callback for `model.fit(..., callbacks=[...])`; its schedule
is `callback.schedule`.

>>> import kerasdrop
>>> cb = kerasdrop.recipes.early_dropout(epochs=300)
>>> cb.schedule
Early(rate=0.1, cutoff=50, mode='constant')
"""

from kerasdrop import _checks, graph, schedules
from kerasdrop.callbacks import DropoutScheduler
from kerasdrop.layers.drop_path import DropPath, depth_fractions
from kerasdrop.layers.skip_residual import SkipResidual


def early_dropout(epochs, rate=0.1, cutoff=None, mode="constant", layers=None):
    """Early dropout (Liu et al., "Dropout Reduces Underfitting", ICML 2023).

    Dropout only in the first epochs, then none: helps underfitting models
    reach a lower training loss. Paper defaults: `rate=0.1`, `cutoff` = 50 of
    300 epochs (one sixth of training), constant or linearly decreasing.

    Example:

    >>> from kerasdrop import recipes
    >>> cb = recipes.early_dropout(epochs=60, mode="linear")
    >>> cb.schedule(0), cb.schedule(5), cb.schedule(10)
    (0.1, 0.05, 0.0)
    >>> # model.fit(x, y, epochs=60, callbacks=[cb])
    """
    epochs, cutoff = _epochs_and_cutoff(epochs, cutoff, "never stops dropping")
    return DropoutScheduler(
        schedules.Early(rate, cutoff, mode=mode), layers=layers, unit="epoch"
    )


def late_dropout(epochs, rate=0.1, cutoff=None, layers=None):
    """Late dropout (Liu et al., ICML 2023): none first, then `rate`.

    For overfitting models: regularize only after `cutoff` (paper: epoch 50
    of 300, one sixth of training).

    Example:

    >>> from kerasdrop import recipes
    >>> cb = recipes.late_dropout(epochs=60, rate=0.2)
    >>> cb.schedule(9), cb.schedule(10)
    (0.0, 0.2)
    """
    epochs, cutoff = _epochs_and_cutoff(epochs, cutoff, "never drops")
    return DropoutScheduler(schedules.Late(rate, cutoff), layers=layers, unit="epoch")


def _epochs_and_cutoff(epochs, cutoff, otherwise):
    """`epochs` >= 2 and `cutoff` in `[1, epochs - 1]` (default: one sixth of
    the epochs): the epoch where the rate switches must come in training."""
    epochs = _checks.check_int(
        "epochs", epochs, minimum=2, expected="an integer >= 2 (a switch needs two)"
    )
    cutoff = _checks.check_int("cutoff", cutoff, minimum=1, allow_none=True)
    cutoff = max(1, epochs // 6) if cutoff is None else cutoff
    if cutoff >= epochs:
        raise _checks.value_error(
            "cutoff",
            f"an integer in [1, {epochs - 1}], below epochs={epochs}: the rate "
            f"switches at epoch `cutoff`, so the recipe {otherwise}",
            cutoff,
        )
    return epochs, cutoff


def curriculum_dropout(total_steps, final_rate=0.5, gamma=None, layers=None):
    """Curriculum dropout (Morerio et al., ICCV 2017), per batch.

    The rate rises as `final_rate * (1 - exp(-gamma t))`; the paper's
    `gamma = 10 / T` (T = total training steps) reaches the final rate well
    before the end.

    Example:

    >>> from kerasdrop import recipes
    >>> cb = recipes.curriculum_dropout(total_steps=1000, final_rate=0.3)
    >>> cb.unit, cb.schedule(0), round(cb.schedule(1000), 4)
    ('batch', 0.0, 0.3)
    """
    total_steps = _checks.check_int("total_steps", total_steps, minimum=1)
    gamma = 10.0 / total_steps if gamma is None else gamma
    return DropoutScheduler(
        schedules.Curriculum(final_rate, gamma), layers=layers, unit="batch"
    )


def annealed_dropout(epochs, initial_rate=0.5, layers=None):
    """Annealed dropout (Rennie et al., SLT 2014): `p0 (1 - t / N)` per epoch.

    The rate falls linearly from `initial_rate` to 0 over the `epochs`.

    Example:

    >>> from kerasdrop import recipes
    >>> cb = recipes.annealed_dropout(epochs=10, initial_rate=0.5)
    >>> cb.schedule(0), cb.schedule(5), cb.schedule(10)
    (0.5, 0.25, 0.0)
    """
    epochs = _checks.check_int("epochs", epochs, minimum=1)
    return DropoutScheduler(
        schedules.Annealed(initial_rate, epochs), layers=layers, unit="epoch"
    )


def stochastic_depth(
    model,
    max_rate=0.1,
    rule="linear",
    stages=None,
    layers=None,
    unit="epoch",
    skip_compute=False,
):
    """Stochastic depth's depth rule: rates rise with depth (Huang et al. 2016).

    Finds the model's `layers` (default: every `kerasdrop.layers.DropPath`;
    `SkipResidual` with `skip_compute=True`; in run order) and gives block
    `i` of `n` the rate `max_rate * i / (n - 1)` (`rule="linear"`, timm's
    `drop_path_rate`: `linspace(0, max_rate, n)`), or one rate per stage
    (`rule="stage"`, see `kerasdrop.layers.drop_path.depth_rates`).

    `max_rate` may also be a time schedule: every block then follows it,
    scaled by its depth factor (`schedules.Scaled`). Early stochastic depth
    (Liu et al., ICML 2023; 0.5 for the first epochs, then 0) is
    `stochastic_depth(model, schedules.Early(0.5, cutoff))`; late stochastic
    depth is `schedules.Late(0.4, cutoff)`.

    Args:
        model: a Keras model holding kerasdrop `DropPath` layers (convert a
            stock or keras-hub model first with `kerasdrop.convert`).
        max_rate: float in `[0, 1)`, the deepest block's rate, or a
            `kerasdrop.schedules.Schedule` of it over time.
        rule: `"linear"` or `"stage"`.
        stages: blocks per stage (for `"stage"`; must sum to the count).
        layers: which layers (a selector as for `DropoutScheduler`).
        unit: `"epoch"` or `"batch"`: the time schedule's step.
        skip_compute: if True, `layers` defaults to the skipping blocks.

    Returns:
        A `DropoutScheduler` with one schedule per layer. The rates at step 0
        are assigned at once.

    Example:

    >>> import keras, kerasdrop
    >>> from kerasdrop.layers import DropPath
    >>> x = inputs = keras.Input((4,))
    >>> for i in range(3):
    ...     branch = DropPath(0.0, name=f"dp{i}")(keras.layers.Dense(4)(x))
    ...     x = keras.layers.Add()([x, branch])
    >>> model = keras.Model(inputs, x)
    >>> cb = kerasdrop.recipes.stochastic_depth(model, max_rate=0.2)
    >>> [model.get_layer(f"dp{i}").rate for i in range(3)]
    [0.0, 0.1, 0.2]
    >>> # model.fit(x, y, callbacks=[cb])
    """
    _checks.check_model(model)
    if _checks.check_bool("skip_compute", skip_compute) and layers is None:
        layers = SkipResidual
    chosen = _selected(model, DropPath if layers is None else layers)
    per_layer = _depth_schedules(chosen, max_rate, rule, stages)
    for layer in chosen:
        layer.rate = per_layer[layer.name](0)
    return DropoutScheduler(per_layer, layers=list(per_layer), unit=unit)


def _depth_schedules(chosen, max_rate, rule, stages):
    """`{name: Scaled(max_rate, depth factor)}` for the `chosen` layers."""
    if not isinstance(max_rate, schedules.Schedule):
        max_rate = schedules.Constant(schedules.check_rate("max_rate", max_rate))
    fractions = depth_fractions(len(chosen), rule=rule, stages=stages)
    return {
        layer.name: schedules.Scaled(max_rate, fraction)
        for layer, fraction in zip(chosen, fractions)
    }


def _selected(model, layers):
    """The kerasdrop dropout layers of `model` that `layers` picks, in order."""
    items = graph.check_selector("layers", layers)
    chosen = [
        layer
        for layer in graph.dropout_layers(model)
        if any(graph.matches(item, layer) for item in items)
    ]
    if not chosen:
        raise _checks.value_error(
            "model",
            f"a model with layers matching layers={layers!r} (kerasdrop DropPath "
            "by default; convert a stock model first)",
            model.name,
        )
    return chosen
