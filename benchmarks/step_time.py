"""Training-step time of every pruning method against dense, on CPU (issue 4).

The step-time half of ``sapp bench overhead`` (:mod:`benchmarks.overhead`);
``sapp bench overhead --step-only`` runs it alone and writes
``prune_step.{json,md}`` (``--quick``: ``prune_step_quick.*``).

Each method trains a fresh model for ``steps`` steps on its own default
timeline, so every phase (dense, sparsify, sparse) and every phase switch is
inside the timed window; every step is timed on its own. Methods run
interleaved, ``rounds`` rounds, after one untimed dense warm-up run (allocator,
thread pool, kernels); each round starts one method later than the previous one,
so no method always runs first. The reported time is the best (smallest) over
rounds of each run's mean step time, and the ratio divides by the dense model's
best from the same rounds: on a virtual machine other tenants only ever add
time, so the fastest round is the least disturbed one (the same reasoning as
``timeit``'s), where single runs of the same method differ by up to 15% on the
2-core development machine. Inputs are fixed tensors (no data loading in the
window). Models: the Criteo tower (batch 1024, 20x20 blocks) and ResNet-18 of
width 32 on 32x32 inputs (batch 32, 8x8 blocks), both at 90% block sparsity, SGD
with momentum.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict

import torch
from torch import nn

from neural.models import criteo_tower, resnet18
from neural.pruning import METHODS, prune
from nonconvex_reg.validation import check_choice, check_int

from .results import markdown_table, run_metadata, write_results

__all__ = [
    "MODELS",
    "STEP_BAR",
    "save_step_time",
    "step_config",
    "step_time_benchmark",
    "step_time_markdown",
    "step_time_record",
    "step_time_table",
]

#: Issue 4's bar: one SA++ training step costs at most this many dense steps.
STEP_BAR = 1.15

#: Models both halves of ``sapp bench overhead`` run on (the names of
#: :data:`benchmarks.speed.SPEED_MODELS`).
MODELS = ("criteo", "resnet18")

#: Training steps per run, (full, quick).
_STEPS = {"criteo": (300, 60), "resnet18": (60, 12)}
#: Interleaved rounds, (full, quick): the best of 5 in both.
_ROUNDS = (5, 5)
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


def step_config(quick, models, steps=None, rounds=None) -> dict:
    """The checked models and the effective steps (per model) and rounds."""
    if isinstance(models, str):
        models = (models,)
    models = tuple(check_choice(m, "models", MODELS) for m in models)
    if not models:
        raise ValueError(f"`models` must name at least one of {MODELS}; got ().")
    for name, value in (("steps", steps), ("rounds", rounds)):
        if value is not None:
            check_int(value, name, low=1)
    q = bool(quick)
    return {
        "models": list(models),
        "steps": {m: _STEPS[m][q] if steps is None else steps for m in models},
        "rounds": _ROUNDS[q] if rounds is None else rounds,
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
    config = step_config(quick, models, steps=steps, rounds=rounds)
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
                        kind: min(v) * 1e3 for kind, v in phases[method].items()
                    },
                    "runs_ms": [m * 1e3 for m in means[method]],
                }
            )
    return rows


def step_time_table(rows) -> list[str]:
    """Markdown table lines of :func:`step_time_benchmark`'s rows."""
    header = ["model", "method", "step (ms)", "/ dense", "dense-phase ms"]
    header += ["sparsify ms", "sparse ms"]
    body = []
    for r in rows:
        phase = r["phase_ms"]
        body.append(
            [
                r["dataset_name"],
                r["solver_name"],
                f"{r['time_ms']:.2f}",
                f"{r['ratio_to_dense']:.3f}",
                *(f"{phase[k]:.2f}" if k in phase else "-" for k in _PHASE_COLUMNS),
            ]
        )
    return markdown_table(header, body)


def step_time_markdown(rows, meta: dict) -> str:
    """Report of a step-time-only run (``prune_step.md``).

    Parameters
    ----------
    rows : list of dict
        What :func:`step_time_benchmark` returns.
    meta : dict
        Run metadata (:func:`benchmarks.results.run_metadata`) with ``threads``.
    """
    lines = [
        "# Training-step time of block pruning methods vs dense (CPU)",
        "",
        f"Command: `{meta['command']}`; machine: {meta['machine']}; torch "
        f"{meta['versions']['torch']}, {meta['threads']} threads. Bar: SA++ <= "
        f"{STEP_BAR}x dense.",
        "",
        *step_time_table(rows),
    ]
    return "\n".join(lines) + "\n"


def step_time_record(
    models=MODELS, *, quick=False, threads=2, steps=None, rounds=None, progress=None
) -> dict:
    """:func:`step_time_benchmark` with ``threads`` torch threads, and its metadata.

    Parameters
    ----------
    models : sequence of {"criteo", "resnet18"}, default=MODELS
    quick : bool, default=False
    threads : int, default=2
        Torch intra-op threads during the run (restored afterwards).
    steps, rounds : int, optional
    progress : callable, optional
        See :func:`step_time_benchmark` for these.

    Returns
    -------
    dict
        ``meta`` (run metadata with the seed, threads and ``quick``) and
        ``rows`` (:func:`step_time_benchmark`'s).

    Raises
    ------
    ValueError
        If ``threads`` is below 1.
    """
    threads = check_int(threads, "threads", low=1)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        rows = step_time_benchmark(
            models, quick=quick, steps=steps, rounds=rounds, progress=progress
        )
    finally:
        torch.set_num_threads(before)
    meta = run_metadata(["sapp", "torch"], seed=0, threads=threads, quick=bool(quick))
    return {"meta": meta, "rows": rows}


def save_step_time(record, folder) -> list:
    """Write ``prune_step.{json,md}`` (quick: ``prune_step_quick.*``) into ``folder``.

    Returns
    -------
    list of Path
        The two files written.
    """
    stem = "prune_step_quick" if record["meta"]["quick"] else "prune_step"
    markdown = step_time_markdown(record["rows"], record["meta"])
    return write_results(folder, stem, record, markdown)
