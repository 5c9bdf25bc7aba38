"""The cost of drawing a keep/drop mask: float32 uniforms vs decision uniforms.

`keras.random.uniform` (one float32 per unit, what masks drew before) against
`kerasdrop.layers.noise.decision_uniform` (two 15-bit values per random
integer, what `DropoutBase.keep_mask` draws now), each compared with the
rate into a boolean mask of 50 x 256 x 64 units (a T = 50 chunk of a
256-row batch through a 64-wide layer), inside one compiled function per
backend (`tf.function`, `jax.jit`; torch runs eagerly). Variants alternate
in one process (`_timing.py`); the headline is the median paired ratio.

Run:  python benchmarks/mask_draw.py [--reps 15]
      KERAS_BACKEND=jax python benchmarks/mask_draw.py
      KERAS_BACKEND=torch python benchmarks/mask_draw.py
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _timing import alternate, machine, set_threads, summarize  # noqa: E402
from keras import ops  # noqa: E402

from kerasdrop.layers import noise  # noqa: E402

HERE = Path(__file__).parent
SHAPE, RATE = (50, 256, 64), 0.3


def _compiled(draw):
    """A zero-argument callable drawing one mask in a compiled function."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        fn = jax.jit(lambda seed: ops.greater_equal(draw(SHAPE, seed), RATE))
        key = np.array([0, 1], "uint32")
        return lambda: np.asarray(fn(key))
    generator = keras.random.SeedGenerator(0)
    if backend == "tensorflow":
        import tensorflow as tf

        fn = tf.function(lambda: ops.greater_equal(draw(SHAPE, generator), RATE))
        return lambda: fn().numpy()
    return lambda: ops.convert_to_numpy(ops.greater_equal(draw(SHAPE, generator), RATE))


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    runs = {
        "float_uniform": _compiled(noise.uniform),
        "decision_uniform": _compiled(noise.decision_uniform),
    }
    summary = summarize(alternate(runs, args.reps), "float_uniform")
    backend = keras.backend.backend()
    command = " ".join(["python benchmarks/mask_draw.py", *(argv or sys.argv[1:])])
    if backend != "tensorflow":
        command = f"KERAS_BACKEND={backend} {command}"
    out = HERE / "results" / "mask_draw.json"
    result = json.loads(out.read_text()) if out.exists() else {}
    result.update({"benchmark": "mask_draw", "shape": list(SHAPE), "rate": RATE})
    result.setdefault("backends", {})[backend] = {
        "command": command,
        "machine": machine(args.threads),
        **summary,
    }
    result["command"] = "\n".join(r["command"] for r in result["backends"].values())
    out.write_text(json.dumps(result, indent=2) + "\n")
    ratio = summary["paired_ratio_to_float_uniform"]["decision_uniform"]
    print(f"{backend}: decision / float32 uniform mask time x{ratio:.2f}")


if __name__ == "__main__":
    main()
