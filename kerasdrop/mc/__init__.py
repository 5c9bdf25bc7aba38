"""Monte-Carlo dropout: switch dropout on at inference, and sample fast.

Two ways to make kerasdrop dropout layers drop at inference while every
other layer (BatchNormalization included) stays in inference mode:

- `with kerasdrop.mc.sampling(model): ...` for a block of code (that
  model's dropout, in the calling thread);
- `mc=True` on a layer (or `kerasdrop.mc.enable(model)`): always on.

`kerasdrop.mc.predict(model, x, samples=T)` draws T samples in one compiled
pass per batch and returns a `MCResult`. Its statistics are those of
`kerasdrop.mc.stats`, shared with export's `mc` signature: a softmax head's
rows are one categorical distribution, a sigmoid head's units independent
Bernoullis (entropies summed over the units).

Models built with stock Keras dropout layers go through
`kerasdrop.convert(model)` first.

This package face gathers the public names; the code lives in `switch`
(sampling on and off), `prediction` (`predict`, `MCResult`), `stats` (the
statistics), `tasks` (task detection), `inputs` (input checks and batching),
`guards` (seeding, the per-model lock, the non-finite checks) and
`devices` (one device, `tf.distribute`, `keras.distribution`).
"""

from kerasdrop.mc.prediction import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MEMORY_BUDGET,
    MCResult,
    predict,
    split_deterministic_prefix,
)
from kerasdrop.mc.stats import output_activation, sampling_traced
from kerasdrop.mc.switch import disable, enable, sampling
from kerasdrop.mc.tasks import TASKS, infer_task

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MEMORY_BUDGET",
    "MCResult",
    "TASKS",
    "disable",
    "enable",
    "infer_task",
    "output_activation",
    "predict",
    "sampling",
    "sampling_traced",
    "split_deterministic_prefix",
]
