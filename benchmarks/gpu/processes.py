"""Child processes of the check: start them, wait with a deadline, end them whole.

``torchrun`` starts each rank in a session of its own, so ending the launcher
does not end the ranks. :func:`kill_tree` therefore ends a process and every
descendant, found through ``/proc`` (Linux, as on the machines the check runs
on), and :data:`LIVE` holds every child not yet waited for, for the wall-clock
guard to end them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

__all__ = ["LIVE", "descendants", "kill_tree", "start", "wait"]

#: Children started by :func:`start` and not yet returned by :func:`wait`.
LIVE: set[subprocess.Popen] = set()


def descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (children, their children, ...), from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        # "pid (command) state ppid ...": the command may hold spaces and ")".
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL ``process`` and all its descendants, then reap it."""
    for pid in [*descendants(process.pid), process.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()
    LIVE.discard(process)


def start(command, log: Path, env: dict) -> subprocess.Popen:
    """Start ``command`` with stdout and stderr going to ``log``."""
    with open(log, "w") as handle:
        process = subprocess.Popen(
            command, stdout=handle, stderr=subprocess.STDOUT, env=env
        )
    LIVE.add(process)
    return process


def wait(process: subprocess.Popen, timeout: float) -> int | None:
    """The exit status, or None after killing the tree when ``timeout`` passed."""
    try:
        code = process.wait(timeout=max(timeout, 0.0))
    except subprocess.TimeoutExpired:
        kill_tree(process)
        return None
    LIVE.discard(process)
    return code
