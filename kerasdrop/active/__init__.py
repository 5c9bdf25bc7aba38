"""Active learning with MC dropout: which unlabelled examples to label next.

`acquire(model, pool, count, strategy)` scores a pool of any size with
`kerasdrop.mc.predict` (chunk by chunk, consistent masks, memory independent
of the pool's size) and returns the rows to label and their scores:
`"bald"`, `"entropy"`, `"variation_ratio"`, `"margin"`, `"random"`,
`"batch_bald"` (Kirsch et al. 2019) and the stochastic `"power_<score>"`
variants (Kirsch et al. 2023). `run_loop` alternates fit -> acquire ->
label -> refit on a pool whose labels are known (an experiment, or a
benchmark); with a real annotator, call `acquire` in your own loop.

One concept per module: `scores` (per-row scores), `topk` (streamed
top-k and Gumbel keys), `batch_bald` (greedy BatchBALD), `acquisition`
(`acquire`, `Acquisition`), `protocol` (`Protocol`, Gal et al. 2017's
protocol, and its pieces) and `loop` (`run_loop`, `LoopResult`).
"""

from kerasdrop.active.acquisition import (
    DEFAULT_CHUNK_SIZE,
    STRATEGIES,
    Acquisition,
    acquire,
)
from kerasdrop.active.batch_bald import DEFAULT_CONFIGURATIONS
from kerasdrop.active.loop import LoopResult, run_loop
from kerasdrop.active.protocol import Protocol

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CONFIGURATIONS",
    "STRATEGIES",
    "Acquisition",
    "LoopResult",
    "Protocol",
    "acquire",
    "run_loop",
]
