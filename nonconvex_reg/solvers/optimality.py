"""Optimality conditions: duality gaps, KKT residuals and certified supports.

Group LASSO, objective (2) of Theorem 1.1 (arXiv:2402.17902), ``P(beta) = L(beta) +
lam * sum_g ||beta_g||``. With ``theta = -grad F(X B)`` the Fenchel dual value is
``D(theta) = -F^*(-theta) - h^*(X^T theta)`` (see :mod:`nonconvex_reg.datafits.base`)
and ``gap = P(beta) - D(theta) >= P(beta) - P(beta*) >= 0``.

Certified supports (our reading of gap-safe screening, Fercoq et al. 2015, plus a
restricted strong convexity argument). At the optimum, group g is zero iff
``||(X^T theta*)_g|| <= lam`` (the ridge term does not change this test).
``-F^*`` is ``gamma``-strongly concave, so ``||theta - theta*|| <= r =
sqrt(2 gap / gamma)``, and ``||(X^T theta)_g|| + ||X_g|| r < lam`` certifies
``beta*_g = 0``, with ``||X_g||`` the norm of ``theta -> (X^T theta)_g``.

The dual test cannot certify a group *nonzero* (active groups sit exactly at
``||(X^T theta*)_g|| = lam``). For that, the groups proven zero are removed: every
minimizer lives on the remaining groups S, and if L restricted to S is
``mu_S``-strongly convex, ``||beta - beta*|| <= sqrt(2 gap_S / mu_S)`` for any
``beta`` supported on S, so a group whose norm exceeds that radius is certified
nonzero. A group certified by neither test is *uncertain*.

Sum-form penalties ``lam * sum_g q(||beta_g||)`` (Section 2) are nonconvex in
general; their first-order conditions are ``grad_g L + lam q'(a_g) beta_g / a_g = 0``
on nonzero groups and ``||grad_g L|| <= lam q'(0+)`` on zero groups, which
:func:`kkt_residual` measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Certificate",
    "PrimalDual",
    "certify_group_lasso_support",
    "group_lasso_primal_dual",
    "kkt_residual",
]


@dataclass(frozen=True)
class PrimalDual:
    """Primal-dual quantities of group LASSO at one point.

    Attributes
    ----------
    primal, dual, gap : float
        ``P(beta)``, ``D(theta)`` and their difference.
    gradient : ndarray of shape (n_features,)
        ``grad L(beta)``.
    norms : ndarray of shape (n_groups,)
        Group norms of ``beta``.
    dual_norms : ndarray of shape (n_groups,)
        ``||(X^T theta)_g||`` for the (rescaled) dual point used in ``dual``.
    """

    primal: float
    dual: float
    gap: float
    gradient: np.ndarray
    norms: np.ndarray
    dual_norms: np.ndarray


def group_lasso_primal_dual(datafit, groups, beta, lam, predictor=None) -> PrimalDual:
    """Evaluate primal, dual and gap of group LASSO at ``beta``.

    One product ``X B`` (unless ``predictor`` gives it) and one ``X^T theta``.
    With ``ridge = 0`` the dual point is rescaled by ``min(1, lam / max_g
    ||(X^T theta)_g||)`` to make it feasible.
    """
    z = datafit.linear_predictor(beta) if predictor is None else predictor
    theta = datafit.dual_point_from_predictor(z)
    xt_theta = datafit.transpose_product(theta)
    ridge = datafit.ridge
    gradient = ridge * beta - xt_theta
    norms = groups.norms(beta)
    primal = datafit.loss_from_predictor(z) + 0.5 * ridge * beta @ beta
    primal += lam * norms.sum()
    dual_norms = groups.norms(xt_theta)
    if ridge > 0:
        excess = np.maximum(dual_norms - lam, 0.0)
        dual = datafit.dual_value(theta) - (excess @ excess) / (2 * ridge)
    else:
        largest = dual_norms.max()
        scale = 1.0 if largest <= lam else lam / largest
        dual = datafit.dual_value(scale * theta)
        dual_norms = scale * dual_norms
    return PrimalDual(
        primal=float(primal),
        dual=float(dual),
        gap=float(max(primal - dual, 0.0)),
        gradient=gradient,
        norms=norms,
        dual_norms=dual_norms,
    )


@dataclass(frozen=True)
class Certificate:
    """Outcome of :func:`certify_group_lasso_support`.

    Attributes
    ----------
    beta : ndarray of shape (n_features,)
        The candidate with the groups proven zero set to exactly zero.
    pd : PrimalDual
        Primal-dual quantities at ``beta``.
    active, inactive : ndarray of bool, shape (n_groups,)
        Groups proven nonzero / zero at the optimum; the rest are uncertain.
    mu : float
        Strong convexity of L restricted to the groups not proven zero; 0 means
        no group can be proven nonzero, whatever the gap.
    sufficient_gap : float
        The largest gap at which, were the dual norms where they are now, every
        uncertain group would be certified (``inf`` when none is uncertain, 0
        when one could not be at any gap). A target for tightening, not a proof.
    """

    beta: np.ndarray
    pd: PrimalDual
    active: np.ndarray
    inactive: np.ndarray
    mu: float
    sufficient_gap: float = np.inf

    @property
    def uncertain(self) -> np.ndarray:
        """Groups proven neither zero nor nonzero."""
        return ~(self.active | self.inactive)

    @property
    def tightening_helps(self) -> bool:
        """Whether a smaller gap could certify an uncertain group.

        A zero group near its threshold, or any group when ``mu > 0``.
        """
        uncertain = self.uncertain
        return bool(
            (uncertain & (self.pd.norms == 0)).any()
            or (uncertain.any() and self.mu > 0)
        )


def _gap_upper_bound(pd, datafit, groups) -> float:
    """An upper bound on the exact duality gap from its floating-point value.

    ``P`` and ``D`` are sums of ``n = max(n_samples, n_groups)`` terms, each
    evaluated to a few ulps; pairwise summation keeps the rounding error of each
    sum below ``log2(n) eps`` times the sum of the magnitudes, which is at most
    ``|P|`` for the primal (nonnegative terms) and is bounded by ``|D|`` plus the
    same margin for the dual. So ``|gap_computed - gap| <= (log2(n) + 8) eps (|P| +
    |D|)``, with 8 ulps for the terms' own evaluation and the final subtraction.
    Without it a gap that rounds to 0 would certify groups on a radius of 0.
    """
    n_terms = max(datafit.n_samples, groups.n_groups, 2)
    rounding = (np.log2(n_terms) + 8.0) * np.finfo(float).eps
    return pd.gap + rounding * (abs(pd.primal) + abs(pd.dual))


def certify_group_lasso_support(datafit, groups, beta, lam, pd=None) -> Certificate:
    """Certify which groups are zero and nonzero at the group-LASSO optimum.

    Groups proven zero are set to exactly zero in the returned point, and the
    primal-dual quantities are recomputed there when that changed ``beta``.

    The zero test needs an upper bound on each ``||X_g||``: the cheap bounds of
    :meth:`~nonconvex_reg.datafits.base.Datafit.group_operator_norm_bounds` first;
    the exact norms only for the groups that fail with the upper bound but would
    pass with the lower one (the only ones an exact norm can change).

    Parameters
    ----------
    datafit : Datafit
    groups : Groups
    beta : ndarray of shape (n_features,)
        Candidate solution (e.g. a solver's output).
    lam : float
    pd : PrimalDual, optional
        :func:`group_lasso_primal_dual` at ``beta``, if the caller has it.

    Returns
    -------
    Certificate
    """
    if pd is None:
        pd = group_lasso_primal_dual(datafit, groups, beta, lam)
    radius = np.sqrt(
        2.0 * _gap_upper_bound(pd, datafit, groups) / datafit.dual_strong_concavity()
    )
    lower, upper = datafit.group_operator_norm_bounds(groups)
    operator_norms = np.array(upper, dtype=np.float64)  # exact where computed
    inactive = pd.dual_norms + operator_norms * radius < lam
    undecided = np.flatnonzero(~inactive & (pd.dual_norms + lower * radius < lam))
    if undecided.size:
        operator_norms[undecided] = datafit.group_operator_norms(groups, undecided)
        inactive[undecided] = (
            pd.dual_norms[undecided] + operator_norms[undecided] * radius < lam
        )
    if (inactive & (pd.norms > 0)).any():
        beta = beta * groups.expand(~inactive)
        pd = group_lasso_primal_dual(datafit, groups, beta, lam)
    remaining = np.flatnonzero(~inactive)
    active = np.zeros(groups.n_groups, dtype=bool)
    mu = 0.0
    if remaining.size:
        mu = datafit.restricted_strong_convexity(groups.coords(remaining))
        if mu > 0:
            gap = _gap_upper_bound(pd, datafit, groups)
            active = pd.norms > np.sqrt(2.0 * gap / mu)
    uncertain = ~(active | inactive)
    sufficient = np.inf
    if uncertain.any():
        # Each test solved for the gap: the zero test passes once
        # gap < gamma/2 ((lam - ||(X^T theta)_g||) / ||X_g||)^2, the nonzero test
        # once gap < mu/2 ||beta_g||^2; a group needs either.
        margin = np.maximum(lam - pd.dual_norms[uncertain], 0.0)
        zero_test = 0.5 * datafit.dual_strong_concavity()
        zero_test *= (margin / operator_norms[uncertain]) ** 2
        nonzero_test = 0.5 * mu * pd.norms[uncertain] ** 2
        sufficient = float(np.maximum(zero_test, nonzero_test).min())
    return Certificate(
        beta=beta,
        pd=pd,
        active=active,
        inactive=inactive,
        mu=mu,
        sufficient_gap=sufficient,
    )


def kkt_residual(gradient, beta, norms, groups, penalty, lam) -> np.ndarray:
    """Per-group violation of the first-order conditions of ``L + lam sum q``.

    Nonzero group: ``||grad_g L + lam q'(a_g) beta_g / a_g||``.
    Zero group: ``max(0, ||grad_g L|| - lam q'(0+))`` (zero when ``q'(0+) = inf``).

    Returns
    -------
    ndarray of shape (n_groups,)
    """
    nonzero = norms > 0
    weights = np.zeros_like(norms)
    weights[nonzero] = lam * penalty.derivative(norms[nonzero]) / norms[nonzero]
    residual = groups.norms(gradient + groups.expand(weights) * beta)
    zero_slack = lam * penalty.derivative_at_zero
    zero_groups = ~nonzero
    if np.isinf(zero_slack):
        residual[zero_groups] = 0.0
    else:
        residual[zero_groups] = np.maximum(residual[zero_groups] - zero_slack, 0.0)
    return residual
