"""The Markdown table of each benchmark in benchmarks/results/*.json.

Each `<name>_table(result)` returns the table's lines: a caption first,
then the rows. `tables.py` ties each to its benchmark, chart and reading.
"""

from pathlib import Path

from _results import (
    ACTIVE_STRATEGIES,
    connect_rows,
    depth_rows,
    pct,
)


def dropout_table(r):
    lines = [
        f"Dropout layers, epoch time (`{r['command']}`; threads: "
        f"{r['machine']['tf_threads']}; medians in seconds, overheads are "
        "median paired ratios to no dropout, minus 1):",
        "",
        "| model | no dropout | keras | kerasdrop | kerasdrop scheduled | "
        "overhead keras | overhead kerasdrop | **kerasdrop / keras** | "
        "overhead reduction |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, label in (
        ("mlp_3x1024", "MLP 3x1024, batch 256"),
        ("small_cnn", "small CNN, batch 256"),
    ):
        m, o = r[name]["median_s"], r[name]["overhead"]
        red = r[name]["overhead_reduction"]
        lines.append(
            f"| {label} | {m['none']:.3f} | {m['keras']:.3f} | "
            f"{m['kerasdrop']:.3f} | {m['kerasdrop_scheduled']:.3f} | "
            f"{pct(o['keras'])} | {pct(o['kerasdrop'])} | "
            f"**{r[name]['ratio_kerasdrop_over_keras']:.3f}** | "
            f"{'n/a' if red is None else f'{100 * red:.0f}%'} |"
        )
    return lines


def torch_table(r):
    mc = r["mc_predict_vs_loop"]
    return dropout_table(r) + [
        "",
        f"`mc.predict` vs the loop of `model(x, training=True)` (T = "
        f"{mc['samples']}, {mc['inputs']} inputs, MLP 64-256-256-10): median "
        f"loop {mc['median_s']['loop']:.3f} s, mc.predict "
        f"{mc['median_s']['mc_predict']:.3f} s, **{mc['speedup_mc_over_loop']:.2f}x**"
        " (median paired ratio).",
    ]


def scheduler_table(r):
    lines = [
        f"Per-batch `DropoutScheduler` (`{r['command']}`; "
        "median paired overhead vs no callback):",
        "",
        "| model | plain ms/step | per-batch scheduler | "
        "in-graph `Dropout(schedule)` |",
        "|---|---|---|---|",
    ]
    for run in r["runs"]:
        lines.append(
            f"| {run['model']} (batch {run['batch_size']}) | "
            f"{run['median_step_ms']['plain']:.2f} | "
            f"{pct(run['overhead'])} | {pct(run['overhead_in_graph_schedule'])} |"
        )
    return lines


def concrete_table(r):
    ms = r["median_step_ms"]
    return [
        f"Concrete Dropout step time (`{r['command']}`; MLP 784-3x1024-10, batch 256):",
        "",
        "| keras Dropout + Dense | kerasdrop Dropout + Dense | "
        "ConcreteDropout(Dense) | **concrete / keras dropout** (paired) |",
        "|---|---|---|---|",
        f"| {ms['keras_dropout']:.1f} ms | {ms['kerasdrop_dropout']:.1f} ms | "
        f"{ms['concrete']:.1f} ms | "
        f"**{r['ratio_concrete_over_dropout']:.3f}** |",
    ]


def toy_table(r):
    lines = [
        f"Concrete Dropout toy experiment (`{r['command']}`, width {r['width']}, "
        f"seed {r['seed']}; reference: hidden p ~0.40 at N=10 falling to ~0.13 at "
        "N=10000, input p ~0.07):",
        "",
        "| N | epochs | input p | hidden1 p | hidden2 p | mean-head p | "
        "log-var-head p | epistemic std | aleatoric std |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        p = row["p"]
        lines.append(
            f"| {row['N']} | {row['epochs']} | {p['input']:.3f} | "
            f"{p['hidden1']:.3f} | "
            f"{p['hidden2']:.3f} | {p['mean']:.3f} | {p['log_var']:.3f} | "
            f"{row['epistemic_std']:.3f} | {row['aleatoric_std']:.3f} |"
        )
    return lines


def export_table(r):
    lines = [
        f"Serving latency of the reloaded SavedModel (`{r['command']}`; "
        f"{r['model']}; `serving_default`, ms per call, medians; ratios are "
        "median paired ratios):",
        "",
        "| batch | stripped (`kerasdrop.export`) | twin without dropout | "
        "unstripped MC export | **stripped / twin** | unstripped / stripped |",
        "|---|---|---|---|---|---|",
    ]
    for batch in (1, 256):
        b = r[f"batch_{batch}"]
        lat = b["latency_ms_median"]
        lines.append(
            f"| {batch} | {lat['stripped']:.3f} | {lat['twin']:.3f} | "
            f"{lat['unstripped']:.3f} | "
            f"**{b['ratio_stripped_over_twin']:.3f}** | "
            f"{b['ratio_unstripped_over_stripped']:.3f} |"
        )
    return lines


def mc_table(r):
    s, m = r["speed"], r["memory"]
    loop, limit = s["vs_predict_loop"], s["vs_compute_limit"]
    cnn, mlp = s["head_only_dropout"]["cnn"], s["head_only_dropout"]["mlp"]
    return [
        f"MC dropout prediction (`{r['command'].strip()}`; T = {s['samples']}, "
        f"{s['rows']} inputs unless said, batch {s['batch_size']}; "
        "MLP 64-256-256-10 with two dropout layers; median paired ratios):",
        "",
        "| measure | figure | target |",
        "|---|---|---|",
        *[
            "| `mc.predict` speed-up over a loop of T `model.predict`, "
            f"{key[5:]} inputs | "
            f"**{v['speedup']:.1f}x** ({v['median_s']['predict_loop']:.2f} s vs "
            f"{v['median_s']['mc_predict']:.3f} s) | >= 20x |"
            for key, v in loop.items()
            if key.startswith("rows=")
        ],
        "| `mc.predict` / T compiled inference passes | "
        f"**{limit['ratio']:.2f}** | <= 1.2 |",
        f"| dropout only before the head, CNN: T = {s['samples']} / one `predict` | "
        f"**{cnn['ratio']:.2f}x** "
        f"(no prefix reuse: {cnn['ratio_without_prefix_reuse']:.1f}x) | <= 3x |",
        f"| same, MLP with a 512-wide sampled layer (RNG-bound worst case) | "
        f"{mlp['ratio']:.2f}x "
        f"(no prefix reuse: {mlp['ratio_without_prefix_reuse']:.1f}x) | - |",
        f"| peak RSS, T = 1000 / T = 10 ({m['rows']} inputs) | "
        f"**{m['peak_ratio_T1000_over_T10']:.2f}** "
        f"({m['runs']['T=1000']['peak_rss_mib']:.0f} / "
        f"{m['runs']['T=10']['peak_rss_mib']:.0f} MiB; stacking all T = 1000 "
        f"outputs: {m['stacking_all_T1000_outputs_would_need_mib']:.0f} MiB more) "
        "| <= 2 |",
    ]


def hub_table(r):
    speed, prefix = r["speed"]["median_s"], r["prefix"]["median_s"]
    return [
        "MC dropout on a converted keras-hub `BertTextClassifier` "
        f"(`{r['command'].strip()}`; "
        f"2 layers, hidden 16, sequence 16; T = {r['samples']}, {r['inputs']} inputs; "
        "median paired ratios):",
        "",
        "| measure | figure | target |",
        "|---|---|---|",
        '| `mc.predict(task="logits")` speed-up over a loop of T '
        "`model(x, training=True)` | "
        f"**{r['speedup_over_training_true_loop']:.1f}x** ({speed['loop']:.2f} s vs "
        f"{speed['mc_predict']:.3f} s) | >= 10x |",
        "| T compiled inference passes (no masks drawn) / `mc.predict` | "
        f"{r['compute_floor_over_mc_predict']:.2f} "
        f"({speed['compute_floor']:.3f} s) | - |",
        f'| dropout only in the head (`convert(model, layers="classifier_dropout")`): '
        f"`mc.predict` / one `predict` | **{r['head_only_mc_over_one_predict']:.2f}x** "
        f"({prefix['mc']:.3f} s vs {prefix['predict']:.3f} s) | <= 1.5x |",
        f"| peak RSS growth during one call, after warm-up: `mc.predict` / loop | "
        f"{r['peak_rss_growth_mib']['mc_predict_mib']:.1f} / "
        f"{r['peak_rss_growth_mib']['loop_mib']:.1f} MiB | - |",
    ]


def recurrent_table(r):
    m, p = r["min_s"], r["paired_ratios"]
    return [
        f"Variational LSTM, epoch time (`{r['command']}`; {r['model']}; "
        f"{r['sequences']} sequences; fastest of {r['reps']} epochs in seconds, the "
        "medians being blurred by this machine's two speeds; ratios are median paired "
        "ratios):",
        "",
        "| no dropout | keras `dropout` | keras `dropout` + `recurrent_dropout` | "
        "kerasdrop `dropout` | kerasdrop `dropout` + `recurrent_dropout` | "
        "**kerasdrop / keras, input only** (target <= 1.05) | "
        "**kerasdrop / keras, both** (target <= 1.00) |",
        "|---|---|---|---|---|---|---|",
        f"| {m['none']:.3f} | {m['keras_input']:.3f} | {m['keras_both']:.3f} | "
        f"{m['kerasdrop_input']:.3f} | {m['kerasdrop_both']:.3f} | "
        f"**{p['kerasdrop_input_over_keras_input']:.3f}** | "
        f"**{p['kerasdrop_both_over_keras_both']:.3f}** |",
    ]


def drop_block_table(r):
    med, ratio = r["median_s"], r["paired_ratio_to_none"]
    return [
        f"DropBlock2D, train-epoch time of a small CNN (`{r['command']}`; "
        f"two Conv2D(32) on 32x32x3, batch {r['setup']['batch']}, "
        f"{r['setup']['steps_per_epoch']} steps; "
        "median seconds and median paired ratio to no dropout):",
        "",
        "| none | keras SpatialDropout2D | kerasdrop SpatialDropout2D | "
        "kerasdrop DropBlock2D (block 5) |",
        "|---|---|---|---|",
        "| "
        + " | ".join(
            f"{med[k]:.3f} s (x{ratio[k]:.2f})"
            for k in ("none", "spatial", "kerasdrop_spatial", "dropblock")
        )
        + " |",
    ]


def connect_table(r):
    setup = r["setup"]
    lines = [
        f"Monte-Carlo DropConnect: `mc.predict` (T = {setup['samples']}, "
        f"{setup['inputs']} inputs, rate {setup['rate']}) over T compiled passes "
        "of the same model without DropConnect (`predict_on_batch`), median "
        "paired ratio; before: one wrapped-layer call per sample in the graph "
        "(target <= 1.5). Commands: "
        + "; ".join(f"`{run['command']}`" for run in r["backends"].values()),
        "",
        "| backend | network | before (per-sample calls) | **now** |",
        "|---|---|---|---|",
    ]
    for backend, label, ratios in connect_rows(r):
        lines.append(
            f"| {backend} | {label} | x{ratios['looped_before']:.2f} | "
            f"**x{ratios['mc_predict']:.2f}** |"
        )
    return lines


def depth_table(r):
    lines = [
        "Stochastic depth, train-epoch time (the commands below; rates "
        "linear to p_L = 0.5; median wall seconds, and the saving against no "
        "drop path, 1 - median paired ratio, in wall time / in the "
        "process's CPU time):",
        "",
        "| backend | network | no drop path | per-sample DropPath | **SkipResidual** |",
        "|---|---|---|---|---|",
    ]
    for backend, _, label, n in depth_rows(r):
        med, wall, cpu = n["median_s"], n["saving_vs_none"], n["cpu"]["saving_vs_none"]
        cells = [f"{med['none']:.3f} s"] + [
            f"{med[v]:.3f} s ({pct(wall[v])} / {pct(cpu[v])})"
            for v in ("per_sample", "skip")
        ]
        lines.append(f"| {backend} | {label} | " + " | ".join(cells) + " |")
    p = r["runs"].get("parity")
    if p:
        lines += [
            "",
            f"Accuracy parity ({p['task']}, {p['epochs']} epochs, "
            f"{len(p['val_loss']['skip'])} seeds): final validation loss "
            f"{p['mean']['per_sample']:.3f} ± {p['se']['per_sample']:.3f} "
            f"(per-sample) vs {p['mean']['skip']:.3f} ± {p['se']['skip']:.3f} "
            f"(skipping); difference {p['difference']:+.3f} ± "
            f"{p['se_difference']:.3f}: "
            + ("within" if p["within_2_se"] else "**not** within")
            + " 2 SE.",
        ]
    c = r["runs"].get("conv_in_cond")
    if c:
        ms = c["ms"]
        lines += [
            "",
            "JAX on CPU, a 3x3 Conv2D inside `lax.cond` against outside it "
            "(ms; why `SkipResidual` computes and selects a convolutional "
            "branch there): "
            + ", ".join(
                f"{part.replace('_', ' ')} {v['in_cond']:.1f} vs {v['plain']:.1f} "
                f"(x{v['ratio']:.1f})"
                for part, v in ms.items()
            )
            + ".",
        ]
    return lines


def uci_table(r):
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent))
    from kerasdrop.apps.uci import markdown_table

    return [
        "MC dropout on UCI regression, Gal & Ghahramani (2016) protocol "
        f"(`{r['command']}`; "
        'mean ± standard error over splits; "within 2 SE": |ours - paper| <= 2 '
        "sqrt(se_ours^2 + se_paper^2), the gap in those units in brackets):",
        "",
        markdown_table(r["results"]),
    ]


def _reach_cell(reach):
    """Per-seed labels to reach: mean ± SE (with the seeds that never do)."""
    never = f", {reach['seeds_never']} never" if reach["seeds_never"] else ""
    return f"{reach['per_seed_mean']:.0f} ± {reach['per_seed_se']:.0f}{never}"


def active_table(r):
    setup = r["setup"]
    rounds = [0, len(r["labels"]) // 2, len(r["labels"]) - 1]
    lines = [
        f"Active learning on digits, Gal et al. 2017's protocol "
        f"(`{r['command'].strip()}`; {setup['start_labels']} balanced labels, "
        f"+{setup['count']} per round, {setup['rounds']} rounds, "
        f"{setup['seeds']} seeds, T = {setup['samples']}; test accuracy, "
        "mean ± SE over seeds; labels counted with the start set; "
        f"random's final accuracy {r['random_final_accuracy']:.3f}, "
        f"target {setup['target_accuracy']:.2f}):",
        "",
        "| strategy | "
        + " | ".join(f"{r['labels'][i]} labels" for i in rounds)
        + " | labels to random's final (mean curve) | fewer labels than random"
        " | labels saved per seed (paired) | labels to target (per seed) |",
        "|---" * (len(rounds) + 5) + "|",
    ]
    for name in ACTIVE_STRATEGIES:
        s = r["strategies"][name]
        cells = [
            f"{s['accuracy_mean'][i]:.3f} ± {s['accuracy_se'][i]:.3f}" for i in rounds
        ]
        need, saving = s["labels_to_reach_random_final"], s["label_saving_vs_random"]
        paired = s["labels_saved_per_seed"]
        cells += [
            "never" if need is None else f"{need:.0f}",
            "-" if saving is None else f"{100 * saving:.0f}%",
            f"{paired['mean']:.0f} ± {paired['se']:.0f}",
            _reach_cell(s["reach_target"]),
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines + _variant_lines(r)


def _variant_lines(r):
    """BALD under other settings (`--variant` runs), each against its own
    random run on the same seeds and splits."""
    if not r.get("variants"):
        return []
    lines = [
        "",
        "BALD under other settings (each against its own random run, same "
        "seeds, splits and start sets):",
        "",
        "| variant | T | pool subset | labels to random's final (mean curve) "
        "| fewer labels than random | labels saved per seed (paired) "
        f"| labels to {r['setup']['target_accuracy']:.2f} (mean curve) |",
        "|---" * 7 + "|",
    ]
    main = r["strategies"]["bald"]
    rows = [("protocol above", r["setup"]["samples"], r["setup"]["pool_subset"], main)]
    for name, v in r["variants"].items():
        rows.append((name, v["samples"], v["pool_subset"], v["strategies"]["bald"]))
    for name, samples, subset, s in rows:
        need, saving = s["labels_to_reach_random_final"], s["label_saving_vs_random"]
        paired, target = s["labels_saved_per_seed"], s["reach_target"]["mean_curve"]
        cells = [
            name,
            str(samples),
            str(subset),
            "never" if need is None else f"{need:.0f}",
            "-" if saving is None else f"{100 * saving:.0f}%",
            f"{paired['mean']:.0f} ± {paired['se']:.0f}",
            "never" if target is None else f"{target:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def mask_table(r):
    lines = [
        f"Drawing one keep/drop mask of {' x '.join(map(str, r['shape']))} units "
        "in a compiled function: float32 uniforms (before) vs decision uniforms "
        "(two 15-bit values per random integer, now); median seconds and median "
        "paired ratio. Commands: "
        + "; ".join(f"`{run['command']}`" for run in r["backends"].values()),
        "",
        "| backend | float32 uniforms | decision uniforms | **ratio** |",
        "|---|---|---|---|",
    ]
    for backend, run in r["backends"].items():
        med = run["median_s"]
        ratio = run["paired_ratio_to_float_uniform"]["decision_uniform"]
        lines.append(
            f"| {backend} | {med['float_uniform'] * 1e3:.2f} ms | "
            f"{med['decision_uniform'] * 1e3:.2f} ms | **x{ratio:.2f}** |"
        )
    return lines
