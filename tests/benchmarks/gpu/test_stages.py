"""Stage budgets, caught failures and the wall-clock guard of ``sapp bench gpu``.

The budget and wall-clock tests wait for real time to pass, so they shrink the
runner's 5 s minimum for starting a stage (and their budgets with it) to
fractions of a second: the same rules, a tenth of the waiting.
"""

import json
import subprocess
import sys
import textwrap
import time

import pytest

from benchmarks.gpu import stages as gpu_stages
from benchmarks.gpu.stages import Budget, StageRunner

MIN_STAGE_S = 0.5  # stands for gpu_stages._MIN_STAGE_S (5 s) where time passes


@pytest.fixture
def short_stages(monkeypatch):
    monkeypatch.setattr(gpu_stages, "_MIN_STAGE_S", MIN_STAGE_S)


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


def test_a_stage_past_its_budget_is_reported_over_budget(short_stages):
    runner = _runner()

    def slow(budget):
        while not budget.expired():
            time.sleep(0.01)
        return {"stopped_with_s_left": budget.left()}

    try:
        entry = runner.run("slow", MIN_STAGE_S, slow)
    finally:
        runner.finish()
    assert entry["status"] == "over budget" and entry["budget_s"] == MIN_STAGE_S
    assert entry["wall_s"] >= MIN_STAGE_S
    assert entry["result"]["stopped_with_s_left"] <= 0


def test_the_wall_clock_caps_budgets_and_skips_what_cannot_start(short_stages):
    runner = StageRunner(2 * MIN_STAGE_S, on_guard=lambda stages: None)
    seen = []

    def first(budget):
        seen.append(budget.seconds)
        time.sleep(1.2 * MIN_STAGE_S)  # leaves under what a stage needs to start

    try:
        runner.run("capped", 100.0, first)
        runner.run("late", 100.0, lambda budget: seen.append("ran"))
    finally:
        runner.finish()
    assert seen[0] <= 2 * MIN_STAGE_S and len(seen) == 1
    assert runner.stages["late"]["status"] == "skipped"


def test_budget_counts_down():
    budget = Budget(10.0)
    assert 9.0 < budget.left() <= 10.0 and not budget.expired()
    assert Budget(0.0).expired()


GUARDED = """
import json, sys, time
from benchmarks.gpu import stages as gpu_stages
from benchmarks.gpu.stages import StageRunner

def on_guard(stages):
    with open(sys.argv[1], "w") as handle:
        json.dump(stages, handle)

gpu_stages._MIN_STAGE_S = 0.5  # as the short_stages fixture
runner = StageRunner(2.0, on_guard)
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
    assert "after 2 s" in stages["stuck"]["error"]
