"""Step times without host syncs, and a count of the syncs a block of code makes.

:class:`StepClock` marks step boundaries: on CUDA with ``torch.cuda.Event``
records (queued on the stream, no wait), read once after one
``torch.cuda.synchronize()`` at the end of the run, so the timed window holds
no synchronization the training loop would not make itself; on the CPU with
``time.perf_counter``.

:class:`SyncCounter` counts the host synchronizations of the code inside
:meth:`SyncCounter.count` with ``torch.cuda.set_sync_debug_mode("warn")``,
under which torch warns "called a synchronizing CUDA operation" at each
``.item()``, ``.cpu()``, ``nonzero``, boolean-mask indexing and the like. torch
calls the mode a prototype that does not see every synchronization (not those
inside ``torch.distributed``, for one). On the CPU there is nothing to count.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections import Counter

import torch

__all__ = ["SyncCounter", "StepClock"]

_SYNC_WARNING = "called a synchronizing CUDA operation"


class StepClock:
    """Marks at step boundaries; :meth:`intervals_ms` gives the step times."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self._marks = []

    def mark(self) -> None:
        """Record a boundary (a CUDA event on the current stream, or the time)."""
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self._marks.append(event)
        else:
            self._marks.append(time.perf_counter())

    def intervals_ms(self) -> list[float]:
        """Milliseconds between consecutive marks (synchronizes once on CUDA)."""
        pairs = zip(self._marks[:-1], self._marks[1:], strict=True)
        if self.cuda:
            torch.cuda.synchronize()
            return [a.elapsed_time(b) for a, b in pairs]
        return [1e3 * (b - a) for a, b in pairs]


class SyncCounter:
    """Host synchronizations per named region (CUDA only; ``None`` on the CPU)."""

    def __init__(self, device: torch.device):
        self.enabled = device.type == "cuda"
        self._counts = Counter()

    @contextlib.contextmanager
    def count(self, region: str):
        """Count the synchronizations made inside the block under ``region``."""
        if not self.enabled:
            yield
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            previous = torch.cuda.get_sync_debug_mode()
            torch.cuda.set_sync_debug_mode("warn")
            try:
                yield
            finally:
                torch.cuda.set_sync_debug_mode(previous)
        self._counts[region] += sum(_SYNC_WARNING in str(w.message) for w in caught)

    def total(self, region: str) -> int | None:
        """Synchronizations counted in ``region`` so far (None on the CPU)."""
        return self._counts[region] if self.enabled else None
