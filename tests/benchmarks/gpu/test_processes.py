"""Ending a child and the processes it started in sessions of their own."""

import os
import sys
import textwrap
import time

import pytest

from benchmarks.gpu import processes

# Like torchrun: the launcher starts its worker in a new session, then waits.
LAUNCHER = """
import subprocess, sys, time
worker = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
)
print(worker.pid, flush=True)
time.sleep(120)
"""

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/proc"), reason="process trees are read from /proc"
)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_kill_tree_ends_the_launcher_and_its_detached_worker(tmp_path):
    log = tmp_path / "log"
    launcher = processes.start(
        [sys.executable, "-c", textwrap.dedent(LAUNCHER)], log, dict(os.environ)
    )
    deadline = time.monotonic() + 30
    while not log.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.05)
    worker = int(log.read_text().split()[0])
    assert processes.descendants(launcher.pid) == [worker]
    assert launcher in processes.LIVE
    processes.kill_tree(launcher)
    assert launcher not in processes.LIVE and launcher.returncode == -9
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)


def test_wait_past_the_timeout_kills(tmp_path):
    child = processes.start(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        tmp_path / "log",
        dict(os.environ),
    )
    assert processes.wait(child, 0.2) is None
    assert child.returncode == -9 and child not in processes.LIVE
    quick = processes.start([sys.executable, "-c", "pass"], tmp_path / "q", {})
    assert processes.wait(quick, 30) == 0
