"""Training-step time of every pruning method against dense, on CPU (issue 4).

The step-time half of ``sapp bench overhead``: the method (what is timed and
how) is documented in :mod:`neural.bench.overhead`, which runs it.

Run: ``python benchmarks/bench_prune_step.py [--quick] [--threads N]``. Writes
benchmarks/results/prune_step.{json,md} (``--quick``: prune_step_quick.*).
"""

from __future__ import annotations

import argparse

import torch
from _common import run_metadata, write_results

from neural.bench.overhead import STEP_BAR, step_time_benchmark, step_time_table


def markdown(rows, meta):
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="short runs (60 Criteo, 12 ResNet steps)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = step_time_benchmark(quick=args.quick)
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
