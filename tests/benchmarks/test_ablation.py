"""benchmarks/ablation.py: SA++ one factor at a time (issue 15)."""

import json

import pytest

from benchmarks import ablation
from benchmarks.pruning import runs
from benchmarks.pruning.runs import PruningGrid
from neural.cli import main
from neural.pruning import SequentialAttentionPP


def _variants(task, block, sparsity, steps=None):
    grid = PruningGrid(task, (block,), (sparsity,), (0,), steps=steps)
    recipe = runs.cell_recipe(grid, "sapp", block, sparsity, 0)
    return grid, {v.name: v for v in ablation.cell_variants(task, recipe)}


def test_every_factor_has_variants_that_change_the_sapp_recipe():
    grid, variants = _variants("criteo", 10, 0.9)
    assert {v.factor for v in variants.values()} == {"-", *ablation.FACTORS}
    default = runs.cell_recipe(grid, "sapp", 10, 0.9, 0)
    for variant in variants.values():
        recipe = runs.cell_recipe(grid, "sapp", 10, 0.9, 0, variant.assignments)
        assert (recipe == default) == (variant.name == ablation.DEFAULT)
    assert dict(variants["no sparsification phase"].assignments)["prune.timeline"] == (
        "acdc_criteo"
    )


def test_logit_decay_is_toggled_against_the_recipe_value():
    # Both tasks' logits have decay 1e-4 (Criteo's recipe sets it, MNIST-1D's
    # inherit the weights'): the variant turns it off; a recipe without decay
    # gets the variant that turns it on.
    grid, criteo = _variants("criteo", 10, 0.9)
    _, mnist = _variants("mnist1d", 8, 0.9)
    for variants in (criteo, mnist):
        (off,) = [v for v in variants.values() if v.factor == "logit_decay"]
        assert off.assignments == (("prune.logit_weight_decay", 0.0),)
    undecayed = runs.cell_recipe(
        grid, "sapp", 10, 0.9, 0, (("prune.logit_weight_decay", 0.0),)
    )
    (on,) = [
        v
        for v in ablation.cell_variants("criteo", undecayed)
        if v.factor == "logit_decay"
    ]
    assert on.assignments == (("prune.logit_weight_decay", ablation.LOGIT_DECAY_ON),)
    assert "prune.timeline" in dict(mnist["no sparsification phase"].assignments)


def test_logit_lr_variants_are_the_other_multipliers_than_the_default():
    _, variants = _variants("criteo", 10, 0.9)
    multipliers = [
        dict(v.assignments)["prune.logit_lr_multiplier"]
        for v in variants.values()
        if v.factor == "logit_lr"
    ]
    default = SequentialAttentionPP.DEFAULT_LOGIT_LR_MULTIPLIER
    assert default not in multipliers
    assert sorted([*multipliers, default]) == [1.0, 10.0, 100.0]


def test_update_frequencies_are_a_quarter_and_half_of_the_first_sparsify_phase():
    # Criteo, 400 steps: a 6% period split in three, 8 steps of sparsification.
    _, variants = _variants("criteo", 10, 0.9)
    every = [
        dict(v.assignments)["prune.update_every"]
        for v in variants.values()
        if v.factor == "update_every"
    ]
    assert every == [2, 4]


def test_unknown_or_empty_factors_are_refused():
    grid = PruningGrid("mnist1d", (16,), (0.9,), (0,))
    with pytest.raises(ValueError, match="`factors`"):
        ablation.ablation_benchmark([grid], factors=("c", "colour"))
    with pytest.raises(ValueError, match="`factors`"):
        ablation.ablation_benchmark([grid], factors=())


def test_cli_refuses_an_unknown_factor_in_one_line_writing_nothing(tmp_path, capsys):
    code = main(["bench", "ablation", "--factors", "c", "nope", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "`--factors`" in err[0] and "update_every" in err[0]
    assert list(tmp_path.iterdir()) == []


def test_quick_mode_runs_end_to_end_on_a_tiny_cell(tmp_path, monkeypatch, capsys):
    tiny = [
        PruningGrid(
            "mnist1d",
            (16,),
            (0.9,),
            (0, 1),
            steps=12,
            overrides=(("data.n_samples", 300),),
        )
    ]
    monkeypatch.setattr(ablation, "ablation_grids", lambda mode, seeds: tiny)
    argv = ["bench", "ablation", "--quick", "--factors", "reenter", "--seeds", "2"]
    assert main([*argv, "--jobs", "1", "--out", str(tmp_path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ablation_quick.json",
        "ablation_quick.md",
        "ablation_quick.png",
    ]
    rows = printed["rows"]
    assert sorted((r["variant"], r["seed"]) for r in rows) == [
        ("default", 0),
        ("default", 1),
        ("reenter zero", 0),
        ("reenter zero", 1),
    ]
    assert all(r["sparse_entries"] > 1 for r in rows)
    accuracy = {
        v: sum(r["accuracy"] for r in rows if r["variant"] == v) / 2
        for v in ("default", "reenter zero")
    }
    (default, zero) = ablation.comparisons(printed)
    assert default["verdict"] is None and default["difference"] == 0.0
    assert zero["difference"] == pytest.approx(
        accuracy["reenter zero"] - accuracy["default"]
    )
    assert zero["verdict"] in ("better", "same", "worse")
    text = (tmp_path / "ablation_quick.md").read_text()
    assert "## mnist1d, 16x16 blocks, 90% sparsity" in text
    assert "| reenter | reenter zero |" in text
