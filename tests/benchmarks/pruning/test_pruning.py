"""sapp bench pruning (issue 6): cells, recovery, summaries, verdicts, files."""

import json

import numpy as np
import pytest

from benchmarks.pruning import cli as pruning_cli
from benchmarks.pruning import report as pruning_report
from benchmarks.pruning import runs as pruning
from benchmarks.pruning.compare import compare_records, comparison_markdown
from benchmarks.pruning.report import pruning_markdown, summarize, verdicts
from benchmarks.pruning.runs import PruningGrid, default_grids, pruning_benchmark
from neural import schedules
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


# A rerun against a reference record


def _table_record(acc_sapp):
    table = {("acdc", 8): (0.70, 0.74), ("sapp", 8): acc_sapp}
    return _record(_accuracy_rows(table), blocks=(8,), methods=("acdc", "sapp"))


def test_identical_records_match_with_zero_difference():
    reference = _table_record((0.80, 0.84))
    result = compare_records(reference, json.loads(json.dumps(reference)))
    assert result["matches"]
    assert result["matched_runs"] == 6 and result["unmatched_runs"] == 0
    assert result["max_abs_difference"] == {"accuracy": 0.0}
    assert len(result["cells"]) == 3  # dense, acdc, sapp
    assert "matches the reference" in comparison_markdown(result, "ref.json")


def test_a_shift_within_the_std_matches_and_beyond_it_does_not():
    reference = _table_record((0.80, 0.84))  # std 0.028
    within = compare_records(reference, _table_record((0.82, 0.86)))
    assert within["matches"]
    assert within["max_abs_difference"]["accuracy"] == pytest.approx(0.02)
    beyond = compare_records(reference, _table_record((0.90, 0.94)))
    assert not beyond["matches"]
    (cell,) = [c for c in beyond["cells"] if not c["within"]]
    assert (cell["method"], cell["block"], cell["metric"]) == ("sapp", 8, "accuracy")
    assert cell["difference"] == pytest.approx(0.10)
    text = comparison_markdown(beyond, "ref.json")
    assert "does NOT match" in text and "| mnist1d | sapp | 8 | 90% |" in text


def test_runs_of_other_lengths_are_not_matched():
    reference = _table_record((0.80, 0.84))
    longer = _table_record((0.80, 0.84))
    for row in longer["rows"]:
        row["steps"] = 20
    with pytest.raises(ValueError, match="shares no run"):
        compare_records(reference, longer)
    longer["rows"] += reference["rows"][:2]  # the dense runs of 10 steps
    result = compare_records(reference, longer)
    assert (result["matched_runs"], result["unmatched_runs"]) == (2, 6)


@pytest.mark.parametrize("content", [None, "not json", '{"no": "rows"}'])
def test_cli_refuses_a_bad_reference_before_training(tmp_path, capsys, content):
    path = tmp_path / "reference.json"
    if content is not None:
        path.write_text(content)
    assert main(["bench", "pruning", "--compare", str(path)]) == 2
    assert "`--compare` must name" in capsys.readouterr().err


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
    assert names == [
        "run.json",
        "run.md",
        "run_criteo.png",
        "run_mnist1d.png",
        "run_swaps.png",
    ]
    assert (
        json.loads((tmp_path / "run.json").read_text())["rows"] == tiny_record["rows"]
    )
    assert (tmp_path / "run_mnist1d.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## SA++ against the best other method" in (tmp_path / "run.md").read_text()


def _sparse_phases(task, method, steps, block, sparsity):
    grid = PruningGrid(task, (block,), (sparsity,), (0,), steps=steps)
    recipe = pruning.cell_recipe(grid, method, block, sparsity, 0)
    timeline = schedules.PRESETS[recipe.prune["timeline"]](steps)
    return sum(phase.kind == "sparse" for phase in timeline.phases)


def test_swap_columns_are_present_and_follow_the_support_history(tiny_record):
    # Issue 15: every pruned run records its sparse entries and swaps.
    for row in tiny_record["rows"]:
        if row["method"] == "dense":
            assert "sparse_entries" not in row
            continue
        steps = row["steps"]
        entries = _sparse_phases(
            row["task"], row["method"], steps, row["block"], row["sparsity"]
        )
        assert row["sparse_entries"] == entries
        assert len(row["swaps_in_by_entry"]) == entries - 1
        if entries == 1:  # one-shot, or SA++ on a timeline cut short
            assert row["swaps_in_per_entry"] is None
        else:
            assert row["swaps_in_per_entry"] == pytest.approx(
                np.mean(row["swaps_in_by_entry"])
            )
        if row["method"] == "magnitude":  # the one-shot support is the final one
            assert row["first_jaccard_final"] == 1.0
        assert 0.0 <= row["first_jaccard_final"] <= 1.0
    assert any(
        r["method"] == "sapp" and r["sparse_entries"] > 1 for r in tiny_record["rows"]
    )
    text = pruning_markdown(tiny_record)
    assert "## Swaps per sparse entry" in text
    assert "n/a (1; J 1.00)" in text


def test_summaries_skip_missing_swaps_and_the_table_says_n_a():
    rows = _accuracy_rows({("sapp", 8): (0.8, 0.6), ("magnitude", 8): (0.5, 0.5)})
    for row in rows:
        if row["method"] == "sapp":
            row.update(sparse_entries=7, swaps_in_per_entry=3.0 + row["seed"])
            row.update(first_jaccard_final=0.5, swaps_in_by_entry=[3, 3])
        elif row["method"] == "magnitude":
            row.update(sparse_entries=1, swaps_in_per_entry=None)
            row.update(first_jaccard_final=1.0, swaps_in_by_entry=[])
    record = _record(rows, blocks=(8,), methods=("magnitude", "sapp"))
    cells = {c["method"]: c for c in summarize(record)}
    assert "swaps_in_per_entry_mean" not in cells["magnitude"]
    assert cells["sapp"]["swaps_in_per_entry_mean"] == pytest.approx(3.5)
    text = pruning_markdown(record)
    assert "| 8 | 90% | n/a (1; J 1.00) | 3.5 ± 0.7 (7; J 0.50) |" in text


@pytest.mark.parametrize("task", pruning.TASKS)
def test_gradual_magnitude_is_the_magnitude_recipe_on_the_gradual_timeline(task):
    # Criteo's magnitude recipe sets one-shot's own timeline_args (finetune).
    grid = PruningGrid(task, (10,), (0.9,), (0,))
    assert grid.recipe_name("gmp") == grid.recipe_name("magnitude")
    gmp = pruning.cell_recipe(grid, "gmp", 10, 0.9, 0)
    one_shot = pruning.cell_recipe(grid, "magnitude", 10, 0.9, 0)
    assert (gmp.prune["method"], gmp.prune["timeline"]) == ("magnitude", "gradual")
    assert gmp.prune["timeline_args"] == {}
    assert one_shot.prune["timeline"] == "one_shot"
    assert (
        gmp.updated(
            {
                "prune.timeline": "one_shot",
                "prune.timeline_args": one_shot.prune["timeline_args"],
            }
        )
        == one_shot
    )
    assert set(pruning.PAPER_METHODS) < set(pruning.METHODS)


def test_a_bad_recipe_fails_before_any_cell_trains():
    calls = []
    good = PruningGrid("mnist1d", (16,), (0.9,), (0,), steps=5)
    bad = PruningGrid("mnist1d", (16,), (0.9,), (0,), overrides=(("train.lr", -1.0),))
    with pytest.raises(ValueError, match="lr"):
        pruning_benchmark(
            [good, bad], methods=("sapp",), jobs=2, progress=lambda *a: calls.append(a)
        )
    assert calls == []


def test_blocks_and_sparsities_options_cut_the_grid():
    (grid,) = [g for g in default_grids("full") if g.task == "criteo"]
    cut = pruning_cli._restrict(grid, [20, 5], [0.99])
    assert (cut.blocks, cut.sparsities, cut.overrides) == (
        (5, 20),
        (0.99,),
        grid.overrides,
    )
    assert pruning_cli._restrict(grid, None, None) == grid
    with pytest.raises(ValueError, match=r"`--blocks` must be among \[5, 10, 20\]"):
        pruning_cli._restrict(grid, [7], None)


def test_cli_refuses_a_block_outside_the_grid_with_exit_two(capsys):
    assert main(["bench", "pruning", "--tasks", "criteo", "--blocks", "7"]) == 2
    assert "`--blocks` must be among" in capsys.readouterr().err


def test_a_rerun_reproduces_every_metric_exactly():
    grid = PruningGrid(
        "mnist1d", (16,), (0.9,), (0, 1), steps=6, overrides=(("data.n_samples", 300),)
    )
    first, second = (
        pruning_benchmark([grid], methods=("acdc", "sapp"), jobs=1) for _ in range(2)
    )
    result = compare_records(first, second)
    assert result["matches"] and result["matched_runs"] == 6
    assert set(result["max_abs_difference"].values()) == {0.0}


def test_cli_compare_prints_the_comparison_and_sets_the_exit_status(
    tmp_path, monkeypatch, capsys
):
    grid = PruningGrid(
        "mnist1d", (16,), (0.9,), (0,), steps=5, overrides=(("data.n_samples", 300),)
    )
    monkeypatch.setattr(pruning, "default_grids", lambda mode, seeds: [grid])
    argv = ["bench", "pruning", "--quick", "--methods", "sapp", "--seeds", "1"]
    argv += ["--jobs", "1"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    reference = tmp_path / "a" / "pruning_quick.json"
    capsys.readouterr()
    assert main([*argv, "--out", str(tmp_path / "b"), "--compare", str(reference)]) == 0
    assert "matches the reference: 2 runs compared" in capsys.readouterr().out
    changed = json.loads(reference.read_text())
    changed["rows"][-1]["accuracy"] += 0.5  # one seed: any change is beyond noise
    reference.write_text(json.dumps(changed))
    argv += ["--out", str(tmp_path / "c"), "--compare", str(reference), "--json"]
    assert main(argv) == 1
    comparison = json.loads(capsys.readouterr().out)["comparison"]
    assert not comparison["matches"]
    assert comparison["max_abs_difference"]["accuracy"] == pytest.approx(0.5)


def test_progress_reports_done_and_total_after_each_cell():
    calls = []
    grid = PruningGrid(
        "mnist1d", (16,), (0.9,), (0,), steps=5, overrides=(("data.n_samples", 300),)
    )
    pruning_benchmark(
        [grid], methods=("sapp",), jobs=1, progress=lambda *a: calls.append(a)
    )
    assert calls == [(1, 2, "mnist1d dense"), (2, 2, "mnist1d sapp")]
