"""``sapp bench startup``: fresh processes timed against ``python -c pass``."""

import argparse
import json

import pytest

from benchmarks import startup


@pytest.fixture(scope="module")
def record():
    calls = []
    result = startup.startup_benchmark(repeats=1, progress=lambda *a: calls.append(a))
    return result, calls


def test_every_case_is_timed_against_the_baseline(record):
    result, calls = record
    names = [row["name"] for row in result["rows"]]
    assert names[0] == "python -c pass"
    assert {"sapp --help", "sapp verify --help", "import nonconvex_reg"} <= set(names)
    baseline = result["rows"][0]["best_s"]
    for row in result["rows"]:
        assert row["best_s"] == min(row["runs_s"]) > 0
        assert row["over_baseline_s"] == pytest.approx(row["best_s"] - baseline)
    assert [c[0] for c in calls] == list(range(1, len(names) + 1))
    assert calls[-1][1] == len(names)


def test_the_cli_and_neural_import_no_heavy_library(record):
    rows = {row["name"]: row for row in record[0]["rows"]}
    for name in ("sapp --help", "sapp verify --help", "import neural"):
        assert rows[name]["heavy_modules"] == [], name
    assert "cvxpy" not in rows["import nonconvex_reg"]["heavy_modules"]


def _fake(seconds):
    rows = [
        {"name": name, "best_s": s, "median_s": s, "over_baseline_s": s - 0.03}
        | {"heavy_modules": [], "runs_s": [s], "command": name}
        for name, s in zip(
            ("python -c pass", "sapp --help", "sapp verify --help"),
            (0.03, *seconds),
            strict=True,
        )
    ]
    meta = {"command": "x", "machine": "m", "python": "3", "repeats": 1}
    return {"meta": meta, "rows": rows}


def test_markdown_states_whether_the_bar_is_met():
    assert "within 0.5 s: met." in startup.startup_markdown(_fake((0.1, 0.2)))
    assert "NOT met." in startup.startup_markdown(_fake((0.1, 0.6)))


def test_run_writes_the_files(record, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(startup, "startup_benchmark", lambda **_: record[0])
    parser = argparse.ArgumentParser()
    startup.add_arguments(parser)
    assert startup.run(parser.parse_args(["--out", str(tmp_path), "--json"])) == 0
    assert json.loads(capsys.readouterr().out) == record[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["startup.json", "startup.md"]


def test_bad_repeats_name_the_argument():
    with pytest.raises(ValueError, match="`repeats`"):
        startup.startup_benchmark(repeats=0)
