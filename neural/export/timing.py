"""Latency measurement shared by the export policy and the speed benchmarks.

Background load on a shared machine comes in bursts, and only ever adds time:
a call that loses its core, or whose OpenMP team waits for a descheduled
thread, takes longer, never shorter. Two rules follow.

* Timing two contenders one after the other lets a burst land on one of them
  only; :func:`interleaved_ms` alternates them in short rounds, so that both see
  the same conditions, and the ratio of the two within each round is what a
  decision should rest on (:func:`paired_ratios`).
* Within a round, a contender's time is its fastest call (the least disturbed);
  across rounds, the median.
"""

from __future__ import annotations

import time

import torch

__all__ = ["fastest_ms", "interleaved_ms", "paired_ratios"]


def fastest_ms(function, *, repeats: int = 5, warmup: int = 0) -> float:
    """The fastest of ``repeats`` calls of ``function()`` in ms, without autograd.

    ``warmup`` untimed calls first (allocator, caches, packed weights); on CUDA
    every call is synchronized so the time covers the kernels, not just their
    launch.
    """
    synchronize = torch.cuda.synchronize if torch.cuda.is_available() else None
    best = float("inf")
    # no_grad, not inference_mode: torch's F.linear with a BSR weight refuses
    # inference tensors.
    with torch.no_grad():
        for i in range(warmup + repeats):
            start = time.perf_counter()
            function()
            if synchronize is not None:
                synchronize()
            if i >= warmup:
                best = min(best, time.perf_counter() - start)
    return 1e3 * best


def interleaved_ms(functions, *, rounds: int = 5, repeats: int = 15):
    """Per-round times (ms) of each function, the functions interleaved.

    ``repeats`` timed calls per function are spread over ``rounds`` rounds (at
    least one call per round); within a round each function runs its share
    in turn, in an order that reverses from one round to the next, and scores
    its fastest call (:func:`fastest_ms`). The first round is preceded by
    warm-up calls of every function.

    Returns
    -------
    list of list of float
        ``times[i][r]``: function ``i``'s time in round ``r``.
    """
    per_round = max(1, -(-repeats // rounds))
    times = [[] for _ in functions]
    order = list(range(len(functions)))
    for r in range(rounds):
        for i in order if r % 2 == 0 else order[::-1]:
            warmup = 3 if r == 0 else 0
            times[i].append(fastest_ms(functions[i], repeats=per_round, warmup=warmup))
    return times


def paired_ratios(numerator, denominator) -> list[float]:
    """Round-by-round ratios of two lists of :func:`interleaved_ms` times."""
    return [a / b for a, b in zip(numerator, denominator, strict=True)]
