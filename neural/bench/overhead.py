"""``sapp bench overhead``: what block pruning costs in training and saves in inference.

Two ratios, each taken within one run (issue 6, item 3):

* training-step overhead ``r_m = t_m / t_dense``, where ``t_m`` is the
  smallest over rounds of one run's mean step time (forward, backward, optimizer
  step and ``pruner.step()``) under method ``m``; issue 4's bar is
  ``r_sapp <= 1.15`` on the Criteo tower 390-400-400-400-1 and on a small
  ResNet-18;
* inference speedup ``t_dense / t_exported`` of the block-sparse export
  (:func:`neural.export.speed.speed_report`) against the same finalized model run
  dense, per batch size; the ideal at block sparsity ``s`` is ``1 / (1 - s)``.

Step time. Each method trains a fresh model for ``steps`` steps on its own
default timeline, so every phase (dense, sparsify, sparse) and every phase switch
is inside the timed window; every step is timed on its own. Methods run
interleaved, ``rounds`` rounds, after one untimed dense warm-up run (allocator,
thread pool, kernels); each round starts one method later than the previous one,
so no method always runs first. The reported time is the best (smallest) over
rounds of each run's mean step time, and the ratio divides by the dense model's
best from the same rounds: on a virtual machine other tenants only ever add
time, so the fastest round is the least disturbed one (the same reasoning as
``timeit``'s), where single runs of the same method differ by up to 15% on the 2-core
development machine.
Inputs are fixed tensors (no data loading in the window). Models: the
Criteo tower (batch 1024, 20x20 blocks) and ResNet-18 of width 32 on 32x32 inputs
(batch 32, 8x8 blocks), both at 90% block sparsity, SGD with momentum.

Inference. Criteo tower with its first layer pruned 90% in 10x10 blocks;
ResNet-18 (width 64, 32x32 inputs) with every layer of >= 100 blocks pruned 90%
in 16x16 blocks, each layer exported only where it measured faster at batch 64.

Run time, 2 threads on the idle 2-core development machine: ``--quick`` about
2 minutes and the full run 9 minutes (measured). Timings mean something on an
idle machine only; compare ratios within one run, not absolute times across
runs. ``benchmarks/bench_prune_step.py``
runs the step-time half on its own.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

import torch
from torch import nn

from nonconvex_reg.validation import check_choice, check_int

from ..cli_types import positive_int
from ..export.speed import speed_report
from ..models import criteo_tower, resnet18
from ..pruning import METHODS, prune
from .results import (
    add_output_arguments,
    print_record,
    progress_bar,
    run_metadata,
    save_figure,
    write_results,
)

__all__ = [
    "HELP",
    "MODELS",
    "STEP_BAR",
    "add_arguments",
    "inference_benchmark",
    "overhead_benchmark",
    "overhead_markdown",
    "plot_overhead",
    "run",
    "save_overhead",
    "step_time_benchmark",
    "step_time_table",
]

#: One-line help of ``sapp bench overhead``.
HELP = "training-step time of each pruning method vs dense; block-sparse speedup"

#: Issue 4's bar: one SA++ training step costs at most this many dense steps.
STEP_BAR = 1.15

#: Models both halves run on (the names of :data:`neural.export.speed.SPEED_MODELS`).
MODELS = ("criteo", "resnet18")

#: Training steps per run, (full, quick).
_STEPS = {"criteo": (300, 60), "resnet18": (60, 12)}
#: Interleaved rounds, (full, quick): the best of 5 in both.
_ROUNDS = (5, 5)
#: Inference: sparsity, block, then batch sizes and timed calls, (full, quick).
_INFERENCE = {
    "criteo": (0.9, 10, ((1, 64, 256), (1, 64, 256)), (20, 5)),
    "resnet18": (0.9, 16, ((1, 16, 64), (1, 16)), (10, 3)),
}
_PHASE_COLUMNS = ("dense", "sparsify", "sparse")


def _step_case(name, steps):
    """Fixed inputs, model factory and loss of one step-time setting."""
    generator = torch.Generator().manual_seed(0)
    if name == "criteo":
        batch, block, setting = 1024, 20, "criteo tower 390-400-400-400-1"
        x = torch.randn(batch, 390, generator=generator)
        y = torch.randint(0, 2, (batch, 1), generator=generator).float()
        make, loss = criteo_tower, nn.functional.binary_cross_entropy_with_logits
    else:
        batch, block, setting = 32, 8, "resnet18 width 32, 32x32 inputs"
        x = torch.randn(batch, 3, 32, 32, generator=generator)
        y = torch.randint(0, 10, (batch,), generator=generator)
        make = lambda: resnet18(num_classes=10, width=32, small_input=True)  # noqa: E731
        loss = nn.functional.cross_entropy
    return {
        "name": f"{setting}, batch {batch}, {block}x{block} blocks",
        "model": make,
        "loss": lambda model: loss(model(x), y),
        "block": block,
        "steps": steps,
    }


def _train_run(case, method):
    """One fresh training run; mean step time (s) overall and per phase kind."""
    torch.manual_seed(0)
    model = case["model"]()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    pruner = None
    if method != "dense":
        pruner = prune(
            model,
            method,
            sparsity=0.9,
            block=case["block"],
            total_steps=case["steps"],
            optimizer=optimizer,
        )
    by_phase = defaultdict(list)
    for _ in range(case["steps"]):
        phase = "dense" if pruner is None else pruner.phase.kind
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        case["loss"](model).backward()
        optimizer.step()
        if pruner is not None:
            pruner.step()
        by_phase[phase].append(time.perf_counter() - start)
    steps = [t for times in by_phase.values() for t in times]
    return statistics.fmean(steps), {
        k: statistics.fmean(v) for k, v in by_phase.items()
    }


def _config(quick, models, steps=None, rounds=None, batch_sizes=None, repeats=None):
    """The effective settings per model, after checking every knob."""
    if isinstance(models, str):
        models = (models,)
    models = tuple(check_choice(m, "models", MODELS) for m in models)
    if not models:
        raise ValueError(f"`models` must name at least one of {MODELS}; got ().")
    for name, value in (("steps", steps), ("rounds", rounds), ("repeats", repeats)):
        if value is not None:
            check_int(value, name, low=1)
    if batch_sizes is not None:
        batch_sizes = [check_int(b, "batch_sizes", low=1) for b in batch_sizes]
        if not batch_sizes:
            raise ValueError("`batch_sizes` must hold at least one size; got [].")
    q = bool(quick)
    return {
        "models": list(models),
        "steps": {m: _STEPS[m][q] if steps is None else steps for m in models},
        "rounds": _ROUNDS[q] if rounds is None else rounds,
        "batch_sizes": {
            m: list(_INFERENCE[m][2][q] if batch_sizes is None else batch_sizes)
            for m in models
        },
        "repeats": {
            m: _INFERENCE[m][3][q] if repeats is None else repeats for m in models
        },
    }


def step_time_benchmark(
    models=MODELS, *, quick=False, steps=None, rounds=None, progress=None
) -> list[dict]:
    """Training-step time of every pruning method against dense, interleaved.

    Parameters
    ----------
    models : sequence of {"criteo", "resnet18"}, default=MODELS
    quick : bool, default=False
        Short runs (60 Criteo and 12 ResNet steps) instead of 300 and 60; 5
        rounds either way.
    steps : int, optional
        Training steps per run for every model, overriding ``quick``'s.
    rounds : int, optional
        Interleaved rounds of all methods, overriding ``quick``'s.
    progress : callable, optional
        Called as ``progress(done, total, label)`` after each training run.

    Returns
    -------
    list of dict
        One row per model and method (``"dense"`` first): ``model``,
        ``dataset_name`` (the setting), ``solver_name`` (the method),
        ``time_ms`` (best round's mean step), ``ratio_to_dense``, ``phase_ms``
        (best round's mean per phase kind) and ``runs_ms`` (each round's mean
        step, in round order).

    Raises
    ------
    ValueError
        If a model is unknown or ``steps`` or ``rounds`` is below 1.

    Examples
    --------
    >>> rows = step_time_benchmark(["criteo"], steps=2, rounds=1)
    >>> [row["solver_name"] for row in rows]
    ['dense', 'magnitude', 'powerprop', 'acdc', 'sapp']
    >>> rows[0]["ratio_to_dense"]
    1.0
    """
    config = _config(quick, models, steps=steps, rounds=rounds)
    progress = progress or (lambda *_: None)
    models, rounds = config["models"], config["rounds"]
    methods = ["dense", *METHODS]
    total, done = len(models) * (1 + rounds * len(methods)), 0
    rows = []
    for name in models:
        case = _step_case(name, config["steps"][name])
        _train_run(case, "dense")  # warm-up: allocator, thread pool, kernels
        done += 1
        progress(done, total, f"{name} warm-up")
        means, phases = defaultdict(list), defaultdict(lambda: defaultdict(list))
        for round_ in range(rounds):
            for method in methods[round_:] + methods[:round_]:
                mean, by_phase = _train_run(case, method)
                means[method].append(mean)
                for kind, value in by_phase.items():
                    phases[method][kind].append(value)
                done += 1
                progress(done, total, f"{name} {method}")
        dense_ms = min(means["dense"]) * 1e3
        for method in methods:
            time_ms = min(means[method]) * 1e3
            rows.append(
                {
                    "model": name,
                    "dataset_name": case["name"],
                    "solver_name": method,
                    "time_ms": time_ms,
                    "ratio_to_dense": time_ms / dense_ms,
                    "phase_ms": {
                        kind: min(v) * 1e3
                        for kind, v in phases[method].items()
                    },
                    "runs_ms": [m * 1e3 for m in means[method]],
                }
            )
    return rows


def step_time_table(rows) -> list[str]:
    """Markdown table lines of :func:`step_time_benchmark`'s rows."""
    lines = [
        "| model | method | step (ms) | / dense | dense-phase ms | sparsify ms | "
        "sparse ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        phase = r["phase_ms"]
        cells = [f"{phase[k]:.2f}" if k in phase else "-" for k in _PHASE_COLUMNS]
        lines.append(
            f"| {r['dataset_name']} | {r['solver_name']} | {r['time_ms']:.2f} | "
            f"{r['ratio_to_dense']:.3f} | " + " | ".join(cells) + " |"
        )
    return lines


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
        The records of :func:`neural.export.speed.speed_report` (``model``,
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
        "## Inference: dense vs exported block-sparse (ms per batch, median)",
        "",
        "| model | sparsity | block | batch | dense ms | exported ms | speedup | "
        "ideal | max rel. error |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in record["inference"]:
        lines.append(
            f"| {r['model']} | {r['sparsity']:.0%} | {r['block']}x{r['block']} | "
            f"{r['batch']} | {r['dense_ms']:.3f} | {r['exported_ms']:.3f} | "
            f"{r['speedup']:.2f}x | {r['ideal']:.0f}x | "
            f"{r['max_relative_error']:.1e} |"
        )
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
    """Add ``--quick``, ``--threads``, ``--out`` and ``--json`` to ``parser``."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short runs (about 2 minutes on an idle 2-core machine)",
    )
    parser.add_argument(
        "--threads", type=positive_int, default=2, help="torch threads (default 2)"
    )
    add_output_arguments(parser, "overhead.{json,md,png}")


def run(args) -> int:
    """Run the benchmark for parsed ``args``, write the files, print the report."""
    with progress_bar("sapp bench overhead", "run", args.json) as progress:
        record = overhead_benchmark(
            quick=args.quick, threads=args.threads, progress=progress
        )
    paths = save_overhead(record, args.out)
    print_record(record, overhead_markdown(record), paths, args.json)
    return 0
