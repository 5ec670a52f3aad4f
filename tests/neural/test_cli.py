import contextlib
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nonconvex_reg.verify
import omp.verify
from benchmarks.registry import VERBS
from neural.cli import main
from nonconvex_reg.datasets import DATAFIT_KINDS
from nonconvex_reg.verify import Check, VerificationReport, verification_penalties

CHECK_FIELDS = {"check", "subject", "expected", "observed", "figure", "ok"}


@pytest.fixture(scope="module")
def verify_json():
    """``sapp verify --json`` run once (about 20 s): exit code and parsed stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["verify", "--json"])
    return code, json.loads(out.getvalue())


@pytest.fixture
def fake_verification(monkeypatch, verify_json):
    """Replace the real run by a report rebuilt from the real run's JSON.

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


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _same_figure(printed: str, written: str) -> bool:
    """Equal text, and numbers equal to their printed precision (3%).

    Numbers at solver precision (both below 1e-6 in magnitude, like a
    distance of 2.6e-08) vary in their digits across machines and BLAS
    builds; they only have to stay at that precision.
    """
    if _NUMBER.split(printed) != _NUMBER.split(written):
        return False
    pairs = zip(_NUMBER.findall(printed), _NUMBER.findall(written), strict=True)
    return all(
        max(abs(float(a)), abs(float(b))) < 1e-6
        or math.isclose(float(a), float(b), rel_tol=0.03)
        for a, b in pairs
    )


ROOT = Path(__file__).resolve().parents[2]
EXCERPT_MARK = "Excerpt of `sapp verify` (seed 0):"
# The README and the documentation's pages (issue 21 moves the excerpt there).
PAGES_WITH_EXCERPT = [
    path
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    if EXCERPT_MARK in path.read_text(encoding="utf-8")
]


@pytest.mark.parametrize("page", PAGES_WITH_EXCERPT, ids=lambda p: p.name)
def test_verify_excerpt_is_what_verify_prints(verify_json, page):
    # issue #16: every README figure is printed by a command.
    _, payload = verify_json
    text = page.read_text(encoding="utf-8")
    excerpt = text.split(EXCERPT_MARK)[1].split("```")[1]
    lines = [line for line in excerpt.strip().splitlines()[1:] if line != "..."]
    *rows, total = lines
    n_ok, n_checks = payload["n_ok"], payload["n_checks"]
    assert total == f"{n_ok}/{n_checks} checks as the theory expects."
    assert rows
    for row in rows:
        check, subject, expected, observed, figure, ok = re.split(r"\s{2,}", row)
        matches = [
            c
            for c in payload["checks"]
            if (c["check"], c["subject"], c["expected"], c["observed"])
            == (check, subject, expected, observed)
        ]
        assert len(matches) == 1, row
        assert _same_figure(matches[0]["figure"], figure), (matches[0]["figure"], row)
        assert ok == ("yes" if matches[0]["ok"] else "NO")


def test_an_excerpt_of_verify_is_published():
    assert PAGES_WITH_EXCERPT


def _theory_map_check_names() -> set[str]:
    """The check names of the last column of docs/theory_map.md's tables."""
    names = set()
    for line in (ROOT / "docs" / "theory_map.md").read_text().splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if line.startswith("|") and len(cells) == 4 and cells[0] != "paper":
            names |= set(re.findall(r"`([^`]+)`", cells[3]))
    return names


def test_theory_map_matches_a_real_verify_run(verify_json):
    # issue 21: every check the theory map names is printed by sapp verify, and
    # every check sapp verify prints is on the map.
    _, payload = verify_json
    assert _theory_map_check_names() == {row["check"] for row in payload["checks"]}


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
    code = main(["demo", "--no-pruning"])
    text = capsys.readouterr().out
    assert code == 0
    assert "checks as the theory expects" in text
    assert text.startswith("sapp demo:")
    assert "Theorem 1.1" in text
    assert fake_verification == [0]


@pytest.fixture
def tiny_demo_grid(monkeypatch):
    """The demo's pruning comparison on 300 samples and 10 steps per run."""
    from benchmarks.pruning import runs as pruning

    def default_grids(mode, seeds=(0, 1, 2)):
        assert mode == "demo"
        return [
            pruning.PruningGrid(
                "mnist1d",
                (16,),
                (0.9,),
                tuple(seeds),
                steps=10,
                overrides=(("data.n_samples", 300),),
            )
        ]

    monkeypatch.setattr(pruning, "default_grids", default_grids)


def test_demo_runs_the_pruning_comparison_and_writes_table_and_plot(
    fake_verification, tiny_demo_grid, tmp_path, capsys
):
    # Issue 6: the demo is the headline: theorems, then every method, a plot.
    code = main(["demo", "--jobs", "1", "--out", str(tmp_path)])
    text = capsys.readouterr().out
    assert code == 0
    assert "checks as the theory expects" in text
    assert "| SA++ |" in text and "| dense |" in text
    # Issue 15: gradual magnitude, the strongest baseline, beside the paper's four.
    assert "| gradual magnitude |" in text
    assert "## Swaps per sparse entry" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "demo.json",
        "demo.md",
        "demo_mnist1d.png",
        "demo_swaps.png",
    ]


def test_demo_json_holds_the_report_and_the_pruning_record(
    fake_verification, verify_json, tiny_demo_grid, tmp_path
):
    _, payload = verify_json
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["demo", "--json", "--seed", "3", "--jobs", "1", "--out", str(tmp_path)]
        )
    assert code == 0
    assert fake_verification == [3]
    printed = json.loads(out.getvalue())
    assert printed["verification"] == {**payload, "seed": 3}
    seeds = {row["seed"] for row in printed["pruning"]["rows"]}
    assert seeds == {3, 4, 5}


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


@pytest.mark.parametrize("verb", list(VERBS))
def test_every_bench_verb_shows_its_options(verb, capsys):
    with pytest.raises(SystemExit) as info:
        main(["bench", verb, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: sapp bench {verb}")
    assert "--json" in text


def test_bench_lists_every_verb_without_importing_one(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = capsys.readouterr().out
    assert all(verb in text for verb in VERBS)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench", "threads", "--repeats", "0"], "must be an integer >= 1"),
        (["bench", "startup", "--repeats", "x"], "must be an integer >= 0"),
        (["bench", "overhead", "--step-only", "--quick", "--bogus"], "--bogus"),
        (["bench", "nope"], "invalid choice"),
    ],
)
def test_bench_verbs_refuse_bad_options_with_exit_two(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


# sapp train / eval / export (issue 5 items 4-5, issue 7)


def _run_main(argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def criteo_run(tmp_path_factory):
    """``sapp train --recipe criteo_sapp:quick --steps 30 --json`` (a few seconds)."""
    run_dir = tmp_path_factory.mktemp("cli") / "criteo"
    argv = ["train", "--recipe", "criteo_sapp:quick", "--steps", "30"]
    code, text = _run_main([*argv, "--run-dir", str(run_dir), "--json"])
    return code, json.loads(text), run_dir


@pytest.fixture(scope="module")
def imagenet_run(tmp_path_factory):
    """``sapp train --recipe imagenet_sapp:quick --steps 10`` (a few seconds)."""
    run_dir = tmp_path_factory.mktemp("cli") / "imagenet"
    argv = ["train", "--recipe", "imagenet_sapp:quick", "--steps", "10"]
    code, text = _run_main([*argv, "--run-dir", str(run_dir)])
    return code, text, run_dir


def test_train_json_prints_the_train_result(criteo_run):
    code, payload, run_dir = criteo_run
    assert code == 0
    assert set(payload) == {
        "steps",
        "epochs",
        "train_loss",
        "eval",
        "final_eval",
        "report",
        "run_dir",
        "checkpoint",
        "model_path",
        "resumed_from",
    }
    assert payload["steps"] == 30 and payload["run_dir"] == str(run_dir)
    assert set(payload["final_eval"]) == {"loss", "accuracy", "auc", "n_samples"}
    layers = payload["report"]["layers"]
    assert [(r["name"], r["block"], r["kept_blocks"]) for r in layers] == [
        ("tower.layers.0", [10, 10], 156)  # 10% of 39 x 40 blocks
    ]
    assert {"recipe.toml", "model.pt", "result.json", "data"} <= {
        p.name for p in run_dir.iterdir()
    }


def test_train_prints_a_summary_with_the_report(imagenet_run):
    code, text, run_dir = imagenet_run
    assert code == 0
    assert text.startswith("sapp train: imagenet_sapp:quick: resnet18")
    assert "trained 10 steps" in text and "final eval: loss" in text
    assert "layer4.1.conv2" in text and "pruned" in text
    assert f"run folder: {run_dir}" in text


def test_eval_json_reproduces_the_final_evaluation(criteo_run):
    _, payload, run_dir = criteo_run
    code, text = _run_main(["eval", str(run_dir), "--json"])
    assert code == 0
    result = json.loads(text)
    assert result["step"] == 30 and result["recipe"] == "criteo_sapp:quick"
    assert result["metrics"] == pytest.approx(payload["final_eval"])


def test_eval_of_a_checkpoint_prints_a_table(imagenet_run):
    _, _, run_dir = imagenet_run
    code, text = _run_main(["eval", str(run_dir / "ckpt-00000010.pt")])
    assert code == 0
    assert "at step 10" in text and "accuracy" in text and "n_samples" in text


def test_export_prints_the_report_and_the_file_sizes(criteo_run, tmp_path):
    _, _, run_dir = criteo_run
    out = tmp_path / "criteo.bsr"
    code, text = _run_main(
        ["export", str(run_dir), "--out", str(out), "--repeats", "2"]
    )
    assert code == 0
    assert "tower.layers.0" in text and "dense" in text and "exported" in text
    assert f"{out.stat().st_size:,d} bytes" in text


def test_export_json_of_the_resnet_run(imagenet_run, tmp_path):
    _, _, run_dir = imagenet_run
    out = tmp_path / "resnet.bsr"
    code, text = _run_main(
        ["export", str(run_dir), "--out", str(out), "--policy", "sparse", "--json"]
    )
    assert code == 0
    result = json.loads(text)
    assert result["exported_bytes"] == out.stat().st_size < result["dense_bytes"]
    decisions = {r["name"]: r["decision"] for r in result["report"]["layers"]}
    assert decisions["layer4.1.conv2"] == "block-sparse"
    assert result["max_abs_error"] < 1e-3


def test_resume_reuses_the_runs_recipe(criteo_run):
    _, payload, run_dir = criteo_run
    code, text = _run_main(["train", "--resume", "--run-dir", str(run_dir), "--json"])
    assert code == 0
    result = json.loads(text)
    assert result["resumed_from"].endswith("ckpt-00000030.pt")
    assert result["final_eval"] == pytest.approx(payload["final_eval"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--recipe", "criteo_spp"], "must be a built-in recipe"),
        (["train"], "--recipe is required"),
        (
            ["train", "--recipe", "criteo_sapp:quick", "--set", "train.lrr=0.1"],
            "unknown key `train.lrr`; did you mean `train.lr`?",
        ),
        (
            ["train", "--recipe", "criteo_sapp:quick", "--set", "train.lr=-1"],
            "`train.lr` must be in (0, inf); got -1.0.",
        ),
        (
            ["train", "--recipe", "criteo_sapp:quick", "--block", "64"],
            "`prune` selects no layer",
        ),
        (["train", "--recipe", "criteo_sapp:quick", "--set", "lr"], "KEY=VALUE"),
        (["train", "--recipe", "imagenet_sapp"], "`data.path` is required"),
        (["train", "--recipe", "criteo_sapp", "--data", "NOWHERE"], "`data.path`"),
        (["train", "--recipe", "mnist1d_random"], "must be a built-in recipe"),
        (["eval", "NOWHERE"], "`checkpoint`"),
        (["export", "NOWHERE", "--out", "x.bsr"], "`checkpoint`"),
    ],
)
def test_bad_recipes_and_paths_exit_two_writing_nothing(
    argv, message, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    argv = [str(tmp_path / "nowhere") if a == "NOWHERE" else a for a in argv]
    assert main([*argv, "--run-dir", "run"] if argv[0] == "train" else argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"sapp {argv[0]}: error: ")
    assert message in lines[0]
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []


def test_an_existing_run_folder_is_not_overwritten(criteo_run, capsys):
    _, _, run_dir = criteo_run
    before = (run_dir / "recipe.toml").read_text()
    argv = ["train", "--recipe", "criteo_sapp:quick", "--run-dir", str(run_dir)]
    assert main(argv) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert (run_dir / "recipe.toml").read_text() == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "--recipe", "criteo_sapp", "--sparsity", "1.5"],
            "must be in [0, 1)",
        ),
        (
            ["train", "--recipe", "criteo_sapp", "--steps", "0"],
            "must be an integer >= 1",
        ),
        (["export", "run"], "required: --out"),
        (["export", "run", "--out", "x", "--policy", "fast"], "invalid choice"),
    ],
)
def test_bad_train_and_export_arguments_exit_two(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("verb", ["train", "eval", "export"])
def test_new_verbs_have_help(verb, capsys):
    with pytest.raises(SystemExit) as info:
        main([verb, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: sapp {verb}" in text and "--json" in text
