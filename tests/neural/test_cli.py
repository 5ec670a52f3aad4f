import contextlib
import io
import json
import subprocess
import sys

import pytest

import nonconvex_reg.verify
import omp.verify
from neural.cli import main
from nonconvex_reg.datasets import DATAFIT_KINDS
from nonconvex_reg.verify import Check, VerificationReport, verification_penalties

CHECK_FIELDS = {"check", "subject", "expected", "observed", "figure", "ok"}


@pytest.fixture(scope="module")
def verify_json():
    """``sapp verify --json`` run once (about 35 s): exit code and parsed stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["verify", "--json"])
    return code, json.loads(out.getvalue())


@pytest.fixture
def fake_verification(monkeypatch, verify_json):
    """Replace the 30 s run by a report rebuilt from the real run's JSON.

    Returns the list of seeds the CLI asked for, so tests can check plumbing.
    """
    _, payload = verify_json
    checks = [Check(**row) for row in payload["checks"]]
    seeds = []

    def run_verification(seed=0, progress=None):
        seeds.append(seed)
        for check in checks:
            if progress is not None:
                progress(check)
        return VerificationReport(seed=seed, checks=checks)

    monkeypatch.setattr(nonconvex_reg.verify, "run_verification", run_verification)
    # The real payload already holds the OMP checks (issue 3): add none twice.
    monkeypatch.setattr(omp.verify, "run_omp_checks", lambda seed=0, progress=None: [])
    return seeds


# sapp verify --json (the real run)


def test_verify_json_exits_zero_with_every_check_ok(verify_json):
    code, payload = verify_json
    assert code == 0
    assert set(payload) == {"seed", "n_checks", "n_ok", "checks"}
    assert payload["seed"] == 0
    assert payload["n_checks"] == len(payload["checks"]) > 0
    assert payload["n_ok"] == payload["n_checks"]
    for row in payload["checks"]:
        assert set(row) == CHECK_FIELDS
        assert row["ok"] is True


def test_verify_json_reports_theorem_1_1_expected_and_observed(verify_json):
    _, payload = verify_json
    rows = [row for row in payload["checks"] if row["check"] == "Theorem 1.1"]
    penalties = verification_penalties()
    assert len(rows) == len(DATAFIT_KINDS) * len(penalties)
    for row in rows:
        assert row["expected"] == row["observed"]
    for penalty in penalties:
        verdicts = {
            row["observed"] for row in rows if row["subject"].endswith(repr(penalty))
        }
        if penalty.is_subadditive:
            assert verdicts == {"confirmed"}
        else:
            assert verdicts == {"outside theorem: conclusion fails"}


def test_verify_json_reports_lemma_2_4_failing_exactly_for_controls(verify_json):
    _, payload = verify_json
    rows = {
        row["subject"]: row["observed"]
        for row in payload["checks"]
        if row["check"].startswith("Lemma 2.4")
    }
    for penalty in verification_penalties():
        assert rows[repr(penalty)] == ("holds" if penalty.is_subadditive else "fails")


def test_verify_json_includes_the_omp_checks(verify_json):
    # Issue 3: one report for both packages' checks.
    _, payload = verify_json
    names = {row["check"] for row in payload["checks"]}
    assert {"Theorem B.3", "Algorithm 2 selection = gradient-norm rule"} <= names


# sapp demo and exit codes (plumbing, on the real run's report)


def test_demo_prints_table_and_exits_zero(fake_verification, capsys):
    code = main(["demo"])
    text = capsys.readouterr().out
    assert code == 0
    assert "checks as the theory expects" in text
    assert text.startswith("sapp demo:")
    assert "Theorem 1.1" in text
    assert fake_verification == [0]


def test_demo_json_prints_the_report_dict_only(fake_verification, verify_json):
    _, payload = verify_json
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["demo", "--json", "--seed", "3"])
    assert code == 0
    assert fake_verification == [3]
    assert json.loads(out.getvalue()) == {**payload, "seed": 3}


def test_a_failed_check_gives_exit_code_one(monkeypatch, capsys):
    failed = Check("Theorem 1.1", "toy", "confirmed", "violated", "-", False)

    def run_verification(seed=0, progress=None):
        return VerificationReport(seed=seed, checks=[failed])

    monkeypatch.setattr(nonconvex_reg.verify, "run_verification", run_verification)
    monkeypatch.setattr(omp.verify, "run_omp_checks", lambda seed=0, progress=None: [])
    assert main(["verify"]) == 1
    assert "0/1 checks as the theory expects" in capsys.readouterr().out


# argument errors and help


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["verify", "--seed", "-1"],
        ["verify", "--seed", "1.5"],
        ["demo", "--unknown-flag"],
    ],
)
def test_bad_arguments_exit_with_code_two(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: sapp" in capsys.readouterr().err


def test_negative_seed_message_names_the_accepted_range(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--seed", "-1"])
    assert "must be an integer >= 0" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["verify", "--help"], ["demo", "-h"]])
def test_help_exits_zero(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "usage: sapp" in text
    if argv[0] != "--help":
        assert "--seed" in text and "--json" in text


def test_module_entry_point_runs_verify_help():
    completed = subprocess.run(
        [sys.executable, "-m", "neural.cli", "verify", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "--seed" in completed.stdout


def test_bench_speed_json_times_each_batch_size(capsys):
    code = main(
        [
            "bench",
            "speed",
            "--model",
            "linear",
            "--block",
            "16",
            "--repeats",
            "1",
            "--batch-sizes",
            "2",
            "32",
            "--json",
        ]
    )
    assert code == 0
    record = json.loads(capsys.readouterr().out)
    assert record["model"] == "linear" and record["block"] == 16
    assert [m["batch"] for m in record["models"]] == [2, 32]
    assert all(m["max_relative_error"] < 1e-4 for m in record["models"])
    exported = [
        r for r in record["export"]["layers"] if r["decision"] == "block-sparse"
    ]
    assert len(record["layers"]) == 2 * len(exported)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench", "speed", "--sparsity", "1"], "must be in [0, 1)"),
        (["bench", "speed", "--block", "0"], "must be an integer >= 1"),
        (["bench", "speed", "--model", "vgg"], "invalid choice"),
        (["bench"], "required"),
    ],
)
def test_bench_bad_arguments_exit_two(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err
