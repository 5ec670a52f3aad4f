"""Latency measurement shared by the export policy and the speed benchmarks.

Background load on a shared machine comes in bursts. Timing two contenders one
after the other lets a burst land on one of them only; :func:`interleaved_ms`
instead alternates them in short rounds, so that a burst hits both alike, and
the ratio of the two within each round is what a decision should rest on
(:func:`paired_ratios`).
"""

from __future__ import annotations

import statistics
import time

import torch

__all__ = ["interleaved_ms", "median_latency_ms", "paired_ratios"]


def median_latency_ms(function, *, repeats: int = 15, warmup: int = 3) -> float:
    """Median wall time of ``function()`` in milliseconds, without autograd.

    ``warmup`` calls first (allocator, caches, packed weights); on CUDA every
    call is synchronized so the time covers the kernels, not just their launch.
    """
    synchronize = torch.cuda.synchronize if torch.cuda.is_available() else None
    times = []
    # no_grad, not inference_mode: torch's F.linear with a BSR weight refuses
    # inference tensors.
    with torch.no_grad():
        for i in range(warmup + repeats):
            start = time.perf_counter()
            function()
            if synchronize is not None:
                synchronize()
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def interleaved_ms(functions, *, rounds: int = 5, repeats: int = 15):
    """Per-round median times (ms) of each function, the functions interleaved.

    ``repeats`` timed calls per function are spread over ``rounds`` rounds (at
    least one call per round); within a round each function runs its share
    in turn, in an order that reverses from one round to the next. The first
    round is preceded by warm-up calls of every function.

    Returns
    -------
    list of list of float
        ``times[i][r]``: function ``i``'s median in round ``r``.
    """
    per_round = max(1, -(-repeats // rounds))
    times = [[] for _ in functions]
    order = list(range(len(functions)))
    for r in range(rounds):
        for i in order if r % 2 == 0 else order[::-1]:
            warmup = 3 if r == 0 else 0
            times[i].append(
                median_latency_ms(functions[i], repeats=per_round, warmup=warmup)
            )
    return times


def paired_ratios(numerator, denominator) -> list[float]:
    """Round-by-round ratios of two lists of :func:`interleaved_ms` times."""
    return [a / b for a, b in zip(numerator, denominator, strict=True)]
