"""The penalty registry: one entry per family of group penalties.

Every reader that needs "all the penalties" reads :data:`PENALTY_REGISTRY`: the
shared contract tests, the hypothesis strategies of :mod:`nonconvex_reg.testing`,
``sapp verify`` (:mod:`nonconvex_reg.verify` and :mod:`omp.verify`) and the
benchmarks. Adding a family means writing its module, one :class:`PenaltyFamily`
here and its own tests; every reader then enrols it.

An entry holds what the readers need and nothing the penalty already declares:

* ``examples``: the hyperparameters of the representative instances that the
  checks and benchmarks run (one per regime where a hyperparameter decides it);
* ``edge_cases``: further hyperparameters only the contract tests cover;
* ``ranges``: boxes of hyperparameters that random draws sample;
* ``curvature_breakpoints``: the norms where ``q''`` changes monotonicity, which
  the certified prox of the contract tests needs.

Whether an instance falls inside Theorem 1.1 of arXiv:2402.17902 (increasing,
subadditive, ``q(0) = 0``) is never listed here: readers ask the instance's
declared ``is_subadditive``, as :func:`penalty_examples` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .base import GroupPenalty
from .log import LogPenalty
from .power import GroupLassoPenalty, L1MaskPenalty, LqPenalty, PowerPropPenalty
from .softmax import CURVATURE_BREAKPOINT, SoftmaxPenalty

__all__ = ["PENALTY_REGISTRY", "PenaltyFamily", "penalty_examples", "penalty_label"]


@dataclass(frozen=True)
class PenaltyFamily:
    """One family of group penalties and the sample hyperparameters readers use.

    Parameters
    ----------
    name : str
        Short key of the family (snake case), the start of every
        :func:`penalty_label`.
    penalty : type of GroupPenalty
        The class; ``penalty(**hyperparameters)`` builds an instance.
    examples : tuple of dict, default=({},)
        Hyperparameters of the representative instances: those ``sapp verify``
        checks and the benchmarks run. A family whose hyperparameter moves it in
        or out of Theorem 1.1 lists one instance on each side.
    edge_cases : tuple of dict, default=()
        Hyperparameters that only the contract tests add (ends of the range).
    ranges : tuple of dict, default=({},)
        Boxes that random draws sample: each maps a hyperparameter name to an
        interval ``(low, high)``; a draw picks a box, then each value uniformly
        in its interval. ``({},)`` draws the default instance only.
    curvature_breakpoints : tuple of float, default=()
        Norms where ``q''`` changes monotonicity (the breakpoints of
        :func:`~nonconvex_reg.penalties._scalar_prox.certified_prox`).

    Examples
    --------
    >>> from nonconvex_reg.penalties import PENALTY_REGISTRY
    >>> family = PENALTY_REGISTRY[1]
    >>> family.name, family.penalties()
    ('lq', [LqPenalty(p=0.5), LqPenalty(p=0.1), LqPenalty(p=1.0)])
    """

    name: str
    penalty: type[GroupPenalty]
    examples: tuple[Mapping[str, float], ...] = ({},)
    edge_cases: tuple[Mapping[str, float], ...] = ()
    ranges: tuple[Mapping[str, tuple[float, float]], ...] = ({},)
    curvature_breakpoints: tuple[float, ...] = ()

    def make(self, **hyperparameters) -> GroupPenalty:
        """An instance with ``hyperparameters`` (validated by the class)."""
        return self.penalty(**hyperparameters)

    def example_penalties(self) -> list[GroupPenalty]:
        """The representative instances, one per entry of ``examples``."""
        return [self.make(**params) for params in self.examples]

    def penalties(self) -> list[GroupPenalty]:
        """Every registered instance: the examples, then the edge cases."""
        return self.example_penalties() + [
            self.make(**params) for params in self.edge_cases
        ]


#: Every penalty family, in the order ``sapp verify`` reports them.
PENALTY_REGISTRY = (
    PenaltyFamily("group_lasso", GroupLassoPenalty),
    PenaltyFamily(
        "lq",
        LqPenalty,
        examples=({"p": 0.5},),
        edge_cases=({"p": 0.1}, {"p": 1.0}),
        ranges=({"p": (0.1, 1.0)},),
    ),
    PenaltyFamily("l1_mask", L1MaskPenalty),
    PenaltyFamily(
        "softmax", SoftmaxPenalty, curvature_breakpoints=(CURVATURE_BREAKPOINT,)
    ),
    PenaltyFamily(
        "powerprop",
        PowerPropPenalty,
        # alpha = 3 is the concave a^(2/3); alpha = 1 is a^2, a negative control.
        examples=({"alpha": 3.0}, {"alpha": 1.0}),
        edge_cases=({"alpha": 2.0}, {"alpha": 1.5}, {"alpha": 0.5}),
        # Draws skip alpha in (1.9, 2), where a^(2/alpha) misses subadditivity
        # only by a sliver.
        ranges=({"alpha": (0.5, 1.9)}, {"alpha": (2.0, 6.0)}),
    ),
    PenaltyFamily("log", LogPenalty),
)


def _family_of(penalty) -> PenaltyFamily:
    """The registry entry of ``penalty``'s exact class."""
    for family in PENALTY_REGISTRY:
        if type(penalty) is family.penalty:
            return family
    names = tuple(family.penalty.__name__ for family in PENALTY_REGISTRY)
    raise ValueError(
        f"`penalty` must be an instance of a registered family {names}; "
        f"got {penalty!r}."
    )


def penalty_label(penalty: GroupPenalty) -> str:
    """Short key of a registered penalty: its family's name and hyperparameters.

    Parameters
    ----------
    penalty : GroupPenalty
        An instance of a class in :data:`PENALTY_REGISTRY`.

    Returns
    -------
    str
        ``name`` followed by each hyperparameter value (``%g``), joined by ``_``.

    Raises
    ------
    ValueError
        If the class of ``penalty`` has no registry entry.

    Examples
    --------
    >>> from nonconvex_reg.penalties import LqPenalty, PowerPropPenalty
    >>> penalty_label(LqPenalty(0.5)), penalty_label(PowerPropPenalty(3.0))
    ('lq_0.5', 'powerprop_3')
    """
    family = _family_of(penalty)
    params = penalty.to_dict()
    del params["penalty"]
    return "_".join([family.name, *(f"{value:g}" for value in params.values())])


def penalty_examples(*, subadditive: bool | None = None) -> dict[str, GroupPenalty]:
    """The representative instance of every family, by :func:`penalty_label`.

    Parameters
    ----------
    subadditive : bool or None, default=None
        ``True`` keeps the instances Theorem 1.1 covers (declared
        ``is_subadditive``), ``False`` the negative controls, ``None`` all.

    Returns
    -------
    dict of str to GroupPenalty
        In registry order.

    Examples
    --------
    >>> list(penalty_examples(subadditive=False))
    ['softmax', 'powerprop_1']
    """
    examples = {
        penalty_label(penalty): penalty
        for family in PENALTY_REGISTRY
        for penalty in family.example_penalties()
    }
    if subadditive is None:
        return examples
    return {
        label: penalty
        for label, penalty in examples.items()
        if penalty.is_subadditive is bool(subadditive)
    }
