"""benchmarks/tune/runs.py and cli.py: the tuning protocol end to end (issue 15)."""

import json

import pytest

from benchmarks.pruning.runs import PruningGrid
from benchmarks.tune import runs as tune_runs
from benchmarks.tune.report import final_cells
from benchmarks.tune.runs import tune_benchmark, winners
from neural.cli import main

_TINY_CRITEO = PruningGrid(
    "criteo",
    (20,),
    (0.95,),
    (0, 1),
    steps=12,
    overrides=(("data.n_train", 600), ("data.n_val", 300), ("train.batch_size", 64)),
)


def _selection(task, scores):
    return [
        {
            "task": task,
            "method": "sapp",
            "block": 8,
            "sparsity": 0.9,
            "config": i,
            "loss": s,
            "accuracy": s,
        }
        for i, s in enumerate(scores)
    ]


def test_winner_is_the_best_validation_score_and_ties_go_to_the_default():
    key = ("mnist1d", "sapp", 8, 0.9)
    assert winners(_selection("mnist1d", [0.5, 0.7, 0.6]))[key] == 1
    assert winners(_selection("mnist1d", [0.7, 0.7, 0.6]))[key] == 0
    assert winners(_selection("criteo", [0.5, 0.4, 0.45]))[("criteo", *key[1:])] == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"methods": ()}, "`methods`"),
        ({"methods": ("sapp", "lottery")}, "`methods`"),
        ({"budget": 0}, "`budget`"),
        ({"val_fraction": 1.0}, "`val_fraction`"),
        ({"val_fraction": 0.0}, "`val_fraction`"),
        ({"val_fraction": 1e-5}, "`val_fraction` must leave both parts"),
    ],
)
def test_bad_arguments_are_refused_before_training(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tune_benchmark([_TINY_CRITEO], **kwargs)


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--budget", "0"], "`--budget`"),
        (["--budget", "-3"], "`--budget`"),
        (["--val-fraction", "0"], "`--val-fraction`"),
        (["--val-fraction", "1.5"], "`--val-fraction`"),
        (["--methods"], "`--methods`"),
        (["--methods", "sapp", "lottery"], "`--methods`"),
    ],
)
def test_cli_bad_input_exits_two_in_one_line_writing_nothing(
    argv, option, tmp_path, capsys
):
    assert main(["bench", "tune", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option in err[0]
    assert list(tmp_path.iterdir()) == []


def test_quick_mode_selects_on_held_out_training_data_and_tests_once(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(tune_runs, "tune_grids", lambda mode, seeds: [_TINY_CRITEO])
    argv = ["bench", "tune", "--quick", "--methods", "sapp", "--budget", "2"]
    argv += ["--seeds", "2", "--jobs", "1", "--out", str(tmp_path), "--json"]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "tune_quick.json",
        "tune_quick.md",
    ]
    (entry,) = record["configs"]
    assert entry["configs"][0] == {} and len(entry["configs"]) == 2
    selection = [r for r in record["rows"] if r["stage"] == "selection"]
    final = [r for r in record["rows"] if r["stage"] == "final"]
    # Selection: one run per configuration, seed 0, scored on 20% of the 600
    # training rows; the test split (300 rows) only in the final runs.
    assert sorted(r["config"] for r in selection) == [0, 1]
    assert {(r["seed"], r["eval_samples"]) for r in selection} == {(0, 120)}
    assert {r["eval_samples"] for r in final} == {300}
    best = min(selection, key=lambda r: (r["loss"], r["config"]))["config"]
    assert entry["chosen"] == best
    assert sorted({(r["config"], r["seed"]) for r in final}) == sorted(
        {(c, s) for c in (0, best) for s in (0, 1)}
    )
    cells = final_cells(record)[("criteo", "sapp", 20, 0.95)]
    assert cells["tuned"]["config"] == best and cells["default"]["config"] == 0
    text = (tmp_path / "tune_quick.md").read_text()
    assert "## Protocol" in text and "| SA++ |" in text
    assert "`prune.logit_lr_multiplier` log-uniform [1, 100]" in text
