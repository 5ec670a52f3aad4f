"""sapp bench pruning (issue 6): cells, recovery, summaries, verdicts, files."""

import json

import numpy as np
import pytest

from neural.bench import pruning, pruning_report
from neural.bench.pruning import PruningGrid, default_grids, pruning_benchmark
from neural.bench.pruning_report import pruning_markdown, summarize, verdicts
from neural.cli import main


def _row(task, method, block, sparsity, seed, **metrics):
    return {
        "task": task,
        "method": method,
        "block": block,
        "sparsity": sparsity,
        "seed": seed,
        "steps": 10,
        **metrics,
    }


def _record(rows, blocks=(8, 16), sparsities=(0.9,), methods=pruning.METHODS):
    return {
        "command": "test",
        "machine": "test",
        "versions": {},
        "jobs": 1,
        "methods": list(methods),
        "grids": [
            {
                "task": "mnist1d",
                "blocks": list(blocks),
                "sparsities": list(sparsities),
                "seeds": [0, 1],
            }
        ],
        "tasks": {},
        "rows": rows,
    }


def _accuracy_rows(table):
    """Rows from ``{(method, block): (acc seed 0, acc seed 1)}`` plus dense."""
    rows = [_row("mnist1d", "dense", None, None, s, accuracy=0.9) for s in (0, 1)]
    for (method, block), accs in table.items():
        rows += [
            _row("mnist1d", method, block, 0.9, s, accuracy=a)
            for s, a in enumerate(accs)
        ]
    return rows


# Recovery of the planted support (input side)


def test_recovery_counts_kept_blocks_on_planted_columns():
    # 4 features of 10 columns, features 1 and 2 planted; blocks of 10.
    planted = np.zeros(40, dtype=bool)
    planted[10:30] = True
    kept = np.array([[True, True, False, False], [False, False, False, True]])
    result = pruning._recovery(kept, 10, planted)
    assert result["precision"] == pytest.approx(1 / 3)  # 1 of 3 kept blocks
    assert result["recall"] == pytest.approx(1 / 2)  # feature 1 read, 2 not
    assert result["chance"] == pytest.approx(2 / 4)


def test_recovery_with_blocks_spanning_features_and_a_ragged_edge():
    # Blocks of 20 over 50 columns (5 features): column blocks [0,20), [20,40),
    # [40,50); feature 4 (columns 40-49) planted: only the ragged block touches it.
    planted = np.zeros(50, dtype=bool)
    planted[40:50] = True
    kept = np.array([[False, True, True]])
    result = pruning._recovery(kept, 20, planted)
    assert result["precision"] == pytest.approx(1 / 2)
    assert result["recall"] == 1.0
    assert result["chance"] == pytest.approx(1 / 3)


# Summaries and verdicts (no training)


def test_summarize_gives_mean_and_sample_std_per_cell():
    rows = _accuracy_rows({("sapp", 8): (0.8, 0.6)})
    cells = {(c["method"], c["block"]): c for c in summarize(_record(rows))}
    assert cells[("sapp", 8)]["accuracy_mean"] == pytest.approx(0.7)
    assert cells[("sapp", 8)]["accuracy_std"] == pytest.approx(
        np.std([0.8, 0.6], ddof=1)
    )
    assert cells[("dense", None)]["n_seeds"] == 2


def test_verdicts_win_tie_and_lose_against_the_noise():
    table = {
        # block 8: SA++ ahead by 0.10, noise 0.014: wins
        ("sapp", 8): (0.80, 0.82),
        ("acdc", 8): (0.70, 0.72),
        ("magnitude", 8): (0.60, 0.60),
        ("powerprop", 8): (0.50, 0.50),
        # block 16: SA++ behind by 0.01, noise 0.05: ties
        ("sapp", 16): (0.70, 0.70),
        ("acdc", 16): (0.66, 0.76),
        ("magnitude", 16): (0.60, 0.60),
        ("powerprop", 16): (0.50, 0.50),
    }
    rows = verdicts(_record(_accuracy_rows(table)))
    by_block = {r["block"]: r for r in rows}
    assert by_block[8]["verdict"] == "wins"
    assert by_block[8]["runner_up"] == "acdc"
    assert by_block[8]["lead"] == pytest.approx(0.10)
    assert by_block[16]["verdict"] == "ties"
    assert by_block[16]["lead"] == pytest.approx(-0.01)
    table[("acdc", 16)] = (0.90, 0.90)
    by_block = {r["block"]: r for r in verdicts(_record(_accuracy_rows(table)))}
    assert by_block[16]["verdict"] == "loses"


def test_lower_loss_is_better_on_criteo():
    rows = [_row("criteo", "dense", None, None, 0, loss=0.45, auc=0.8)]
    rows += [
        _row("criteo", m, 10, 0.9, 0, loss=v, auc=0.7)
        for m, v in (("sapp", 0.46), ("acdc", 0.50))
    ]
    record = _record(rows, blocks=(10,), methods=("acdc", "sapp"))
    record["grids"][0]["task"] = "criteo"
    (row,) = verdicts(record)
    assert row["lead"] == pytest.approx(0.04)
    assert row["verdict"] == "wins"


def test_markdown_has_one_table_per_sparsity_and_the_trend_sentence():
    table = {
        (m, b): (0.5 + 0.1 * (m == "sapp") * b / 8, 0.5 + 0.1 * (m == "sapp") * b / 8)
        for m in pruning.METHODS
        for b in (8, 16)
    }
    text = pruning_markdown(_record(_accuracy_rows(table)))
    assert "| test accuracy (higher is better), sparsity 90% | B=8 | B=16 |" in text
    assert "| SA++ | 0.6000 ± 0.0000 | 0.7000 ± 0.0000 |" in text
    assert "SA++ wins 2, ties 0 and loses 0 of 2 cells" in text
    assert "grows from the smallest to the largest block in 1 of 1" in text


# Validation


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task": "imagenet"}, "`task`"),
        ({"blocks": ()}, "non-empty"),
        ({"sparsities": (1.0,)}, r"`sparsities` must lie in \[0, 1\)"),
        ({"blocks": (0,)}, "`blocks`"),
        ({"steps": 0}, "`steps`"),
    ],
)
def test_bad_grids_are_refused(kwargs, match):
    args = {
        "task": "mnist1d",
        "blocks": (8,),
        "sparsities": (0.9,),
        "seeds": (0,),
        **kwargs,
    }
    with pytest.raises(ValueError, match=match):
        PruningGrid(**args)


def test_bad_benchmark_arguments_are_refused():
    grid = PruningGrid("mnist1d", (8,), (0.9,), (0,))
    with pytest.raises(ValueError, match="`methods`"):
        pruning_benchmark([grid], methods=("sapp", "random"))
    with pytest.raises(ValueError, match="`jobs`"):
        pruning_benchmark([grid], jobs=0)
    with pytest.raises(TypeError, match="`grids`"):
        pruning_benchmark([])
    with pytest.raises(ValueError, match="`mode`"):
        default_grids("huge")


@pytest.mark.parametrize("argv", [["--seeds", "0"], ["--jobs", "-1"], ["--tasks", "x"]])
def test_cli_refuses_bad_options_with_exit_two(argv):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "pruning", *argv])
    assert exit_info.value.code == 2


# Real (tiny) runs


@pytest.fixture(scope="module")
def tiny_record():
    """Both tasks, 2 methods, a few steps each, trained in this process."""
    grids = [
        PruningGrid(
            "criteo",
            (20,),
            (0.95,),
            (0,),
            steps=8,
            overrides=(
                ("data.n_train", 1000),
                ("data.n_val", 500),
                ("train.batch_size", 128),
            ),
        ),
        PruningGrid(
            "mnist1d",
            (16,),
            (0.9,),
            (0, 1),
            steps=12,
            overrides=(("data.n_samples", 1000),),
        ),
    ]
    return pruning_benchmark(grids, methods=("magnitude", "sapp"), jobs=1)


def test_tiny_run_has_every_cell_and_the_exact_sparsity(tiny_record):
    rows = tiny_record["rows"]
    keys = {(r["task"], r["method"], r["seed"]) for r in rows}
    assert keys == {
        ("criteo", "dense", 0),
        ("criteo", "magnitude", 0),
        ("criteo", "sapp", 0),
        *(("mnist1d", m, s) for m in ("dense", "magnitude", "sapp") for s in (0, 1)),
    }
    for row in rows:
        assert row["steps"] == (8 if row["task"] == "criteo" else 12)
        if row["method"] != "dense":
            assert row["realized_sparsity"] == pytest.approx(row["sparsity"], abs=0.01)
        if row["task"] == "criteo" and row["method"] != "dense":
            assert 0.0 <= row["precision"] <= 1.0 and 0.0 < row["recall"] <= 1.0
            assert 0.0 < row["auc"] < 1.0
    facts = tiny_record["tasks"]["criteo"]
    assert 0.0 < facts["bayes_log_loss"] < np.log(2)
    assert facts["planted_features"]


def test_results_are_written_as_json_markdown_and_png(tiny_record, tmp_path):
    written = pruning_report.write_pruning_results(tiny_record, tmp_path, "run")
    names = sorted(p.name for p in written)
    assert names == ["run.json", "run.md", "run_criteo.png", "run_mnist1d.png"]
    assert (
        json.loads((tmp_path / "run.json").read_text())["rows"] == tiny_record["rows"]
    )
    assert (tmp_path / "run_mnist1d.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## SA++ against the best other method" in (tmp_path / "run.md").read_text()


def test_blocks_and_sparsities_options_cut_the_grid():
    (grid,) = [g for g in default_grids("full") if g.task == "criteo"]
    cut = pruning._restrict(grid, [20, 5], [0.99])
    assert (cut.blocks, cut.sparsities, cut.overrides) == (
        (5, 20),
        (0.99,),
        grid.overrides,
    )
    assert pruning._restrict(grid, None, None) == grid
    with pytest.raises(ValueError, match=r"`--blocks` must be among \[5, 10, 20\]"):
        pruning._restrict(grid, [7], None)


def test_cli_refuses_a_block_outside_the_grid_with_exit_two(capsys):
    assert main(["bench", "pruning", "--tasks", "criteo", "--blocks", "7"]) == 2
    assert "`--blocks` must be among" in capsys.readouterr().err


def test_progress_reports_done_and_total_after_each_cell():
    calls = []
    grid = PruningGrid(
        "mnist1d", (16,), (0.9,), (0,), steps=5, overrides=(("data.n_samples", 300),)
    )
    pruning_benchmark(
        [grid], methods=("sapp",), jobs=1, progress=lambda *a: calls.append(a)
    )
    assert calls == [(1, 2, "mnist1d dense"), (2, 2, "mnist1d sapp")]
