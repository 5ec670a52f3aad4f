"""Latency measurement shared by the export policy and the speed benchmark."""

from __future__ import annotations

import statistics
import time

import torch

__all__ = ["median_latency_ms"]


def median_latency_ms(function, *, repeats: int = 15, warmup: int = 3) -> float:
    """Median wall time of ``function()`` in milliseconds, without autograd.

    ``warmup`` calls first (numba compilation, allocator, caches); on CUDA every
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
