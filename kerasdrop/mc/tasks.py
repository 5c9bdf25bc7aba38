"""What `kerasdrop.mc.predict` computes for a model: its task and output kind.

Tasks are what a user asks for (`TASKS`); kinds what the statistics read
the output as (`kerasdrop.mc.stats`): "regression" has kind None,
"heteroscedastic" kind "heteroscedastic", "classification" "sigmoid" for a
sigmoid head (independent Bernoullis per unit) and "softmax" otherwise, and
"logits" "sigmoid" for one unit and "softmax" for several (probabilities are
taken per sample, before averaging).
"""

import warnings

import keras

from kerasdrop import _checks
from kerasdrop.mc import stats as stats_lib

TASKS = ("auto", "regression", "classification", "logits", "heteroscedastic")


def output_kind(task, head, units):
    """The `kerasdrop.mc.stats` kind of an output for `task`; `head` is the model's
    `head_activation`, `units` the size of the output's last axis."""
    if task == "heteroscedastic":
        return "heteroscedastic"
    if task == "logits":
        return "sigmoid" if units == 1 else "softmax"
    if task == "classification":
        return "sigmoid" if head == "sigmoid" else "softmax"
    return None


def head_activation(model):
    """ "softmax", "sigmoid" or None: the activation of `model`'s output (for
    a subclassed model, of its last layer: the best guess)."""
    outputs = getattr(model, "outputs", None)
    if outputs:
        return stats_lib.output_activation(keras.tree.flatten(outputs)[0])
    return stats_lib.layer_activation(model.layers[-1]) if model.layers else None


def infer_task(model):
    """ "classification" if the model's output comes from a softmax or
    sigmoid (through dropout and Concrete wrappers), else "regression"."""
    _checks.check_model(model)
    return "classification" if head_activation(model) else "regression"


def auto_task(model, outputs):
    """`infer_task`, warning when a linear multi-unit head may be logits."""
    task = infer_task(model)
    units = outputs[0].shape[-1] if outputs else None
    if task == "regression" and units is not None and units > 1:
        warnings.warn(
            f"kerasdrop.mc.predict: model '{model.name}' ends in a linear "
            f"output with {units} units, treated as regression (mean and "
            "variance per unit). If these are class logits (keras-hub "
            "classifiers output logits), pass `task='logits'` to average "
            "softmax probabilities instead.",
            stacklevel=4,
        )
    return task


def check_task(task, model, outputs):
    """The head-dependent part of `task`: "logits" on a head that already
    ends in softmax/sigmoid, "heteroscedastic" without 2 output values."""
    activation = head_activation(model)
    if task == "logits" and activation:
        raise _checks.value_error(
            "task",
            "task='logits' for a linear head of class logits; the output of "
            f"model '{model.name}' already is probabilities ({activation}): "
            "pass task='classification'",
            task,
        )
    if task == "heteroscedastic" and outputs:
        check_heteroscedastic(outputs[0].shape, model.name)


def check_heteroscedastic(shape, name):
    if shape[-1] != 2:
        raise _checks.value_error(
            "task",
            "task='heteroscedastic' for a model whose output's last axis holds "
            f"2 values (mean, log-variance); model '{name}' outputs shape "
            f"{tuple(shape)}",
            "heteroscedastic",
        )


def check_probabilities(bounds, name):
    """Refuses task="classification" on outputs that are not probabilities:
    `bounds` holds the chunk's min, max and largest `|row sum - 1|` (0 for
    one unit), checked when the head's activation is unknown."""
    low, high, off = (float(v) for v in bounds)
    tolerance = 1e-2  # float16/bfloat16 softmax rows
    if low >= -tolerance and high <= 1 + tolerance and off <= tolerance:
        return
    raise _checks.invalid_value(
        "task",
        "Expected task='classification' for a model whose output is class "
        "probabilities (a final softmax or sigmoid, or values in [0, 1] with "
        "rows summing to 1); for class logits pass task='logits'.",
        f"task='classification' for model '{name}', whose output ranges over "
        f"[{low:.4g}, {high:.4g}] with rows off 1 by up to {off:.4g}",
    )
