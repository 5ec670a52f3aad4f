"""``sapp bench sparse`` at a tiny scale: every section, the report, the files."""

import argparse
import copy
import json

import pytest

from benchmarks.sparse import Scale, cli, large_bar, lasso_speedups, sparse_markdown
from benchmarks.sparse import runs as sparse_runs
from benchmarks.sparse.child import measure
from benchmarks.sparse.runs import sparse_benchmark

TINY = Scale(
    lasso=(300, 3000, 5e-3),
    large=(2000, 20_000, 1e-3),
    abess_sweep=(),
    growth=((300, 3000, 1e-2),),
    repeats=2,
    abess_timeout=120.0,
    child_timeout=300.0,
)


@pytest.fixture(scope="module")
def record():
    labels = []
    # skglm compiles its sparse kernels with numba for about 14 s: left out of
    # this run (as in tests/benchmarks/solvers), checked by the slow test below.
    sapp_only = {"sapp": sparse_runs._LASSO_SOLVERS["sapp"]}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sparse_runs, "_LASSO_SOLVERS", sapp_only)
        result = sparse_benchmark(scale=TINY, progress=lambda *a: labels.append(a[2]))
    return result, labels


def test_the_lasso_section_times_each_solver_at_the_target_objective(record):
    section = record[0]["lasso"]
    rows = section["rows"]
    assert [(r["solver_name"], r["threads"]) for r in rows] == [
        ("sapp", "default"),
        ("sapp", 1),
    ]
    for row in rows:
        assert len(row["times"]) == TINY.repeats
        assert row["suboptimality"] <= 1e-8 + 1e-10
        assert row["ladder"][-1]["tol"] == row["tol"]
    assert lasso_speedups(section) == {}  # no skglm row to compare with


@pytest.mark.slow
def test_skglm_reaches_the_section_objective_as_sapp_does():
    # `make test-slow`: skglm's GroupBCD through the benchmark's adapter (int32
    # group pointers, QuadraticGroup + WeightedGroupL2) minimizes the same
    # objective as sapp, so both reach the section's best to TARGET.
    section = sparse_runs.lasso_section(TINY, lambda label: None)
    rows = {(r["solver_name"], r["threads"]): r for r in section["rows"]}
    assert set(rows) == {
        ("sapp", "default"),
        ("skglm GroupBCD", "default"),
        ("sapp", 1),
        ("skglm GroupBCD", 1),
    }
    for row in rows.values():
        assert row["suboptimality"] <= sparse_runs.TARGET + 1e-10
    assert set(lasso_speedups(section)) == {"default", 1}


def test_speedups_and_verdicts_pair_sapp_with_skglm_per_thread_setting(record):
    section = copy.deepcopy(record[0]["lasso"])
    sapp = {row["threads"]: row for row in section["rows"]}
    section["rows"] = [
        {**sapp["default"], "time": 0.5},
        {**sapp["default"], "solver_name": "skglm GroupBCD", "time": 2.0},
        {**sapp[1], "time": 0.5},
        {**sapp[1], "solver_name": "skglm GroupBCD", "time": 1.0},
    ]
    assert lasso_speedups(section) == {"default": 4.0, 1: 2.0}
    text = sparse_markdown({**record[0], "lasso": section})
    assert "default threads: 4.0x (met), 1 threads: 2.0x (NOT met)" in text


def test_the_large_section_reports_memory_against_the_bar(record):
    section = record[0]["large"]
    assert section["nnz"] == 2000 * 20_000 * 1e-3
    assert [job["lam_ratio"] for job in section["jobs"]] == [20, 5]
    for job in section["jobs"]:
        assert job["duality_gap"] >= 0 and job["peak_rss"] > 0
        above, bar = large_bar(section, job)
        assert bar == 3 * section["matrix_bytes"] + 16 * 8 * (2000 + 20_000)
        assert above == job["peak_rss"] - section["rss_before_matrix"]


def test_the_ompr_section_compares_losses_with_abess(record):
    rows = record[0]["ompr"]["rows"]
    assert [r["solver_name"] for r in rows] == [
        "sapp group_ompr",
        "sapp group_ompr",
        "abess (sparse)",
    ]
    losses = [r["jobs"][0]["loss"] for r in rows]
    # The same search with default and with one BLAS thread.
    assert losses[0] == losses[1]
    assert all(loss > 0 for loss in losses)


def test_growth_and_report(record):
    result, labels = record
    (row,) = result["growth"]["rows"]
    assert [job["task"] for job in row["jobs"]] == ["group_lasso", "group_ompr"]
    text = sparse_markdown(result)
    for heading in (
        "## 1. Group LASSO",
        "## 2. Large problem",
        "## 3. Group OMPR",
        "## 4. Growth",
    ):
        assert heading in text
    assert "lasso sapp threads=default" in labels
    assert result["meta"]["load_start"] and result["meta"]["load_end"]


def test_a_child_that_runs_out_of_time_is_reported():
    spec = {
        "n": 300,
        "p": 3000,
        "density": 1e-2,
        "seed": 0,
        "jobs": [{"task": "group_ompr", "k": 3}],
    }
    assert measure(spec, timeout=0.01) == {"error": "timeout after 0.01 s"}


def test_run_writes_the_files(record, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "sparse_benchmark", lambda **_: record[0])
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--quick", "--out", str(tmp_path), "--json"])
    assert cli.run(args) == 0
    written = json.loads((tmp_path / "sparse.quick.json").read_text())
    assert written["lasso"]["n"] == 300
    assert (tmp_path / "sparse.quick.md").read_text().startswith("# Sparse designs")
    assert json.loads(capsys.readouterr().out)["large"]["p"] == 20_000
