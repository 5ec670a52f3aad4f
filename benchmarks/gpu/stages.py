"""Stages with time budgets, failures caught, and a wall-clock guard over them all.

Each stage of ``sapp bench gpu`` runs through :meth:`StageRunner.run` with a
:class:`Budget`: the stage checks it between steps (or gives it to its child
processes as a timeout) and stops early when it is spent, and the runner
records the stage as ``"over budget"``. An exception is caught and recorded
with its text (``"error"``), so the other stages still run and report. A stage
is ``"skipped"`` when the command's wall clock leaves too little for it.

The guard is a timer thread: if the command is still running at ``wall_s``
(a stage stuck in a kernel, a hung collective), it ends the child processes,
marks the running stage ``"killed by the wall-clock guard"``, hands the record
to ``on_guard`` (which writes the results) and exits the process with status 1.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from dataclasses import dataclass, field

from . import processes

__all__ = ["STATUSES", "Budget", "StageRunner"]

#: Every stage status; only ``"ok"`` is a success.
STATUSES = ("ok", "over budget", "error", "skipped", "killed by the wall-clock guard")

_MIN_STAGE_S = 5.0  # below this, a stage is skipped rather than started


@dataclass
class Budget:
    """Seconds a stage may take, counted from its creation."""

    seconds: float
    start: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        """Seconds since the stage started."""
        return time.perf_counter() - self.start

    def left(self) -> float:
        """Seconds left (negative once spent)."""
        return self.seconds - self.elapsed()

    def expired(self) -> bool:
        """Whether the budget is spent."""
        return self.left() <= 0.0


class StageRunner:
    """Runs stages in order under their budgets and one wall-clock guard.

    Parameters
    ----------
    wall_s : float
        Seconds the whole command may take; the guard fires then.
    on_guard : callable
        ``on_guard(stages)`` with the record so far when the guard fires; it
        should write the results (the process exits right after).
    clock_start : float, optional
        ``time.perf_counter()`` at the command's start; default now.

    Attributes
    ----------
    stages : dict
        Stage name -> ``{"status", "budget_s", "wall_s", "result" or "error"}``.
    """

    def __init__(self, wall_s: float, on_guard, clock_start: float | None = None):
        self.wall = Budget(wall_s, clock_start or time.perf_counter())
        self.stages: dict[str, dict] = {}
        self._on_guard = on_guard
        self._lock = threading.Lock()
        self._running: str | None = None
        self._timer = threading.Timer(max(self.wall.left(), 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def run(self, name: str, budget_s: float, function) -> dict:
        """Run ``function(budget)`` as stage ``name``; returns its entry."""
        seconds = min(budget_s, self.wall.left())
        if seconds < _MIN_STAGE_S:
            entry = {
                "status": "skipped",
                "budget_s": budget_s,
                "wall_s": 0.0,
                "error": f"{self.wall.left():.0f} s left of the wall clock",
            }
            with self._lock:
                self.stages[name] = entry
            return entry
        budget = Budget(seconds)
        with self._lock:
            self._running = name
            self.stages[name] = {"status": "running", "budget_s": seconds}
        try:
            result = function(budget)
            status = "over budget" if budget.expired() else "ok"
            entry = {"status": status, "result": result}
        except Exception as error:  # recorded; the other stages still run
            entry = {
                "status": "error",
                "error": f"{type(error).__name__}: {error}",
                "traceback": traceback.format_exc()[-3000:],
            }
        entry = {**entry, "budget_s": seconds, "wall_s": budget.elapsed()}
        with self._lock:
            self.stages[name] = entry
            self._running = None
        return entry

    def finish(self) -> None:
        """Stop the guard (every stage has run)."""
        self._timer.cancel()

    def _fire(self) -> None:
        for process in list(processes.LIVE):
            processes.kill_tree(process)
        with self._lock:
            if self._running is not None:
                self.stages[self._running] = {
                    **self.stages[self._running],
                    "status": "killed by the wall-clock guard",
                    "error": f"still running after {self.wall.seconds:.0f} s "
                    "(the command's wall clock)",
                }
            snapshot = {name: dict(entry) for name, entry in self.stages.items()}
        try:
            self._on_guard(snapshot)
        finally:
            os._exit(1)
