r"""The search space of each method in ``sapp bench tune``, and random search over it.

Every method gets the same number ``N`` of configurations (the budget). Config
0 is the recipe's default (no assignment); configs ``1 .. N-1`` are drawn
independently from the method's space (random search, Bergstra & Bengio 2012,
JMLR 13), by a generator seeded from the task and the method alone, so a
method's configurations never depend on another method's or on any result.

Common to every method, the dense baseline included:

* the learning rate ``lr = f lr0``, ``f`` log-uniform in [1/4, 4] around the
  recipe's ``lr0``; on Criteo the exponential schedule's ``final_lr`` is scaled
  by the same ``f``, so the decay keeps its shape;
* the weights' decay from :data:`WEIGHT_DECAYS` (it contains both recipes'
  values: Criteo's 0 and MNIST-1D's 1e-4).

Each method's own knobs (:data:`SPACES`): the fine-tuning share of one-shot
magnitude pruning and block powerprop (powerprop also its exponent alpha), the
start and stop of gradual magnitude pruning's cubic ramp, ACDC's re-entry, and
SA++'s logit learning-rate multiplier (log-uniform in [1, 100]), logit weight
decay (:data:`LOGIT_DECAYS`), sparsification exponent c and re-entry. Drawn
reals are rounded to 3 significant digits, so a configuration reads as typed.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = [
    "LOGIT_DECAYS",
    "LR_FACTOR",
    "SPACES",
    "TUNE_METHODS",
    "WEIGHT_DECAYS",
    "Knob",
    "draw_configs",
    "space_rows",
]

#: The methods tuned, the dense baseline first.
TUNE_METHODS = ("dense", "magnitude", "gmp", "powerprop", "acdc", "sapp")
#: The learning rate's range, as factors of the recipe's.
LR_FACTOR = (0.25, 4.0)
WEIGHT_DECAYS = (0.0, 1e-5, 1e-4)
LOGIT_DECAYS = (0.0, 1e-5, 1e-4, 1e-3)


@dataclasses.dataclass(frozen=True)
class Knob:
    """One searched recipe key.

    Attributes
    ----------
    key : str
        Dotted recipe key, e.g. ``"prune.timeline_args.c"``.
    kind : {"uniform", "log_uniform", "choice"}
    values : tuple
        ``(low, high)`` for the two real kinds, the choices otherwise.
    """

    key: str
    kind: str
    values: tuple

    def draw(self, rng: np.random.Generator):
        """One value, by ``rng``."""
        if self.kind == "choice":
            return self.values[int(rng.integers(len(self.values)))]
        low, high = self.values
        if self.kind == "log_uniform":
            return _round(math.exp(rng.uniform(math.log(low), math.log(high))))
        return _round(rng.uniform(low, high))

    def describe(self) -> str:
        """``"log-uniform [1, 100]"``, ``"one of 0, 1e-05"``..."""
        if self.kind == "choice":
            return "one of " + ", ".join(
                f"{v:g}" if not isinstance(v, str) else v for v in self.values
            )
        name = "log-uniform" if self.kind == "log_uniform" else "uniform"
        return f"{name} [{self.values[0]:g}, {self.values[1]:g}]"


def _round(value: float) -> float:
    return float(f"{value:.3g}")


_FINETUNE = Knob("prune.timeline_args.finetune", "uniform", (0.1, 0.5))
_REENTER = Knob("prune.reenter", "choice", ("keep", "zero"))
SPACES = {
    "dense": (),
    "magnitude": (_FINETUNE,),
    "gmp": (
        Knob("prune.timeline_args.start", "uniform", (0.0, 0.3)),
        Knob("prune.timeline_args.stop", "uniform", (0.5, 0.9)),
    ),
    "powerprop": (_FINETUNE, Knob("prune.alpha", "uniform", (1.5, 4.0))),
    "acdc": (_REENTER,),
    "sapp": (
        Knob("prune.logit_lr_multiplier", "log_uniform", (1.0, 100.0)),
        Knob("prune.logit_weight_decay", "choice", LOGIT_DECAYS),
        Knob("prune.timeline_args.c", "choice", (2.0, 4.0, 8.0)),
        _REENTER,
    ),
}
"""Method -> its own knobs, besides the learning rate and the weight decay."""


def _common(recipe, rng) -> dict:
    factor = math.exp(rng.uniform(*(math.log(f) for f in LR_FACTOR)))
    train = recipe.train
    config = {"train.lr": _round(factor * train["lr"])}
    if "final_lr" in train:
        config["train.final_lr"] = _round(factor * train["final_lr"])
    config["train.weight_decay"] = WEIGHT_DECAYS[int(rng.integers(len(WEIGHT_DECAYS)))]
    return config


def draw_configs(method: str, recipe, budget: int, seed) -> list[dict]:
    """``budget`` configurations of ``method``: the default ``{}``, then drawn ones.

    Parameters
    ----------
    method : str
        One of :data:`TUNE_METHODS`.
    recipe : Recipe
        The method's default recipe in the cell (its ``lr``, ``final_lr``).
    budget : int
        Configurations in all, ``>= 1``.
    seed : sequence of int
        Seed of the generator (the task's and the method's indices).

    Returns
    -------
    list of dict
        Dotted recipe assignments, one dict per configuration.

    Examples
    --------
    >>> from neural.recipes import load_recipe
    >>> configs = draw_configs("acdc", load_recipe("mnist1d_acdc"), 2, [1, 4])
    >>> configs[0], sorted(configs[1])
    ({}, ['prune.reenter', 'train.lr', 'train.weight_decay'])
    """
    if method not in SPACES:
        raise ValueError(f"`method` must be one of {TUNE_METHODS}; got {method!r}.")
    rng = np.random.default_rng(list(seed))
    configs = [{}]
    for _ in range(budget - 1):
        config = _common(recipe, rng)
        config.update({knob.key: knob.draw(rng) for knob in SPACES[method]})
        configs.append(config)
    return configs


def space_rows(recipe_lr: dict) -> tuple[str, list[list[str]]]:
    """The common space in words and rows ``[method, own knobs]`` (for Markdown).

    ``recipe_lr`` maps a task to its recipes' learning rate.
    """
    lrs = ", ".join(f"{task} {lr:g}" for task, lr in recipe_lr.items())
    common = (
        f"learning rate log-uniform in [{LR_FACTOR[0]:g}, {LR_FACTOR[1]:g}] x the "
        f"recipe's ({lrs}; Criteo's final_lr scaled by the same factor); weight "
        "decay one of " + ", ".join(f"{w:g}" for w in WEIGHT_DECAYS)
    )
    rows = [
        [
            method,
            "; ".join(f"`{k.key}` {k.describe()}" for k in SPACES[method])
            or "none (learning rate and weight decay only)",
        ]
        for method in TUNE_METHODS
    ]
    return common, rows
