"""What the figures say, per benchmark table, and the text of the page
docs/benchmarks.md that shows each table with its chart and reading.

`docs_page` assembles the page from a registry (`tables.BENCHMARKS +
tables.UCI`); `python benchmarks/tables.py --docs` writes it.
"""

from _results import connect_rows, depth_rows, load, pct

DEMO_FIGURES = (
    "rates.png",
    "curves.png",
    "reliability.png",
    "risk_coverage.png",
    "uncertainty.png",
)
DEMO_COMMAND = "python -m kerasdrop demo --out /tmp/kerasdrop-demo --no-export"


# What the figures say, per table.


def dropout_reading(r):
    low, high = sorted(r[m]["overhead_reduction"] for m in ("mlp_3x1024", "small_cnn"))
    return (
        "kerasdrop's variable-rate dropout is not slower than Keras' float-rate "
        "dropout (target <= 1.00) and, on one thread, its overhead above no "
        f"dropout is {100 * low:.0f}-{100 * high:.0f}% smaller (Keras' "
        "`stateless_dropout` does more work per element). With TensorFlow's "
        "default two threads this machine's noise (epoch times flipping between "
        "two speeds) is larger than the effect, so only the ratio <= 1.00 was "
        "confirmed there."
    )


def torch_reading(r):
    ratios = [r[m]["ratio_kerasdrop_over_keras"] for m in ("mlp_3x1024", "small_cnn")]
    mc = r["mc_predict_vs_loop"]
    return (
        "On PyTorch (eager, Keras' default there) kerasdrop's `Dropout` costs "
        f"{min(ratios):.2f}-{max(ratios):.2f}x Keras' per training epoch "
        "(target <= 1.00; the CNN's ratio is within this machine's noise), and "
        f"`mc.predict` with T = {mc['samples']} on {mc['inputs']} inputs takes "
        f"1/{mc['speedup_mc_over_loop']:.2f} of the time of the loop of "
        "`model(x, training=True)` users write: eager torch has little "
        "per-call overhead to save, so the gain is the stacked samples, "
        "smaller than against TensorFlow's `predict` loop."
    )


def scheduler_reading(r):
    runs = {run["model"]: run for run in r["runs"]}
    small, big = runs.get("small_mlp_2x256"), runs.get("mlp_3x1024")
    figures = (
        f": {pct(small['overhead'])} on the small MLP and {pct(big['overhead'])} "
        "on the 3x1024 MLP"
        if small and big
        else ""
    )
    return (
        "A per-batch `DropoutScheduler` driven by a `Schedule` runs inside the "
        f"train step{figures}, the in-graph `Dropout(schedule)`'s cost within "
        "this machine's noise (it was +19% on the small MLP while it wrote one "
        "variable per layer per step from Python, as a callable schedule still "
        "does)."
    )


def concrete_reading(r):
    return (
        f"Concrete Dropout costs {r['ratio_concrete_over_dropout']:.2f}x a stock "
        "Dropout + Dense (target <= 1.3): the relaxed mask and its gradient with "
        "respect to p, plus the weight term."
    )


def toy_reading(r):
    first, last = r["rows"][0], r["rows"][-1]
    hidden = [last["p"][k] for k in ("hidden1", "hidden2")]
    inputs = [row["p"]["input"] for row in r["rows"]]
    return (
        "The toy experiment of the Concrete Dropout paper: the learned rates "
        "against the number of training points. The hidden layers' p falls "
        f"from {first['p']['hidden1']:.2f} at N = {first['N']} to "
        f"{min(hidden):.2f}-{max(hidden):.2f} at N = {last['N']} (reference "
        f"~{r['reference']['hidden_p_N10']:.2f} to "
        f"~{r['reference']['hidden_p_N10000']:.2f}); the input layer's stays "
        f"between {min(inputs):.2f} and {max(inputs):.2f} (reference "
        f"~{r['reference']['input_p']:.2f})."
    )


def export_reading(r):
    b1, b256 = r["batch_1"], r["batch_256"]
    return (
        "The stripped SavedModel serves as fast as a twin built without dropout "
        f"(paired ratio {b1['ratio_stripped_over_twin']:.2f} at batch 1 and "
        f"{b256['ratio_stripped_over_twin']:.2f} at batch 256, target <= 1.02; "
        "the medians of single runs differ more, this machine being shared), "
        "and the unstripped export of the MC model, which keeps drawing masks, "
        f"is {b1['ratio_unstripped_over_stripped']:.2f}x (batch 1) to "
        f"{b256['ratio_unstripped_over_stripped']:.2f}x (batch 256) slower."
    )


def mc_reading(r):
    s, m = r["speed"], r["memory"]
    loop = {k[5:]: v for k, v in s["vs_predict_loop"].items() if k.startswith("rows=")}
    first, *rest = loop
    cnn, mlp = s["head_only_dropout"]["cnn"], s["head_only_dropout"]["mlp"]
    call_ms = 1000 * loop[first]["median_s"]["predict_loop"] / s["samples"]
    return (
        f"Each `model.predict` call costs ~{call_ms:.0f} ms of Keras overhead "
        "here, so a loop of T calls is slow while the compute is small. "
        "`mc.predict` pays "
        "that once and stacks the T passes along the batch axis, which is even "
        f"{s['vs_compute_limit']['ratio']:.2f}x the time of T compiled passes. "
        "The speed-up over the loop is therefore largest on the test-set sizes "
        f"MC dropout is usually run on ({loop[first]['speedup']:.1f}x at {first} "
        "inputs, target 20x) and shrinks as compute dominates ("
        + ", ".join(f"{loop[k]['speedup']:.1f}x at {k}" for k in rest)
        + f" inputs; it tends to ~{1 / s['vs_compute_limit']['ratio']:.1f}x for "
        "very large inputs, the ratio to the compute limit). With dropout only "
        "before the head, the trunk runs once "
        f"per batch: T = {s['samples']} costs {cnn['ratio']:.2f}x one `predict` "
        f"for the CNN ({cnn['ratio_without_prefix_reuse']:.1f}x without prefix "
        "reuse); an MLP whose sampled layer is 512 wide behind a cheap trunk is "
        "bound by drawing T x 512 random numbers per input "
        f"({mlp['ratio']:.1f}x). Memory does not grow with T: the peak RSS of "
        f"T = 1000 is {m['peak_ratio_T1000_over_T10']:.2f}x that of T = 10, "
        "where stacking all outputs would need "
        f"{m['stacking_all_T1000_outputs_would_need_mib']:.0f} MiB more."
    )


def hub_reading(r):
    speed = r["speed"]["median_s"]
    call_ms = 1000 * speed["loop"] / r["samples"]
    masks = 1 - r["compute_floor_over_mc_predict"]
    drawless = r.get("constant_masks_over_mc_predict")
    split = ""
    if drawless is not None:
        split = (
            f" The random draws themselves are {100 * (1 - drawless):.0f}% of "
            "it: the same `mc.predict` with constant masks takes "
            f"{drawless:.2f} of the time, still "
            f"{drawless / r['compute_floor_over_mc_predict']:.2f}x the floor "
            "(applying the masks, stacking the samples, the statistics)."
        )
    per_call = r.get("constant_masks_one_per_call_over_mc_predict")
    if per_call is not None:
        split += (
            " Calls of the floor's size do not close that gap: with one "
            f"sample per compiled call ({r['inputs']} rows, not all "
            f"{r['samples']} samples' {r['samples'] * r['inputs']:,}) the "
            f"constant-mask copy takes {per_call:.2f}."
        )
    memory = r["peak_rss_growth_mib"]
    return (
        f"On the converted tiny BERT classifier, `mc.predict` with T = "
        f"{r['samples']} is {r['speedup_over_training_true_loop']:.1f}x faster "
        "than the loop users write today (T `model(x, training=True)` calls, "
        "which also put every other layer in training mode), short of the 10x "
        f"target: one eager call of this tiny model costs only ~{call_ms:.0f} "
        "ms, and what `mc.predict` does beyond T compiled passes (drawing "
        "the masks: attention dropout draws T x heads x 16 x 16 numbers per "
        f"input) is {100 * masks:.0f}% of its time; even T mask-free compiled "
        "passes would be only "
        f"~{speed['loop'] / speed['compute_floor']:.1f}x faster than the loop."
        f"{split} With dropout only in the head "
        '(`convert(model, layers="classifier_dropout")`) the backbone is the '
        f"deterministic prefix: T = {r['samples']} costs "
        f"{r['head_only_mc_over_one_predict']:.2f}x one `model.predict` (target "
        "<= 1.5x). Growth of the process's peak memory after warm-up: "
        f"{memory['loop_mib']:.0f} MiB for the loop, "
        f"{memory['mc_predict_mib']:.0f} MiB for `mc.predict` (all samples "
        "of a batch in one compiled call)."
    )


def recurrent_reading(r):
    p = r["paired_ratios"]
    return (
        "With input dropout only, kerasdrop's LSTM costs what Keras' does "
        f"(paired ratio {p['kerasdrop_input_over_keras_input']:.2f}, target "
        "<= 1.05): the shared input mask is applied to the sequence once, "
        "outside the step loop, so the fused step stays. With recurrent dropout "
        "too it takes half the time of Keras' "
        f"({p['kerasdrop_both_over_keras_both']:.2f}, target <= 1.00): Keras' "
        "`recurrent_dropout` draws one mask per gate and splits each step into "
        "four input and four recurrent matmuls (`implementation=1`), while the "
        "one shared state mask keeps the single fused matmul: kerasdrop with "
        f"both dropouts costs {p['kerasdrop_both_over_keras_input']:.2f}x Keras "
        "with input dropout only (on CPU; on a GPU state dropout gives up cuDNN "
        "in training). This machine ran at two speeds a factor 2 apart during "
        "the run; the paired ratios compare epochs run back to back."
    )


def drop_block_reading(r):
    ratio = r["paired_ratio_to_none"]
    return (
        "The cost of structured dropout on a small CNN: kerasdrop's "
        f"`SpatialDropout2D` takes x{ratio['kerasdrop_spatial']:.2f} the epoch "
        f"time of no dropout (Keras' x{ratio['spatial']:.2f}), `DropBlock2D` "
        f"x{ratio['dropblock']:.2f} (issue 25's target: at most x1.25): it "
        "draws block seeds on the padded feature map, two per uniform, and "
        'grows them into blocks with a boolean window "any".'
    )


def connect_reading(r):
    parts = [
        f"{label.split(',')[0]} on {backend} x{ratios['mc_predict']:.2f} "
        f"(before x{ratios['looped_before']:.2f})"
        for backend, label, ratios in connect_rows(r)
    ]
    return (
        "Under `mc.predict` each stacked MC sample gets its own weight mask. "
        "Dense and EinsumDense now run the chunk's samples in one batched "
        "matmul or einsum; convolutions run as one grouped convolution on "
        "accelerators and as one convolution per sample on CPU, where grouped "
        "convolutions are slower. Time against T compiled passes of the model "
        "without DropConnect: " + "; ".join(parts) + '. "Before" is the '
        "previous implementation (a call per sample, float32 masks) in the "
        "same process. Convolutions on CPU still run a call per sample, so "
        "their change is the cheaper mask only; on TF the batched matmul is "
        "slower than TF's separate matmuls, within the target."
    )


def mask_reading(r):
    parts = [
        f"{backend} x{run['paired_ratio_to_float_uniform']['decision_uniform']:.2f}"
        for backend, run in r["backends"].items()
    ]
    return (
        "Masks compare a uniform with the rate. Decision uniforms take two "
        "15-bit values from each random integer (the rate is resolved to "
        "2**-15), so a mask needs half the random draws. Mask time against "
        "float32 uniforms: " + ", ".join(parts) + ". JAX's generator gains "
        "most. On torch, integer draws cost as much per value as float ones, "
        "so packing only adds ops: kerasdrop's masks draw float32 uniforms "
        "there."
    )


def depth_reading(r):
    parts = [
        f"{label.split(',')[0]} on {backend} {pct(-n['saving_vs_none']['skip'])} "
        f"(CPU time {pct(-n['cpu']['saving_vs_none']['skip'])})"
        for backend, _, label, n in depth_rows(r)
    ]
    return (
        "`SkipResidual` does not compute a dropped branch: one draw per batch "
        "decides, and `ops.cond` runs only the side taken, forward and "
        "backward. Epoch time against the same network without drop path: "
        + "; ".join(parts)
        + ". Per-sample `DropPath` computes every branch, so it saves "
        "nothing. On JAX on CPU a branch holding a convolution is computed "
        "and selected (XLA differentiates a convolution inside `lax.cond` "
        "tens of times slower, the line below the table), so there the CNN "
        "saves nothing either. The dotted line is the issue's target for "
        "the CNN and the transformer (20% lower; 15% for ConvNeXt). Wall "
        "and CPU time agree on a quiet machine; when this shared machine "
        "stalls processes for whole seconds, wall times stretch and the "
        "process's CPU time, which does not count the stalls, is the "
        "figure to read."
    )


def active_reading(r):
    s = r["strategies"]
    others = [name for name in s if name != "random"]
    saving = {n: s[n]["label_saving_vs_random"] for n in others}
    at_30 = [n for n in others if (saving[n] or 0) >= 0.30]
    sure = [n for n in others if (s[n]["labels_saved_per_seed"]["in_se"] or 0) > 2]
    text = (
        '"Labels to random\'s final" is where a mean curve first reaches '
        f"random's final mean accuracy ({r['random_final_accuracy']:.3f}, "
        "interpolated between rounds, the dotted line), counting the start "
        "labels as Gal et al. 2017 do (on MNIST, BALD 145 labels to 10% "
        "error against random's 255: 43% fewer). With 30% or more fewer "
        "labels than random: " + (", ".join(at_30) or "none") + ". Per seed, "
        "paired on the same split and start set, the labels saved exceed "
        "2 SE for: " + (", ".join(sure) or "none") + "."
    )
    bald, batch = saving["bald"], saving["batch_bald"]
    if bald is not None and batch is not None:
        text += (
            f" BatchBALD ({100 * batch:.0f}% fewer) against top-10 BALD "
            f"({100 * bald:.0f}%): "
            + ("no worse." if batch >= bald - 0.05 else "worse here.")
        )
    for name, v in r.get("variants", {}).items():
        saving = v["strategies"]["bald"]["label_saving_vs_random"]
        if saving is not None:
            text += (
                f" BALD with T = {v['samples']} and a pool subset of "
                f"{v['pool_subset']} ({name}): {100 * saving:.0f}% fewer."
            )
    return text


def uci_reading(r):
    rows = [(row["dataset"], row["summary"]) for row in r["results"]]
    batch = r["results"][0]["batch_size"]
    source = {
        32: "the batch size of the paper's own 2016 per-data-set scripts "
        "(yaringal/DropoutUncertaintyExps) and the default of `kerasdrop uci`",
        128: "the batch size of the paper's later 2018 code",
    }.get(batch, "")
    both = [name for name, s in rows if s["rmse_within_2se"] and s["ll_within_2se"]]
    if len(both) == len(rows):
        worst = max(max(s["rmse_gap_in_se"], s["ll_gap_in_se"]) for _, s in rows)
        found = (
            f"all {len(rows)} sets land within {worst:.1f} combined standard "
            "errors of the paper on both RMSE and LL"
        )
    else:
        rmse_only = [n for n, s in rows if s["rmse_within_2se"] and n not in both]
        found = (
            "within 2 combined standard errors of the paper on both RMSE and LL: "
            + (", ".join(both) or "none")
            + (f"; on RMSE only: {', '.join(rmse_only)}" if rmse_only else "")
            + "; where it is not, training is the limit (the deterministic RMSE "
            "is as high; more epochs lower it)"
        )
    return f"Batch {batch}" + (f", {source}" if source else "") + f": {found}."


DOCS_INTRO = """\
# Benchmarks

Figures from `benchmarks/results/*.json` (TF backend, CPU, 2 cores shared
with other machines; TensorFlow pinned to one thread so that runs are
comparable; variants alternated in one process, in a shuffled order per
repetition). Timing ratios are median *paired* ratios: the variants of one
repetition run back to back, and the ratio of each pair is taken before the
median, so slow drifts of the machine cancel (`benchmarks/_timing.py`).

Each section gives the table, a chart of it and the command that measures
it; the two UCI tables stand on the [fidelity](guides/fidelity.md) page too.
After a run, regenerate the charts, this page and that page's UCI tables with

```bash
python benchmarks/tables.py --docs
```

This page and the block between the UCI markers of `docs/guides/fidelity.md`
are written by `benchmarks/tables.py --docs`: edit that script, not the pages.
"""

DEMO_SECTION = f"""\
## The demo report

`kerasdrop demo` trains one small MLP on scikit-learn's digits 0-8 four ways
(no dropout, constant dropout, a scheduled recipe, Concrete Dropout),
evaluates each deterministically and with MC dropout, and writes a report
with these figures: the dropout rates per epoch, the training curves,
reliability diagrams, risk-coverage curves and the uncertainty of in- and
out-of-distribution inputs (the never-seen digit 9).

![Dropout rate per epoch](images/demo/rates.png)

![Training curves](images/demo/curves.png)

![Reliability diagrams](images/demo/reliability.png)

![Risk-coverage curves](images/demo/risk_coverage.png)

![Uncertainty of in- and out-of-distribution inputs](images/demo/uncertainty.png)

The figures above come from

```bash
{DEMO_COMMAND}
python benchmarks/tables.py --demo-report /tmp/kerasdrop-demo
```
"""


def _section(bench, result):
    name, title = bench.name, bench.title
    lines = bench.table(result)
    caption, rows = lines[0], "\n".join(lines[1:]).strip()
    command = result["command"].strip()
    return (
        f"## {title}\n\n{bench.reading(result)}\n\n{caption}\n\n{rows}\n\n"
        f"![{title}](images/benchmarks/{name}.png)\n\n"
        f"Reproduce:\n\n```bash\n{command}\n"
        "python benchmarks/tables.py --docs\n```\n"
    )


def docs_page(benchmarks):
    """The text of docs/benchmarks.md: a section per benchmark of `benchmarks`
    whose results exist, then the demo report."""
    sections = [DOCS_INTRO]
    for bench in benchmarks:
        result = load(bench.name)
        if result is not None:
            sections.append(_section(bench, result))
    sections.append(DEMO_SECTION)
    return "\n".join(sections)
