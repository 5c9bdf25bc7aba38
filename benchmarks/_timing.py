"""Shared timing protocol of the benchmarks.

This machine is shared and noisy (epoch times flip between two speeds when
TF uses both cores), so every benchmark:
- pins TensorFlow to `--threads` threads (default 1), recorded in the JSON;
- alternates the variants in one process, in a shuffled order per
  repetition, after one warm-up run each;
- reports, per variant, the median and the minimum, and as the headline the
  median over repetitions of the *paired* ratio to a baseline (the variants
  of one repetition ran back to back, so slow drifts of the machine cancel).
"""

import os
import platform
import random
import statistics
import time


def set_threads(threads):
    """Pins the backend's CPU threads (TensorFlow's op pools, or torch's
    intra-op pool); JAX fixes its pool at start-up, so nothing is set there."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if not threads or backend == "jax":
        return threads
    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
        return threads
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    return threads


def alternate(runs, reps, seed=0):
    """`runs`: name -> zero-argument callable. Returns name -> [seconds]."""
    for run in runs.values():
        run()  # warm-up (traces, allocations)
    times = {name: [] for name in runs}
    order = list(runs)
    rnd = random.Random(seed)
    for _ in range(reps):
        rnd.shuffle(order)
        for name in order:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return times


def summarize(times, baseline):
    """Medians, minima and paired ratios (median over repetitions) to `baseline`."""
    return {
        "median_s": {k: statistics.median(v) for k, v in times.items()},
        "min_s": {k: min(v) for k, v in times.items()},
        "paired_ratio_to_" + baseline: {
            k: statistics.median(a / b for a, b in zip(v, times[baseline]))
            for k, v in times.items()
        },
        "times_s": times,
    }


def machine(threads):
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "tf_threads": threads or "default",
    }
