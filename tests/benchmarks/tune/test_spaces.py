"""benchmarks/tune/spaces.py: random search over each method's space (issue 15)."""

import math

import pytest

from benchmarks.pruning import runs
from benchmarks.pruning.runs import PruningGrid
from benchmarks.tune.spaces import (
    LR_FACTOR,
    SPACES,
    TUNE_METHODS,
    WEIGHT_DECAYS,
    draw_configs,
)


@pytest.mark.parametrize("task", runs.TASKS)
def test_configs_are_the_default_then_valid_draws_in_range(task):
    grid = PruningGrid(task, (10,), (0.9,), (0,))
    for i, method in enumerate(TUNE_METHODS):
        recipe = runs.cell_recipe(grid, method, 10, 0.9, 0)
        configs = draw_configs(method, recipe, 6, [0, i])
        assert configs[0] == {} and len(configs) == 6
        assert configs == draw_configs(method, recipe, 6, [0, i])  # seeded
        assert configs != draw_configs(method, recipe, 6, [1, i])
        for config in configs[1:]:
            factor = config["train.lr"] / recipe.train["lr"]
            assert LR_FACTOR[0] * 0.99 <= factor <= LR_FACTOR[1] * 1.01
            if task == "criteo":  # the exponential decay keeps its shape
                assert config["train.final_lr"] / recipe.train[
                    "final_lr"
                ] == pytest.approx(factor, rel=0.01)
            assert config["train.weight_decay"] in WEIGHT_DECAYS
            assert set(config) - {
                "train.lr",
                "train.final_lr",
                "train.weight_decay",
            } == {knob.key for knob in SPACES[method]}
            # Every configuration is a valid recipe of the cell.
            runs.cell_recipe(grid, method, 10, 0.9, 0, config)


def test_sapp_knobs_cover_their_ranges():
    grid = PruningGrid("criteo", (10,), (0.9,), (0,))
    recipe = runs.cell_recipe(grid, "sapp", 10, 0.9, 0)
    configs = draw_configs("sapp", recipe, 200, [0, 5])[1:]
    multipliers = [c["prune.logit_lr_multiplier"] for c in configs]
    assert 1.0 <= min(multipliers) < 2.0 and 50.0 < max(multipliers) <= 100.0
    # log-uniform: about half of the draws below sqrt(100) = 10
    assert 0.35 < sum(m < 10 for m in multipliers) / len(multipliers) < 0.65
    assert {c["prune.timeline_args.c"] for c in configs} == {2.0, 4.0, 8.0}
    assert {c["prune.reenter"] for c in configs} == {"keep", "zero"}
    assert math.isclose(
        min(c["train.lr"] for c in configs) / recipe.train["lr"], 0.25, rel_tol=0.2
    )


def test_a_budget_of_one_is_the_default_alone_and_unknown_methods_fail():
    grid = PruningGrid("mnist1d", (8,), (0.9,), (0,))
    recipe = runs.cell_recipe(grid, "acdc", 8, 0.9, 0)
    assert draw_configs("acdc", recipe, 1, [0, 0]) == [{}]
    with pytest.raises(ValueError, match="`method`"):
        draw_configs("random", recipe, 2, [0, 0])
