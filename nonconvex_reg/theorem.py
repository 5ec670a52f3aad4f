"""Numerical checks of Lemmas 2.4-2.5 and Theorem 1.1 of arXiv:2402.17902.

Theorem 1.1 (v1). Let q be strictly increasing, subadditive, with q(0) = 0. If group
LASSO (2) has a unique minimizer beta* with group sparsity at most 1, then beta* is
also the unique minimizer of objective (1), ``L(beta) + lam q^{-1}(sum_g q(a_g))``.

:func:`check_theorem_1_1` tests both the hypotheses and the conclusion on a given
problem, each independently:

* hypotheses: q's shape (declared by the penalty *and* checked on a grid), and the
  group-LASSO minimizer (our solver, support certified by gap-safe KKT tests;
  uniqueness from strict convexity, ``mu > 0``), cross-checked against the cvxpy
  oracle;
* conclusion: the global minimizer of (1) found by support enumeration
  (:func:`~nonconvex_reg.solvers.global_minimum`), with its uniqueness margin, its
  group sparsity and its distance to the group-LASSO minimizer;
* Lemma 2.4 as a certificate: for subadditive q, (1) >= (2) everywhere, so
  ``f_(1)(beta_hat) - min f_(2)`` is a gap that closes exactly when the theorem's
  conclusion holds.

The verdict says which of four cases occurred. A penalty outside the theorem (not
subadditive, e.g. ``a^2`` or the Lemma 2.1 penalty) is *reported* as outside, with
whether its conclusion failed, never skipped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .oracle import cvxpy_group_lasso
from .solvers import global_minimum, solve_group_lasso, tau
from .solvers.objectives import objective_value
from .validation import check_scalar

__all__ = [
    "TheoremCheck",
    "check_lemma_2_4",
    "check_lemma_2_5",
    "check_theorem_1_1",
    "subadditivity_violation",
]

_GRID = np.logspace(-6, 4, 121)
DEFAULT_MARGINS = (0.05, 0.02, 0.01, 0.005, 0.002, 0.001)
DISTANCE_TOL = 1e-6
#: Group-LASSO reference gap: ``||beta - beta*|| <= sqrt(2 gap / mu)`` must sit
#: well below DISTANCE_TOL for the ridge ~1e-2 problems checked here.
REFERENCE_TOL = 1e-13
SHAPE_TOL = 1e-12


def subadditivity_violation(penalty, grid=_GRID) -> float:
    """Largest relative excess ``(q(x+y) - q(x) - q(y)) / (q(x) + q(y))`` on a grid.

    A value ``<= 0`` (up to rounding) supports subadditivity; a positive value is a
    counterexample ``q(x + y) > q(x) + q(y)``.
    """
    x, y = np.meshgrid(grid, grid)
    both = penalty.value(x) + penalty.value(y)
    return float(np.max((penalty.value(x + y) - both) / both))


def check_lemma_2_4(penalty, *, n_groups=6, n_trials=200, seed=0) -> float:
    """Smallest relative slack of Lemma 2.4 over random group norms.

    Lemma 2.4: for q strictly increasing and subadditive,
    ``sum_g a_g <= q^{-1}(sum_g q(a_g))``. Returns
    ``min (q^{-1}(sum q(a)) - sum a) / sum a`` over ``n_trials`` draws of norms
    spanning six decades; ``>= -1e-12`` means the lemma held on every draw.
    """
    rng = np.random.default_rng(seed)
    norms = 10.0 ** rng.uniform(-3, 3, size=(n_trials, n_groups))
    norms *= rng.random((n_trials, n_groups)) < 0.7
    norms[:, 0] += 1e-3
    inverse = penalty.inverse(penalty.value(norms).sum(axis=1))
    total = norms.sum(axis=1)
    return float(np.min((inverse - total) / total))


def check_lemma_2_5(penalty, grid=_GRID) -> float:
    """Largest relative error of Lemma 2.5, ``q^{-1}(q(a)) = a`` (one-group vectors)."""
    return float(np.max(np.abs(penalty.inverse(penalty.value(grid)) - grid) / grid))


@dataclass(frozen=True)
class TheoremCheck:
    """Report of :func:`check_theorem_1_1` on one problem.

    Attributes
    ----------
    penalty, datafit : str
        Descriptions of the objects checked.
    lam, tau : float
        The regularization strength used and the threshold ``max_g ||grad_g L(0)||``.
    hypotheses : dict of str to bool
        Each hypothesis of Theorem 1.1 and whether it holds here.
    group_lasso_support : list of int
        Certified support of the group-LASSO minimizer.
    oracle_distance : float
        ``||beta_ours - beta_cvxpy|| / max(||beta_ours||, 1e-300)`` for group LASSO.
    global_support : list of int
        Support of the global minimizer of objective (1).
    global_unique : bool
        Whether the enumeration found no other minimizer (see ``runner_up_gap``).
    runner_up_gap : float
        Objective excess of the best candidate far from the minimizer.
    distance_to_group_lasso : float
        Relative distance between the two minimizers.
    distance_tol : float
        The distance accepted as equal: ``DISTANCE_TOL``, or the certified error
        of the two numerical minimizers when that is larger (see
        ``_certified_distance``).
    lower_bound_gap : float
        ``f_(1)(beta_hat) - min f_(2)``, Lemma 2.4's certificate (0 when the
        conclusion holds; may be negative only if q is not subadditive).
    conclusion_holds : bool
        Unique, group sparsity <= 1, equal to the group-LASSO minimizer within
        ``distance_tol``.
    verdict : str
        ``"confirmed"``, ``"violated"``, ``"outside theorem: conclusion fails"`` or
        ``"outside theorem: conclusion holds"``.
    """

    penalty: str
    datafit: str
    lam: float
    tau: float
    hypotheses: dict
    group_lasso_support: list
    oracle_distance: float
    global_support: list
    global_unique: bool
    runner_up_gap: float
    distance_to_group_lasso: float
    distance_tol: float
    lower_bound_gap: float
    conclusion_holds: bool
    verdict: str

    @property
    def hypotheses_hold(self) -> bool:
        """Whether every hypothesis of Theorem 1.1 holds."""
        return all(self.hypotheses.values())

    def to_dict(self) -> dict:
        """JSON-ready dict of every field."""
        return {**asdict(self), "hypotheses_hold": self.hypotheses_hold}

    def _repr_markdown_(self) -> str:
        rows = [f"| {k} | {v} |" for k, v in self.to_dict().items()]
        return "| field | value |\n|---|---|\n" + "\n".join(rows)


def _relative_distance(a, b) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def _certified_distance(datafit, groups, best, group_lasso) -> float:
    """Relative error the two numerical minimizers are certified to within.

    On a support of at most one group, objective (1) is group LASSO restricted to
    that support (Lemma 2.5), which is ``mu``-strongly convex, so a point with
    KKT residual ``r`` (per group; at most ``sqrt(n_groups) r`` in total) is within
    ``sqrt(n_groups) r / mu`` of the minimizer; the group-LASSO solution with
    duality gap ``g`` is within ``sqrt(2 g / mu)``. Near ``tau`` the minimizer is
    small, so these absolute bounds can exceed ``DISTANCE_TOL`` relative to it.
    """
    mu = datafit.strong_convexity()
    if mu <= 0 or best.group_sparsity > 1:
        return 0.0
    bound = np.sqrt(groups.n_groups) * best.kkt_residual / mu + np.sqrt(
        2.0 * max(group_lasso.duality_gap, 0.0) / mu
    )
    return float(bound / max(np.linalg.norm(group_lasso.beta), 1e-300))


def _group_lasso_near_tau(datafit, groups, threshold, lam, margins):
    """Group LASSO at ``lam``, or at the largest margin below tau giving 1 group."""
    if lam is not None:
        return lam, solve_group_lasso(datafit, groups, lam, tol=REFERENCE_TOL)
    for margin in margins:
        candidate = (1.0 - margin) * threshold
        result = solve_group_lasso(datafit, groups, candidate, tol=REFERENCE_TOL)
        if result.status == "converged" and result.group_sparsity == 1:
            break
    return candidate, result


def check_theorem_1_1(
    datafit, groups, penalty, lam=None, *, margins=DEFAULT_MARGINS
) -> TheoremCheck:
    """Check Theorem 1.1's hypotheses and conclusion on one problem.

    Parameters
    ----------
    datafit : Datafit
    groups : Groups
        At most 12 groups (the global minimum is found by enumeration).
    penalty : GroupPenalty
    lam : float, optional
        Regularization strength. By default the largest ``(1 - margin) * tau``,
        over ``margins``, at which group LASSO is certified 1-group-sparse.
    margins : tuple of float
        Candidate relative distances below ``tau``.

    Returns
    -------
    TheoremCheck

    Examples
    --------
    >>> from nonconvex_reg import LqPenalty, check_theorem_1_1, make_problem
    >>> problem = make_problem("least_squares", n_groups=4, seed=0)
    >>> report = check_theorem_1_1(problem.datafit, problem.groups, LqPenalty(0.5))
    >>> report.verdict
    'confirmed'
    """
    if lam is not None:
        lam = check_scalar(lam, "lam", low=0.0, low_inclusive=False)
    margins = tuple(margins)
    if not margins:
        raise ValueError("`margins` must hold at least one value in (0, 1); got ().")
    for margin in margins:
        check_scalar(
            margin,
            "margins",
            low=0.0,
            high=1.0,
            low_inclusive=False,
            high_inclusive=False,
        )
    threshold = tau(datafit, groups)
    lam, group_lasso = _group_lasso_near_tau(datafit, groups, threshold, lam, margins)
    oracle = cvxpy_group_lasso(datafit, groups, lam)
    grid_increasing = bool(np.all(np.diff(penalty.value(_GRID)) > 0))
    hypotheses = {
        "q strictly increasing": bool(penalty.is_increasing and grid_increasing),
        "q subadditive": bool(
            penalty.is_subadditive and subadditivity_violation(penalty) <= SHAPE_TOL
        ),
        "q(0) = 0": bool(penalty.value(np.zeros(1))[0] == 0.0),
        "group LASSO minimizer unique (L strongly convex)": datafit.strong_convexity()
        > 0,
        "group LASSO minimizer has group sparsity <= 1": bool(
            group_lasso.status == "converged" and group_lasso.group_sparsity <= 1
        ),
    }
    best = global_minimum(datafit, groups, penalty, lam, form="inverse")
    distance = _relative_distance(best.beta, group_lasso.beta)
    distance_tol = max(
        DISTANCE_TOL, _certified_distance(datafit, groups, best, group_lasso)
    )
    conclusion = bool(
        best.info["unique"] and best.group_sparsity <= 1 and distance <= distance_tol
    )
    inside = all(hypotheses.values())
    if inside:
        verdict = "confirmed" if conclusion else "violated"
    else:
        verdict = f"outside theorem: conclusion {'holds' if conclusion else 'fails'}"
    lower_gap = objective_value(datafit, groups, penalty, lam, best.beta, "inverse")
    return TheoremCheck(
        penalty=repr(penalty),
        datafit=repr(datafit),
        lam=float(lam),
        tau=float(threshold),
        hypotheses=hypotheses,
        group_lasso_support=group_lasso.support.tolist(),
        oracle_distance=_relative_distance(oracle.beta, group_lasso.beta),
        global_support=best.support.tolist(),
        global_unique=bool(best.info["unique"]),
        runner_up_gap=float(best.info["runner_up_gap"]),
        distance_to_group_lasso=distance,
        distance_tol=distance_tol,
        lower_bound_gap=float(lower_gap - group_lasso.objective),
        conclusion_holds=conclusion,
        verdict=verdict,
    )
