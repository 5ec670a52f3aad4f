"""``sapp bench teacher``: support recovery of each pruning method on a planted teacher.

Issue 4's bar: at 90% sparsity with blocks >= 8, SA++ recovers at least as much
of the true block support as ACDC and magnitude pruning.

Setup (ours; the paper has no such experiment):

* inputs ``x in R^256`` with AR(1) correlation ``rho = 0.7`` between neighbouring
  features, so a dense fit spreads weight onto blocks next to the true ones;
* teacher ``y = tanh(x W*) + noise``: ``W*`` is 256 x 128 (fan_in x fan_out)
  with a random 10% of its B x B blocks nonzero, entries ``N(0, 1/25.6)`` times a
  per-block scale drawn log-uniformly in [0.3, 3] (important blocks need not be
  the largest); noise std ``sigma``. Every output is observed, so the support is
  identifiable (no hidden unit can permute or hide in a readout's null space);
* student: ``Linear(256, 128)`` (the pruned layer, B x B blocks, 90% sparsity)
  -> tanh;
* regimes ``(n_train, sigma)`` = (1024, 0.3) and (256, 0.3): a well-determined
  fit (4096, 0.1) is solved exactly by every method and is left out;
* batch 128, AdamW (lr 3e-3) with decoupled weight decay ``wd`` in {1e-4, 0.1, 1}
  on every parameter, logits included, the same for every method; each method on
  its default timeline over the same number of steps, then ``finalize()``.
  The weight-decay axis is there because SA++'s selection rests on it: softmax
  attention plus weight decay is the nonconvex group penalty of Lemma 2.1, and
  without decay the logits carry little signal (Appendix C.1, trick 2).

Reported per method and block size (mean over seeds): recovery
``|S cap S*| / |S*|`` of the finalized support, and the test mean squared error
of the finalized model on 4096 fresh samples (noise floor ``sigma^2``).

Run: ``sapp bench teacher [--quick] [--workers N]``. Writes
``planted_teacher.{json,md}`` (``--quick``: ``planted_teacher_quick.*``).
"""

from __future__ import annotations

import math
import multiprocessing
import statistics
import sys

import torch
from torch import nn

import neural
from neural.cli_types import positive_int
from neural.pruning import n_kept_blocks

from .results import (
    add_output_arguments,
    markdown_table,
    print_record,
    run_metadata,
    write_results,
)

__all__ = ["add_arguments", "run", "summary", "teacher_benchmark", "teacher_markdown"]

SPARSITY = 0.9
FAN_IN, FAN_OUT = 256, 128
RHO = 0.7
REGIMES = ((1024, 0.3), (256, 0.3))
WEIGHT_DECAYS = (1e-4, 0.1, 1.0)


def correlated_inputs(n, generator):
    """AR(1) features: ``x_i = rho x_{i-1} + sqrt(1 - rho^2) e_i``."""
    e = torch.randn(n, FAN_IN, generator=generator)
    x = torch.empty_like(e)
    x[:, 0] = e[:, 0]
    for i in range(1, FAN_IN):
        x[:, i] = RHO * x[:, i - 1] + math.sqrt(1 - RHO**2) * e[:, i]
    return x


def make_teacher(block, seed, n_train, noise):
    generator = torch.Generator().manual_seed(seed)
    grid = neural.BlockGrid((FAN_OUT, FAN_IN), block)
    k = n_kept_blocks(grid.n_blocks, SPARSITY)
    support = torch.zeros(grid.n_blocks, dtype=torch.bool)
    support[torch.randperm(grid.n_blocks, generator=generator)[:k]] = True
    support = support.view(grid.grid_shape)
    scales = torch.exp(
        torch.empty(grid.grid_shape).uniform_(
            math.log(0.3), math.log(3.0), generator=generator
        )
    )
    std = 1.0 / math.sqrt(FAN_IN * (1 - SPARSITY))
    weight = torch.randn(FAN_OUT, FAN_IN, generator=generator) * std
    weight = grid.scale(weight, scales * support)

    def sample(n):
        x = correlated_inputs(n, generator)
        y = torch.tanh(x @ weight.t())
        return x, y + noise * torch.randn(y.shape, generator=generator)

    return support, sample(n_train), sample(4096)


def make_student(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(FAN_IN, FAN_OUT), nn.Tanh())


def train_case(method, block, seed, total_steps, n_train, noise, weight_decay):
    support, (x, y), (x_test, y_test) = make_teacher(block, seed, n_train, noise)
    model = make_student(seed)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=3e-3, weight_decay=weight_decay
    )
    pruner = neural.prune(
        model,
        method,
        sparsity=SPARSITY,
        block=block,
        total_steps=total_steps,
        optimizer=optimizer,
        layers=["0"],
    )
    order = torch.Generator().manual_seed(seed + 1000)
    step = 0
    while step < total_steps:
        for batch in torch.randperm(len(x), generator=order).split(128):
            if step == total_steps:
                break
            optimizer.zero_grad(set_to_none=True)
            nn.functional.mse_loss(model(x[batch]), y[batch]).backward()
            optimizer.step()
            pruner.step()
            step += 1
    mask = pruner.masks[0].mask.clone()
    pruner.finalize()
    with torch.no_grad():
        test_mse = nn.functional.mse_loss(model(x_test), y_test).item()
    recovered = (mask & support).sum().item() / support.sum().item()
    return {"recovery": recovered, "test_mse": test_mse, "kept": int(mask.sum())}


def _run_case(case):
    torch.set_num_threads(1)
    return {**case, **train_case(**case)}


def benchmark(quick, workers):
    seeds = [0] if quick else [0, 1, 2]
    total_steps = 400 if quick else 3000
    cases = [
        {
            "n_train": n_train,
            "noise": noise,
            "weight_decay": wd,
            "block": block,
            "method": method,
            "seed": seed,
            "total_steps": total_steps,
        }
        for n_train, noise in REGIMES
        for wd in WEIGHT_DECAYS
        for block in (8, 16)
        for method in neural.METHODS
        for seed in seeds
    ]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        rows = []
        for row in pool.imap(_run_case, cases):
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
    return rows, total_steps


CELL = ("n_train", "noise", "weight_decay", "block")


def summary(rows):
    """Mean and minimum recovery and mean test MSE per cell and method; SA++'s bar."""
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in CELL) + (r["method"],), []).append(r)
    table = [
        {
            **dict(zip(CELL, key[:-1], strict=True)),
            "method": key[-1],
            "recovery_mean": statistics.fmean(r["recovery"] for r in runs),
            "recovery_min": min(r["recovery"] for r in runs),
            "test_mse_mean": statistics.fmean(r["test_mse"] for r in runs),
            "n_seeds": len(runs),
        }
        for key, runs in groups.items()
    ]
    for entry in table:
        peers = [
            other["recovery_mean"]
            for other in table
            if all(other[k] == entry[k] for k in CELL)
            and other["method"] in ("acdc", "magnitude")
        ]
        entry["bar_met"] = (
            entry["recovery_mean"] >= max(peers) if entry["method"] == "sapp" else None
        )
    return table


def teacher_markdown(table, meta) -> str:
    """The report: one row per regime, weight decay, block size and method."""
    body = [
        [
            s["n_train"],
            s["noise"],
            f"{s['weight_decay']:g}",
            f"{s['block']}x{s['block']}",
            s["method"],
            f"{s['recovery_mean']:.3f}",
            f"{s['recovery_min']:.3f}",
            f"{s['test_mse_mean']:.4f}",
            {None: "", True: "met", False: "NOT met"}[s["bar_met"]],
        ]
        for s in table
    ]
    header = ["n_train", "noise", "weight decay", "block", "method"]
    header += ["recovery (mean)", "recovery (min)", "test MSE (mean)", "bar"]
    lines = [
        "# Planted block-sparse teacher: support recovery at 90% sparsity",
        "",
        f"Command: `{meta['command']}`; machine: {meta['machine']}; "
        f"{meta['total_steps']} steps per run; seeds {meta['seeds']}. "
        "Bar: SA++ recovery >= ACDC's and magnitude's (mean over seeds).",
        "",
        *markdown_table(header, body),
    ]
    return "\n".join(lines) + "\n"


def teacher_benchmark(*, quick=False, workers=2) -> dict:
    """Every case of the grid over ``workers`` processes; the JSON record.

    Returns
    -------
    dict
        ``meta`` (run metadata with the seeds, steps and ``quick``), ``summary``
        (:func:`summary`) and ``rows`` (one per trained model).
    """
    rows, total_steps = benchmark(quick, workers)
    seeds = sorted({r["seed"] for r in rows})
    meta = run_metadata(
        ["sapp", "torch"], seeds=seeds, total_steps=total_steps, quick=bool(quick)
    )
    return {"meta": meta, "summary": summary(rows), "rows": rows}


def add_arguments(parser) -> None:
    """The options of ``sapp bench teacher``."""
    parser.add_argument("--quick", action="store_true", help="one seed, short runs")
    parser.add_argument(
        "--workers", type=positive_int, default=2, help="processes (default 2)"
    )
    add_output_arguments(parser, "planted_teacher.{json,md}")


def run(args) -> int:
    """Run ``sapp bench teacher``: write ``planted_teacher.{json,md}``, print them."""
    record = teacher_benchmark(quick=args.quick, workers=args.workers)
    text = teacher_markdown(record["summary"], record["meta"])
    stem = "planted_teacher_quick" if args.quick else "planted_teacher"
    paths = write_results(args.out, stem, record, text)
    print_record(record, text, paths, args.json)
    return 0
