"""Training recipes for the paper's experiments (arXiv:2402.17902, Section 4).

One TOML file per (experiment, method): ``imagenet_{magnitude,powerprop,acdc,
sapp}``, ``criteo_{...}`` and ``mnist1d_{magnitude,acdc,sapp}``, each with a
``:quick`` variant (a small model on synthetic data, minutes on a CPU).
:func:`load_recipe` resolves and validates one (``neural.recipes.recipe``),
``neural.recipes.build`` turns it into a model, data and a pruner factory,
``neural.recipes.run`` trains and ``neural.recipes.trained`` evaluates and
exports, as ``sapp train``, ``sapp eval`` and ``sapp export`` do.
"""

from .build import (
    build_dataset,
    build_model,
    example_inputs,
    pruned_layers,
    pruner_factory,
)
from .recipe import Recipe, load_recipe, parse_assignment, recipe_names
from .run import TrainPlan, plan_training, run_training, train_recipe
from .trained import EvalResult, ExportResult, evaluate_checkpoint, export_checkpoint

__all__ = [
    "EvalResult",
    "ExportResult",
    "Recipe",
    "TrainPlan",
    "build_dataset",
    "build_model",
    "evaluate_checkpoint",
    "example_inputs",
    "export_checkpoint",
    "load_recipe",
    "parse_assignment",
    "plan_training",
    "pruned_layers",
    "pruner_factory",
    "recipe_names",
    "run_training",
    "train_recipe",
]
