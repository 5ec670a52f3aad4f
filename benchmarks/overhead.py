"""``sapp bench overhead``: what block pruning costs in training and saves in inference.

Two ratios, each taken within one run (issue 6, item 3):

* training-step overhead ``r_m = t_m / t_dense``, where ``t_m`` is the
  smallest over rounds of one run's mean step time (forward, backward, optimizer
  step and ``pruner.step()``) under method ``m``; issue 4's bar is
  ``r_sapp <= 1.15`` on the Criteo tower 390-400-400-400-1 and on a small
  ResNet-18;
* inference speedup ``t_dense / t_exported`` of the block-sparse export
  (:func:`benchmarks.speed.speed_report`) against the same finalized model run
  dense, per batch size; the ideal of a layer at block sparsity ``s`` is
  ``1 / (1 - s)``, the whole model's Amdahl's limit (every pruned layer at its
  ideal, :func:`benchmarks.speed.amdahl_limit`) is reported beside it.

Step time: :mod:`benchmarks.step_time` (the method and what is timed).

Inference. Criteo tower with its first layer pruned 90% in 10x10 blocks;
ResNet-18 (width 64, 32x32 inputs) with every layer of >= 100 blocks pruned 90%
in 16x16 blocks, each layer exported only where it measured faster at batch 64.

Run time, 2 threads on the idle 2-core development machine: ``--quick`` about
2 minutes and the full run 9 minutes (measured). Timings mean something on an
idle machine only; compare ratios within one run, not absolute times across
runs. ``--step-only`` runs the step-time half on its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from neural.cli_types import positive_int
from neural.pruning import METHODS
from nonconvex_reg.validation import check_int

from .results import (
    add_output_arguments,
    markdown_table,
    print_record,
    progress_bar,
    run_metadata,
    save_figure,
    write_results,
)
from .speed import speed_report
from .step_time import (
    MODELS,
    STEP_BAR,
    save_step_time,
    step_config,
    step_time_benchmark,
    step_time_markdown,
    step_time_record,
    step_time_table,
)

__all__ = [
    "inference_benchmark",
    "overhead_benchmark",
    "overhead_markdown",
    "plot_overhead",
    "save_overhead",
]

#: Inference: sparsity, block, then batch sizes and timed calls, (full, quick).
_INFERENCE = {
    "criteo": (0.9, 10, ((1, 64, 256), (1, 64, 256)), (20, 5)),
    "resnet18": (0.9, 16, ((1, 16, 64), (1, 16)), (10, 3)),
}


def _config(quick, models, steps=None, rounds=None, batch_sizes=None, repeats=None):
    """The effective settings per model, after checking every knob."""
    config = step_config(quick, models, steps, rounds)
    models = config["models"]
    if repeats is not None:
        check_int(repeats, "repeats", low=1)
    if batch_sizes is not None:
        batch_sizes = [check_int(b, "batch_sizes", low=1) for b in batch_sizes]
        if not batch_sizes:
            raise ValueError("`batch_sizes` must hold at least one size; got [].")
    q = bool(quick)
    return {
        **config,
        "batch_sizes": {
            m: list(_INFERENCE[m][2][q] if batch_sizes is None else batch_sizes)
            for m in models
        },
        "repeats": {
            m: _INFERENCE[m][3][q] if repeats is None else repeats for m in models
        },
    }


def inference_benchmark(
    models=MODELS, *, quick=False, batch_sizes=None, repeats=None, progress=None
) -> list[dict]:
    """Dense vs block-sparse export inference time per batch size, one record a model.

    Parameters
    ----------
    models : sequence of {"criteo", "resnet18"}, default=MODELS
    quick : bool, default=False
        Fewer timed calls (5 Criteo, 3 ResNet) and no ResNet batch of 64.
    batch_sizes : sequence of int, optional
        Batch sizes for every model, overriding ``quick``'s.
    repeats : int, optional
        Timed calls per measurement (export decisions included), overriding
        ``quick``'s.
    progress : callable, optional
        Called as ``progress(done, total, label)`` after each model.

    Returns
    -------
    list of dict
        The records of :func:`benchmarks.speed.speed_report` (``model``,
        ``sparsity``, ``block``, ``threads``, ``export``, ``layers``, ``models``).

    Raises
    ------
    ValueError
        If a model is unknown or ``batch_sizes`` or ``repeats`` is below 1.
    """
    config = _config(quick, models, batch_sizes=batch_sizes, repeats=repeats)
    progress = progress or (lambda *_: None)
    models = config["models"]
    records = []
    for done, name in enumerate(models, start=1):
        sparsity, block, _, _ = _INFERENCE[name]
        record, _, _ = speed_report(
            name,
            sparsity,
            block,
            config["batch_sizes"][name],
            repeats=config["repeats"][name],
        )
        records.append(record)
        progress(done, len(models), f"{name} inference")
    return records


def overhead_benchmark(
    *,
    quick=False,
    threads=2,
    models=MODELS,
    steps=None,
    rounds=None,
    batch_sizes=None,
    repeats=None,
    progress=None,
) -> dict:
    """Step-time ratios and inference speedups of block pruning, in one record.

    Parameters
    ----------
    quick : bool, default=False
        The short configuration (on an idle 2-core machine about 2 minutes
        instead of 9).
    threads : int, default=2
        Torch intra-op threads during the run (restored afterwards).
    models : sequence of {"criteo", "resnet18"}, default=MODELS
    steps, rounds : int, optional
        See :func:`step_time_benchmark`.
    batch_sizes, repeats : optional
        See :func:`inference_benchmark`.
    progress : callable, optional
        Called as ``progress(done, total, label)`` after each task.

    Returns
    -------
    dict
        ``meta`` (command line, machine, versions, seed, threads, quick and
        ``config``: the effective steps, rounds, batch sizes and timed calls),
        ``bar`` (:data:`STEP_BAR`), ``step_time`` (rows of
        :func:`step_time_benchmark`), ``inference`` (one row per model and batch:
        ``model``, ``sparsity``, ``block``, ``batch``, ``dense_ms``,
        ``exported_ms``, ``speedup``, ``ideal``, ...) and ``export`` (per model,
        the per-layer export decisions and timings).

    Raises
    ------
    ValueError
        If ``threads`` or a size knob is below 1 or a model is unknown.
    """
    threads = check_int(threads, "threads", low=1)
    config = _config(quick, models, steps, rounds, batch_sizes, repeats)
    models = config["models"]
    progress = progress or (lambda *_: None)
    n_step = len(models) * (1 + config["rounds"] * (1 + len(METHODS)))
    total = n_step + len(models)
    threads_before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        step_rows = step_time_benchmark(
            models,
            quick=quick,
            steps=steps,
            rounds=rounds,
            progress=lambda done, _, label: progress(done, total, label),
        )
        records = inference_benchmark(
            models,
            quick=quick,
            batch_sizes=batch_sizes,
            repeats=repeats,
            progress=lambda done, _, label: progress(n_step + done, total, label),
        )
    finally:
        torch.set_num_threads(threads_before)
    inference, export = [], []
    for record in records:
        setting = {"sparsity": record["sparsity"], "block": record["block"]}
        ideal = 1.0 / (1.0 - record["sparsity"])
        # "model" first, then the setting, then speed_report's row.
        inference += [
            {"model": row["model"], **setting, **row, "ideal": ideal}
            for row in record["models"]
        ]
        export.append({k: record[k] for k in ("model", "export", "layers")})
    record = {
        "meta": run_metadata(
            ["sapp", "torch", "numpy", "numba", "matplotlib"],
            seed=0,
            threads=threads,
            quick=bool(quick),
            config=config,
        ),
        "bar": STEP_BAR,
        "step_time": step_rows,
        "inference": inference,
        "export": export,
    }
    # Tuples become lists: the record equals what --json prints and the file holds.
    return json.loads(json.dumps(record))


def overhead_markdown(record) -> str:
    """The record of :func:`overhead_benchmark` as a Markdown report."""
    meta = record["meta"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v)
    lines = [
        "# Block pruning overhead: training-step time and inference speedup (CPU)",
        "",
        f"Command: `{meta['command']}`; machine: {meta['machine']}; Python "
        f"{meta['python']}; {versions}; torch threads: {meta['threads']}"
        + ("; quick mode" if meta["quick"] else "")
        + ". Timings mean something on an idle machine only; ratios are taken "
        "within this run.",
        "",
        "## Training step vs dense",
        "",
        f"Best over rounds of each run's mean step (forward, backward, optimizer "
        f"step, `pruner.step()`), every phase of the method's default timeline "
        f"included. Bar: SA++ <= {record['bar']}x dense.",
        "",
        *step_time_table(record["step_time"]),
        "",
    ]
    for r in (r for r in record["step_time"] if r["solver_name"] == "sapp"):
        met = "met" if r["ratio_to_dense"] <= record["bar"] else "NOT met"
        lines.append(f"- {r['model']}: SA++ {r['ratio_to_dense']:.3f}x dense, {met}.")
    lines += [
        "",
        "## Inference: dense vs exported block-sparse (ms per batch, median over "
        "rounds of the fastest call)",
        "",
        *markdown_table(
            [
                "model",
                "sparsity",
                "block",
                "batch",
                "dense ms",
                "exported ms",
                "speedup",
                "Amdahl limit",
                "ideal",
                "max rel. error",
            ],
            [
                [
                    r["model"],
                    f"{r['sparsity']:.0%}",
                    f"{r['block']}x{r['block']}",
                    r["batch"],
                    f"{r['dense_ms']:.3f}",
                    f"{r['exported_ms']:.3f}",
                    f"{r['speedup']:.2f}x",
                    f"{r['amdahl_limit']:.2f}x",
                    f"{r['ideal']:.0f}x",
                    f"{r['max_relative_error']:.1e}",
                ]
                for r in record["inference"]
            ],
        ),
    ]
    lines.append("")
    for entry in record["export"]:
        layers = entry["export"]["layers"]
        sparse = [x["name"] for x in layers if x["decision"] == "block-sparse"]
        lines.append(
            f"- {entry['model']}: {len(sparse)} of {len(layers)} pruned layers "
            f"exported block-sparse ({', '.join(sparse) or 'none'})."
        )
    return "\n".join(lines) + "\n"


def plot_overhead(record, path) -> Path:
    """Two panels: step-time ratio per method and inference speedup per batch size.

    Parameters
    ----------
    record : dict
        The record of :func:`overhead_benchmark`.
    path : str or Path
        PNG file to write (atomically).

    Returns
    -------
    Path
        ``path``.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = figure.subplots(1, 2)
    step_rows = [r for r in record["step_time"] if r["solver_name"] != "dense"]
    methods = list(dict.fromkeys(r["solver_name"] for r in step_rows))
    models = list(dict.fromkeys(r["model"] for r in step_rows))
    width = 0.8 / max(len(models), 1)
    top = max([record["bar"], *(r["ratio_to_dense"] for r in step_rows)])
    for i, model in enumerate(models):
        # Every model has every method, in the same order.
        heights = [r["ratio_to_dense"] for r in step_rows if r["model"] == model]
        xs = [j + (i - (len(models) - 1) / 2) * width for j in range(len(heights))]
        bars = left.bar(xs, heights, width, label=model)
        left.bar_label(bars, fmt="%.2f", fontsize=7)
    left.axhline(1.0, color="black", linestyle="--", linewidth=1, label="dense")
    left.axhline(
        record["bar"], color="tab:red", linestyle=":", label=f"bar {record['bar']}x"
    )
    left.set_xticks(range(len(methods)), methods)
    left.set_xlabel("pruning method")
    left.set_ylabel("step time / dense step time")
    left.set_title("training step vs dense (90% block sparsity)")
    left.set_ylim(0, 1.3 * top)
    left.legend(loc="upper left", ncols=2, fontsize=8)
    batches = sorted({r["batch"] for r in record["inference"]})
    for model in dict.fromkeys(r["model"] for r in record["inference"]):
        rows = [r for r in record["inference"] if r["model"] == model]
        right.plot(
            [r["batch"] for r in rows],
            [r["speedup"] for r in rows],
            marker="o",
            label=f"{model} ({rows[0]['block']}x{rows[0]['block']} blocks, "
            f"{rows[0]['sparsity']:.0%})",
        )
    right.axhline(1.0, color="black", linestyle="--", linewidth=1, label="dense")
    right.set_xscale("log")
    right.set_xlabel("batch size")
    right.set_ylabel("dense time / block-sparse time")
    right.set_title("inference speedup of the exported model")
    right.set_xticks(batches, [str(b) for b in batches])
    right.minorticks_off()
    right.set_ylim(bottom=0)
    right.legend(fontsize=8)
    meta = record["meta"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v)
    quick = " (quick)" if meta["quick"] else ""
    figure.suptitle(
        f"{meta['machine']}, torch threads {meta['threads']}; Python "
        f"{meta['python']}, {versions}{quick}",
        fontsize=8,
    )
    return save_figure(figure, path)


def save_overhead(record, folder) -> list[Path]:
    """Write ``overhead.{json,md,png}`` (quick: ``overhead_quick.*``) into ``folder``.

    Returns
    -------
    list of Path
        The three files written.
    """
    stem = "overhead_quick" if record["meta"]["quick"] else "overhead"
    paths = write_results(folder, stem, record, overhead_markdown(record))
    return [*paths, plot_overhead(record, Path(folder) / f"{stem}.png")]


def add_arguments(parser) -> None:
    """The options of ``sapp bench overhead``."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short runs (about 2 minutes on an idle 2-core machine)",
    )
    parser.add_argument(
        "--threads", type=positive_int, default=2, help="torch threads (default 2)"
    )
    parser.add_argument(
        "--step-only",
        action="store_true",
        help="only the training-step half; writes prune_step.{json,md} "
        "(quick: prune_step_quick.*) instead",
    )
    add_output_arguments(parser, "overhead.{json,md,png}")


def run(args) -> int:
    """Run the benchmark for parsed ``args``, write the files, print the report."""
    with progress_bar("sapp bench overhead", "run", args.json) as progress:
        if args.step_only:
            record = step_time_record(
                quick=args.quick, threads=args.threads, progress=progress
            )
        else:
            record = overhead_benchmark(
                quick=args.quick, threads=args.threads, progress=progress
            )
    if args.step_only:
        paths = save_step_time(record, args.out)
        text = step_time_markdown(record["rows"], record["meta"])
    else:
        paths = save_overhead(record, args.out)
        text = overhead_markdown(record)
    print_record(record, text, paths, args.json)
    return 0
