"""Training-step time of every pruning method against the dense model, on CPU.

Issue 4's bar: one SA++ training step (forward, backward, optimizer step,
``pruner.step()``) costs at most 1.15x a dense step, on the Criteo tower
390-400-400-400-1 and on a small ResNet; the other methods are reported too.

Method: each method trains a fresh model for ``total_steps`` steps on its own
default timeline, so every phase (dense, sparsify, sparse) and every phase switch
is inside the timed window; every step is timed on its own. Methods run
interleaved, ``repeats`` rounds, and the reported time is the median over rounds
of each run's mean step time; the ratio divides by the dense model's median from
the same rounds. Inputs are fixed tensors (no data loading in the window).

Run: ``python benchmarks/bench_prune_step.py [--quick]``. Writes
benchmarks/results/prune_step.{json,md}.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import torch
from _common import run_metadata, write_results
from torch import nn

import neural
from neural.models import criteo_tower, resnet18

BAR = 1.15


def criteo_case(quick):
    batch = 1024
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 390, generator=generator)
    y = torch.randint(0, 2, (batch, 1), generator=generator).float()
    return {
        "name": f"criteo tower 390-400-400-400-1, batch {batch}, 20x20 blocks",
        "model": criteo_tower,
        "loss": lambda model: nn.functional.binary_cross_entropy_with_logits(
            model(x), y
        ),
        "block": 20,
        "total_steps": 60 if quick else 300,
    }


def resnet_case(quick):
    batch = 32
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, 32, 32, generator=generator)
    y = torch.randint(0, 10, (batch,), generator=generator)
    return {
        "name": f"resnet18 width 32, 32x32 inputs, batch {batch}, 8x8 blocks",
        "model": lambda: resnet18(num_classes=10, width=32, small_input=True),
        "loss": lambda model: nn.functional.cross_entropy(model(x), y),
        "block": 8,
        "total_steps": 20 if quick else 60,
    }


def run(case, method):
    torch.manual_seed(0)
    model = case["model"]()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    pruner = None
    if method != "dense":
        pruner = neural.prune(
            model,
            method,
            sparsity=0.9,
            block=case["block"],
            total_steps=case["total_steps"],
            optimizer=optimizer,
        )
    by_phase = defaultdict(list)
    for _ in range(case["total_steps"]):
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


def benchmark(quick):
    methods = ["dense", *neural.METHODS]
    repeats = 1 if quick else 3
    rows = []
    for case in (criteo_case(quick), resnet_case(quick)):
        run(case, "dense")  # warm-up: allocator, thread pool, kernels
        means, phases = defaultdict(list), defaultdict(lambda: defaultdict(list))
        for _ in range(repeats):
            for method in methods:
                mean, by_phase = run(case, method)
                means[method].append(mean)
                for kind, value in by_phase.items():
                    phases[method][kind].append(value)
        dense = statistics.median(means["dense"])
        for method in methods:
            time_ms = statistics.median(means[method]) * 1e3
            rows.append(
                {
                    "dataset_name": case["name"],
                    "solver_name": method,
                    "time_ms": time_ms,
                    "ratio_to_dense": time_ms / (dense * 1e3),
                    "phase_ms": {
                        kind: statistics.median(v) * 1e3
                        for kind, v in phases[method].items()
                    },
                    "runs_ms": [m * 1e3 for m in means[method]],
                }
            )
    return rows


def markdown(rows, meta):
    lines = [
        "# Training-step time of block pruning methods vs dense (CPU)",
        "",
        f"Command: `{meta['command']}`; machine: {meta['machine']}; torch "
        f"{meta['versions']['torch']}, {meta['threads']} threads. Bar: SA++ <= "
        f"{BAR}x dense.",
        "",
        "| model | method | step (ms) | / dense | dense-phase ms | sparsify ms | "
        "sparse ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        phase = r["phase_ms"]
        cells = [f"{phase[k]:.2f}" if k in phase else "-" for k in PHASE_COLUMNS]
        lines.append(
            f"| {r['dataset_name']} | {r['solver_name']} | {r['time_ms']:.2f} | "
            f"{r['ratio_to_dense']:.3f} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


PHASE_COLUMNS = ("dense", "sparsify", "sparse")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, 1 round")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = benchmark(args.quick)
    meta = run_metadata(
        ["sapp", "torch"], seed=0, threads=args.threads, quick=args.quick
    )
    text = markdown(rows, meta)
    write_results(
        "prune_step_quick" if args.quick else "prune_step",
        {"meta": meta, "rows": rows},
        text,
    )
    print(text)


if __name__ == "__main__":
    main()
