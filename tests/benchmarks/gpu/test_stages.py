"""Stage budgets, caught failures and the wall-clock guard of ``sapp bench gpu``."""

import json
import subprocess
import sys
import textwrap
import time

from benchmarks.gpu.stages import Budget, StageRunner


def _runner(wall_s=60.0):
    return StageRunner(wall_s, on_guard=lambda stages: None)


def test_a_failing_stage_is_recorded_and_the_next_still_runs():
    runner = _runner()

    def broken(budget):
        raise RuntimeError("CUDA error: an illegal memory access")

    try:
        runner.run("first", 30.0, broken)
        runner.run("second", 30.0, lambda budget: {"answer": 42})
    finally:
        runner.finish()
    first, second = runner.stages["first"], runner.stages["second"]
    assert first["status"] == "error"
    assert first["error"] == "RuntimeError: CUDA error: an illegal memory access"
    assert "broken" in first["traceback"]
    assert second == {**second, "status": "ok", "result": {"answer": 42}}


def test_a_stage_past_its_budget_is_reported_over_budget():
    runner = _runner()

    def slow(budget):
        while not budget.expired():
            time.sleep(0.01)
        return {"stopped_with_s_left": budget.left()}

    try:
        entry = runner.run("slow", 5.0, slow)
    finally:
        runner.finish()
    assert entry["status"] == "over budget" and entry["budget_s"] == 5.0
    assert entry["wall_s"] >= 5.0 and entry["result"]["stopped_with_s_left"] <= 0


def test_the_wall_clock_caps_budgets_and_skips_what_cannot_start():
    runner = StageRunner(7.0, on_guard=lambda stages: None)
    seen = []

    def first(budget):
        seen.append(budget.seconds)
        time.sleep(2.5)  # leaves under the 5 s a stage needs to start

    try:
        runner.run("capped", 100.0, first)
        runner.run("late", 100.0, lambda budget: seen.append("ran"))
    finally:
        runner.finish()
    assert seen[0] <= 7.0 and len(seen) == 1
    assert runner.stages["late"]["status"] == "skipped"


def test_budget_counts_down():
    budget = Budget(10.0)
    assert 9.0 < budget.left() <= 10.0 and not budget.expired()
    assert Budget(0.0).expired()


GUARDED = """
import json, sys, time
from benchmarks.gpu.stages import StageRunner

def on_guard(stages):
    with open(sys.argv[1], "w") as handle:
        json.dump(stages, handle)

runner = StageRunner(6.0, on_guard)
runner.run("quick", 30.0, lambda budget: {"done": True})
runner.run("stuck", 30.0, lambda budget: time.sleep(60))
print("not reached")
"""


def test_the_guard_writes_what_it_has_and_exits_1(tmp_path):
    out = tmp_path / "stages.json"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(GUARDED), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "not reached" not in done.stdout
    assert time.perf_counter() - start < 30
    stages = json.loads(out.read_text())
    assert stages["quick"]["status"] == "ok"
    assert stages["stuck"]["status"] == "killed by the wall-clock guard"
    assert "6 s" in stages["stuck"]["error"]
