"""Tests of neural/bench/solvers.py and solvers_report.py: benchopt rows (issue 6)."""

import argparse
import json

import pytest

from neural.bench import solvers, solvers_report

BENCHOPT_KEYS = {
    "solver_name",
    "dataset_name",
    "time",
    "objective_value",
    "suboptimality",
}
# skglm compiles with numba for ~45 s: left out of the fast suite.
FAST = [name for name in solvers.SOLVER_NAMES if not name.startswith("skglm")]


@pytest.fixture(scope="module")
def record():
    calls = []
    record = solvers.solver_benchmark(
        quick=True,
        scale=0.1,
        solvers=FAST,
        penalties=["group_lasso", "log"],
        progress=lambda done, total, name: calls.append((done, total, name)),
    )
    record["progress_calls"] = calls
    return record


def test_rows_have_benchopt_keys(record):
    assert record["rows"]
    for row in record["rows"]:
        assert BENCHOPT_KEYS <= set(row)
        assert row["time"] >= 0


def test_every_section_ran(record):
    sections = {d["section"] for d in record["datasets"]}
    assert sections == {"group_lasso", "ompr", "ompr_exact", "nonconvex"}
    ran = {r["solver_name"] for r in record["rows"]}
    assert ran == set(FAST)


def test_suboptimality_nonnegative_and_zero_for_best(record):
    for dataset in record["datasets"]:
        rows = [
            r for r in record["rows"] if r["dataset_name"] == dataset["dataset_name"]
        ]
        values = [r["suboptimality"] for r in rows]
        assert min(values) == 0.0
        assert all(v >= -1e-12 for v in values)
        best = min(rows, key=lambda r: r["objective_value"])
        assert dataset["f_star"] == best["objective_value"]
        assert dataset["best_solver"] == best["solver_name"]


def test_oracles_are_optimal(record):
    for row in record["rows"]:
        if row["solver_name"] == "sapp solve_penalized":
            assert row["oracle_gap"] >= -1e-9
        # The exhaustive optimum is the best any feasible method can reach.
        if row["solver_name"] == "best_subset (oracle)":
            assert row["suboptimality"] <= 1e-9
        if row["dataset_name"].startswith("ompr"):
            assert row["support_size"] <= row["k"]


def test_progress_reports_every_dataset(record):
    calls = record["progress_calls"]
    assert [c[0] for c in calls] == list(range(1, len(record["datasets"]) + 1))
    assert {c[1] for c in calls} == {len(record["datasets"])}


def test_files_written(record, tmp_path):
    record = {k: v for k, v in record.items() if k != "progress_calls"}
    paths = solvers_report.save_solvers(record, tmp_path)
    assert sorted(p.name for p in paths) == [
        "solvers_quick.json",
        "solvers_quick.md",
        "solvers_quick.png",
    ]
    assert json.loads((tmp_path / "solvers_quick.json").read_text()) == record
    markdown = (tmp_path / "solvers_quick.md").read_text()
    assert "time to 1e-06 (s)" in markdown and "gap to oracle" in markdown
    assert (tmp_path / "solvers_quick.png").read_bytes()[:4] == b"\x89PNG"


def test_skipped_solver_is_recorded(monkeypatch):
    monkeypatch.setattr(solvers, "_missing", lambda name: "abess")
    record = solvers.solver_benchmark(quick=True, scale=0.1, solvers=["abess"])
    assert record["rows"] == []
    assert record["meta"]["skipped_solvers"] == {"abess": "abess is not installed"}


def test_run_writes_quick_files(monkeypatch, tmp_path, capsys, record):
    small = {k: v for k, v in record.items() if k != "progress_calls"}
    monkeypatch.setattr(solvers, "solver_benchmark", lambda **kwargs: small)
    parser = argparse.ArgumentParser()
    solvers.add_arguments(parser)
    args = parser.parse_args(["--quick", "--out", str(tmp_path), "--json"])
    assert solvers.run(args) == 0
    assert json.loads(capsys.readouterr().out) == small
    assert (tmp_path / "solvers_quick.png").exists()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"quick": 1}, TypeError, "`quick` must be a bool"),
        ({"seed": -1}, ValueError, "`seed` must be an integer in"),
        ({"seed": 1.5}, TypeError, "`seed` must be an integer"),
        ({"scale": 0.0}, ValueError, r"`scale` must be in \(0, 1\]"),
        ({"scale": 2.0}, ValueError, r"`scale` must be in \(0, 1\]"),
        ({"solvers": ["nope"]}, ValueError, "`solvers` must be a non-empty list"),
        ({"solvers": []}, ValueError, "`solvers` must be a non-empty list"),
        ({"solvers": "abess"}, TypeError, "`solvers` must be a list of names"),
        ({"penalties": ["l0"]}, ValueError, "`penalties` must be a non-empty list"),
        ({"progress": 3}, TypeError, "`progress` must be callable"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        solvers.solver_benchmark(**kwargs)


def test_bad_record():
    with pytest.raises(TypeError, match="`record` must be the dict"):
        solvers_report.solver_markdown([])
    with pytest.raises(ValueError, match="missing \\['rows'\\]"):
        solvers_report.solver_markdown({"meta": {}, "datasets": []})
    with pytest.raises(ValueError, match="`record` must hold at least one dataset"):
        solvers_report.plot_suboptimality(
            {"meta": {}, "datasets": [], "rows": []}, "x.png"
        )
