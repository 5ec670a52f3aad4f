"""``sapp bench solvers`` (benchmarks/solvers): benchopt rows (issue 6)."""

import argparse
import json

import pytest

from benchmarks import results
from benchmarks.solvers import cli as solvers_cli
from benchmarks.solvers import report as solvers_report
from benchmarks.solvers import runs as solvers

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
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(results, "SETTLE_SECONDS", 0.0)  # no pauses in the suite
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
        assert row["time_1thread"] >= 0  # issue 17: the second figure
    assert len(record["meta"]["load_average_start"]) == 3


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
    solvers_cli.add_arguments(parser)
    args = parser.parse_args(["--quick", "--out", str(tmp_path), "--json"])
    assert solvers_cli.run(args) == 0
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


def test_full_mode_has_issue_2s_four_group_lasso_settings():
    names = [
        d.name
        for d in solvers._datasets(False, 1.0, solvers.PENALTY_NAMES)
        if d.section == "group_lasso"
    ]
    lams = [name.split("lam=")[1].rstrip("]") for name in names]
    assert lams == ["lam_max/10", "0.999*lam_max", "lam_max/100", "lam_max/10"]
    assert [n.split(",")[0] for n in names] == [
        "group_lasso[datafit=least_squares"
    ] * 3 + ["group_lasso[datafit=logistic"]
    quick = [d for d in solvers._datasets(True, 1.0, ()) if d.section == "group_lasso"]
    assert [d.lam_fraction for d in quick] == [0.1, 0.1]


def test_group_lasso_settings_share_the_data_and_scale_lam():
    fractions = {}
    for d in solvers._datasets(False, 0.02, ()):
        if d.section == "group_lasso" and d.datafit == "least_squares":
            inst = d.build(0)
            fractions[d.lam_fraction] = (inst.X, inst.lam / inst.tau())
    (x, _), *others = fractions.values()
    assert all((other == x).all() for other, _ in others)
    assert {f: round(r, 12) for f, (_, r) in fractions.items()} == {
        0.1: 0.1,
        0.999: 0.999,
        0.01: 0.01,
    }


def _gl_record(times):
    """A record with one group LASSO dataset; ``times``: solver -> [(time, subopt)]."""
    name = "group_lasso[datafit=least_squares,lam=lam_max/10]"
    rows = [
        {"solver_name": s, "dataset_name": name, "time": t, "suboptimality": sub}
        for s, runs in times.items()
        for t, sub in runs
    ]
    dataset = {"dataset_name": name, "section": "group_lasso", "f_star": 1.0}
    return {"meta": {}, "datasets": [dataset], "rows": rows}


def test_speed_ratios_divide_the_times_to_1e_8():
    record = _gl_record(
        {
            "sapp solve_group_lasso": [(0.5, 1e-3), (0.1, 1e-9), (0.2, 0.0)],
            "cvxpy Clarabel": [(20.0, 1e-10)],
            "skglm GroupBCD": [(0.05, 1e-9)],
            "cvxpy SCS": [(1.0, 1e-5)],
        }
    )
    ratios = {r["peer"]: r for r in solvers_report.speed_ratios(record)}
    assert ratios["cvxpy Clarabel"]["ratio"] == pytest.approx(200.0)
    assert ratios["cvxpy Clarabel"]["met"] is True
    assert ratios["skglm GroupBCD"]["ratio"] == pytest.approx(0.5)
    assert ratios["skglm GroupBCD"]["met"] is False
    assert ratios["cvxpy SCS"]["ratio"] is None
    assert ratios["cvxpy SCS"]["bar"] is None and ratios["cvxpy SCS"]["met"] is None
    text = solvers_report.solver_markdown(record)
    assert "met in 1 of 2 cases" in text
    assert "not reached" in text


def test_speed_ratios_when_sapp_never_reaches_the_target():
    record = _gl_record(
        {"sapp solve_group_lasso": [(0.1, 1e-3)], "cvxpy Clarabel": [(9.0, 0.0)]}
    )
    (row,) = solvers_report.speed_ratios(record)
    assert (row["sapp_time"], row["ratio"], row["met"]) == (None, None, None)


def test_median_speed_ratio_is_issue_17s_bar_over_full_size_datasets():
    peer, bar, n, p = solvers_report.MEDIAN_BAR
    datasets, rows = [], []
    for i, (ours, theirs) in enumerate([(0.1, 0.5), (0.1, 0.2), (0.1, 0.4), (1, 9)]):
        name = f"group_lasso[{i}]"
        size = (n, p) if i < 3 else (200, 1000)  # the last one is not full size
        datasets.append(
            {
                "dataset_name": name,
                "section": "group_lasso",
                "f_star": 1.0,
                "n_samples": size[0],
                "n_features": size[1],
            }
        )
        rows += [
            {
                "solver_name": "sapp solve_group_lasso",
                "dataset_name": name,
                "time": ours,
                "time_1thread": ours / 2,
                "suboptimality": 0.0,
            },
            {
                "solver_name": peer,
                "dataset_name": name,
                "time": theirs,
                "time_1thread": theirs,
                "suboptimality": 0.0,
            },
        ]
    record = {"meta": {}, "datasets": datasets, "rows": rows}
    found = solvers_report.median_speed_ratio(record)
    assert found["median"] == pytest.approx(4.0)  # median of 5, 2 and 4
    assert found["median_1thread"] == pytest.approx(8.0)  # sapp twice as fast
    assert found["met"] is (4.0 >= bar) and len(found["ratios"]) == 3
    assert "Issue 17's bar" in solvers_report.solver_markdown(record)
