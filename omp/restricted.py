"""Restricted strong convexity and smoothness (Definition B.2) and Theorem B.3.

Definition B.2 (group version). ``L`` is ``mu_s``-restricted strongly convex and
``L_s``-restricted smooth at group sparsity ``s`` if, for all ``beta`` and all
``Delta`` with ``||Delta||_group <= s``,

    mu_s/2 ||Delta||^2 <= L(beta + Delta) - L(beta) - <grad L(beta), Delta>
                       <= L_s/2 ||Delta||^2.

Theorem B.3 (v1). For ``q`` strictly increasing, subadditive, ``q(0) = 0``: with
``k' >= k (kappa^2 + 1)``, ``kappa = L_2 / mu_{k+k'}``, and
``R >= k kappa log((L(beta^(0)) - L(beta*)) / eps)`` rounds, Algorithm 2 returns
``beta`` with ``||beta||_group <= k'`` and ``L(beta) <= L(beta*) + eps``.

:func:`restricted_constants` computes ``mu_s`` and ``L_s``:

* **exact** for squared losses when the supports can be enumerated: the Hessian
  is the constant ``H = (X^T X / n) (x) I_K + ridge I``, so the constants are the
  extreme eigenvalues of ``H_S`` over supports ``S`` of ``min(s, n_groups)``
  groups (by eigenvalue interlacing, smaller supports never do better);
* **bounds** otherwise: ``L_s <= min(Lip, ridge + sum of the s largest
  (Lip_g - ridge))`` (from ``||sum_g A_g x_g||^2 <= (sum_g ||A_g||^2) ||x||^2``
  for ``H = A^T W A``, derived here) and ``mu_s >= datafit.strong_convexity()``
  (the ridge for logistic and multinomial losses, whose curvature vanishes far
  from the origin, so Definition B.2's "for all beta" leaves nothing more).

:func:`check_theorem_b3` runs Algorithm 2 with the theorem's ``k'`` and ``R``
against the exhaustive optimum ``beta*`` of :func:`~omp.best_subset`.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from nonconvex_reg import ConvergenceWarning
from nonconvex_reg.design import gram as design_gram
from nonconvex_reg.threads import with_thread_limit
from nonconvex_reg.validation import check_int, check_scalar

from ._refit_base import coefficient_layout
from ._validation import check_k, check_problem, check_support
from .exhaustive import best_subset
from .nonconvex import _check_penalty, lipschitz, ompr_nonconvex
from .refit import make_refit
from .result import _field_table

__all__ = [
    "RestrictedConstants",
    "TheoremB3Check",
    "check_theorem_b3",
    "restricted_constants",
]

#: Relative slack on ``k' >= k (kappa^2 + 1)`` for the rounding of computed
#: eigenvalues (an orthogonal design gives ``kappa = 1 + 4e-15``, not 1).
_ROUNDING = 1e-9


@dataclass(frozen=True)
class RestrictedConstants:
    """``mu_s`` and ``L_s`` of Definition B.2 at one group sparsity ``s``.

    Attributes
    ----------
    s : int
        Group sparsity.
    mu : float
        ``mu_s`` (exact) or a lower bound.
    L : float
        ``L_s`` (exact) or an upper bound.
    exact : bool
        Whether both are exact (enumeration of a constant Hessian).
    n_supports : int
        Supports enumerated (0 for bounds).
    """

    s: int
    mu: float
    L: float
    exact: bool
    n_supports: int

    @property
    def kappa(self) -> float:
        """``L_s / mu_s`` (``inf`` when ``mu_s = 0``)."""
        return self.L / self.mu if self.mu > 0 else float("inf")

    def to_dict(self) -> dict:
        """JSON-ready dict of every field and ``kappa``."""
        return {**asdict(self), "kappa": self.kappa}

    def _repr_markdown_(self) -> str:
        """``to_dict()`` as a field | value table (Jupyter renders it)."""
        return _field_table(self.to_dict())


def _coordinate_hessian(datafit):
    """The constant Hessian ``(X^T X / n) (x) I_K + ridge I`` of a squared loss.

    Dense ``(n_features, n_features)`` whatever the storage of X: the exact
    constants enumerate supports, which only small problems allow.
    """
    columns, outputs, _ = coefficient_layout(datafit)
    gram = design_gram(datafit.X) / datafit.n_samples
    hessian = gram[np.ix_(columns, columns)] * (outputs[:, None] == outputs[None, :])
    return hessian + datafit.ridge * np.eye(datafit.n_features)


def _enumerate_extremes(hessian, groups, size, chunk=4096):
    """Smallest and largest eigenvalue of ``H_S`` over all supports of ``size``.

    Supports are taken in chunks; with groups of equal size each chunk's
    submatrices are gathered into one array and decomposed in one batch.
    """
    low, high = np.inf, -np.inf
    equal = np.unique(groups.sizes).size == 1
    offsets = np.arange(groups.sizes[0])
    supports = itertools.combinations(range(groups.n_groups), size)
    while chunk_list := list(itertools.islice(supports, chunk)):
        batch = np.array(chunk_list, dtype=np.intp).reshape(len(chunk_list), size)
        if equal:
            index = groups.indices[
                (groups.ptr[batch][:, :, None] + offsets).reshape(len(batch), -1)
            ]
            blocks = [hessian[index[:, :, None], index[:, None, :]]]
        else:  # Unequal group sizes: one matrix at a time.
            blocks = [hessian[np.ix_(c, c)][None] for c in map(groups.coords, batch)]
        for block in blocks:
            eigenvalues = np.linalg.eigvalsh(block)
            low = min(low, float(eigenvalues[:, 0].min()))
            high = max(high, float(eigenvalues[:, -1].max()))
    return low, high


@with_thread_limit
def restricted_constants(datafit, groups, s, *, max_supports=20_000):
    """``mu_s`` and ``L_s`` of Definition B.2 (exact or bounds; see the module).

    Parameters
    ----------
    datafit : Datafit
    groups : Groups
    s : int
        Group sparsity, ``>= 1``; values above ``n_groups`` mean all groups.
    max_supports : int, default=20000
        Enumerate (squared losses) only if ``C(n_groups, s) <= max_supports``.
    n_threads : int or None, default=None
        Most BLAS threads the call may use, ``>= 1``; None lets
        :func:`~nonconvex_reg.threads.default_n_threads` choose from the size of
        ``X``. A lower limit already in force (``threadpool_limits``) wins, and
        every library's limit is restored on return.

    Returns
    -------
    RestrictedConstants

    Raises
    ------
    ValueError
        If ``groups`` does not match the datafit or ``s < 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from nonconvex_reg import Groups, LeastSquares
    >>> from omp import restricted_constants
    >>> X = np.sqrt(8) * np.linalg.qr(np.random.default_rng(0).normal(size=(8, 4)))[0]
    >>> c = restricted_constants(LeastSquares(X, np.ones(8)), Groups.equal(4, 2), 2)
    >>> c.exact, round(c.mu, 12), round(c.L, 12), round(c.kappa, 12)
    (True, 1.0, 1.0, 1.0)
    """
    check_problem(datafit, groups)
    s = check_int(s, "s", low=1)
    max_supports = check_int(max_supports, "max_supports", low=1)
    size = min(s, groups.n_groups)
    n_supports = math.comb(groups.n_groups, size)
    quadratic = (
        datafit.is_quadratic and int(np.prod(datafit.coef_shape)) == datafit.n_features
    )
    if quadratic and n_supports <= max_supports:
        low, high = _enumerate_extremes(_coordinate_hessian(datafit), groups, size)
        return RestrictedConstants(size, max(low, 0.0), high, True, n_supports)
    ridge = datafit.ridge
    data_part = np.sort(datafit.lipschitz_group(groups) - ridge)[::-1][:size]
    upper = min(lipschitz(datafit), ridge + float(np.sum(data_part)))
    return RestrictedConstants(size, float(datafit.strong_convexity()), upper, False, 0)


@dataclass(frozen=True)
class TheoremB3Check:
    """Report of :func:`check_theorem_b3` on one problem.

    Attributes
    ----------
    k, k_prime : int
        Sparsity of the comparator and of Algorithm 2's support.
    L_2, mu : float
        ``L_2`` and ``mu_{k+k'}``; ``kappa = L_2 / mu``.
    kappa : float
    exact_constants : bool
        Whether both constants are exact.
    required_k_prime : float
        ``k (kappa^2 + 1)``.
    eps : float
    rounds : int or None
        ``R = ceil(k kappa log((L(beta^(0)) - L(beta*)) / eps))`` (0 if the start is
        already within ``eps``; None if ``kappa`` is infinite, and Algorithm 2
        then runs to a local optimum).
    rounds_used : int
        Rounds Algorithm 2 ran before a local optimum or ``R``.
    initial_loss, optimal_loss, final_loss : float
        ``L(beta^(0))``, ``L(beta*)`` and ``L(beta^inf)``.
    group_sparsity : int
        Nonzero groups of the output.
    hypotheses : dict of str to bool
    conclusion_holds : bool
        ``L(beta^inf) <= L(beta*) + eps`` and ``group_sparsity <= k'``.
    verdict : str
        ``"confirmed"``, ``"violated"``, ``"outside theorem: conclusion holds"``
        or ``"outside theorem: conclusion fails"``.
    """

    k: int
    k_prime: int
    L_2: float
    mu: float
    kappa: float
    exact_constants: bool
    required_k_prime: float
    eps: float
    rounds: int | None
    rounds_used: int
    initial_loss: float
    optimal_loss: float
    final_loss: float
    group_sparsity: int
    hypotheses: dict
    conclusion_holds: bool
    verdict: str

    @property
    def excess(self) -> float:
        """``L(beta^inf) - L(beta*)``; at most ``eps`` when the conclusion holds."""
        return self.final_loss - self.optimal_loss

    def to_dict(self) -> dict:
        """JSON-ready dict of every field and ``excess``."""
        return {**asdict(self), "excess": self.excess}

    def _repr_markdown_(self) -> str:
        """``to_dict()`` as a field | value table (Jupyter renders it)."""
        return _field_table(self.to_dict())


def _smallest_k_prime(datafit, groups, k, L_2, max_supports):
    """Smallest ``k'`` in ``[k, n_groups]`` with ``k' >= k (kappa(k')^2 + 1)``."""
    for k_prime in range(max(k, 1), groups.n_groups + 1):
        mu = restricted_constants(
            datafit, groups, k + k_prime, max_supports=max_supports
        ).mu
        if mu > 0 and k_prime >= k * ((L_2 / mu) ** 2 + 1) * (1 - _ROUNDING):
            return k_prime
    return groups.n_groups


@with_thread_limit
def check_theorem_b3(
    datafit,
    groups,
    k,
    *,
    k_prime=None,
    eps=None,
    penalty=None,
    init=None,
    seed=0,
    max_supports=20_000,
):
    """Run Algorithm 2 with Theorem B.3's ``k'`` and ``R``; check its conclusion.

    Parameters
    ----------
    datafit : Datafit
    groups : Groups
        Small enough for :func:`~omp.best_subset` at ``k`` (the comparator).
    k : int
        Sparsity of the comparator ``beta*``, in ``[1, n_groups]``.
    k_prime : int, optional
        Support size of Algorithm 2, in ``[k, n_groups]``; default the smallest
        ``k'`` meeting ``k' >= k (kappa^2 + 1)``, or ``n_groups`` if none does.
    eps : float, optional
        Accuracy, ``> 0``; default ``1e-6 * L(0)``.
    penalty : GroupPenalty, optional
        Subadditive penalty of the selection step (default as
        :func:`~omp.ompr_nonconvex`).
    init : array-like of int, optional
        Initial support ``S^(0)`` of ``k'`` groups; default ``k'`` groups drawn
        at random with ``seed`` ("initialize S arbitrarily").
    seed : int, default=0
    max_supports : int, default=20000
        Enumeration limit of :func:`restricted_constants`.
    n_threads : int or None, default=None
        Most BLAS threads the call may use, ``>= 1``; None lets
        :func:`~nonconvex_reg.threads.default_n_threads` choose from the size of
        ``X``. A lower limit already in force (``threadpool_limits``) wins, and
        every library's limit is restored on return.

    Returns
    -------
    TheoremB3Check

    Raises
    ------
    ValueError
        If ``k``, ``k_prime`` or ``eps`` is out of range.

    Examples
    --------
    >>> from nonconvex_reg import make_problem
    >>> from omp import check_theorem_b3
    >>> problem = make_problem(n_samples=4000, n_groups=6, group_size=2, ridge=0.0)
    >>> report = check_theorem_b3(problem.datafit, problem.groups, 1)
    >>> report.verdict, report.k_prime, round(report.kappa, 2)
    ('confirmed', 3, 1.17)
    """
    check_problem(datafit, groups)
    k = check_k(k, groups.n_groups, low=1)
    penalty = _check_penalty(penalty)
    max_supports = check_int(max_supports, "max_supports", low=1)
    smooth = restricted_constants(datafit, groups, 2, max_supports=max_supports)
    L_2 = smooth.L
    if k_prime is None:
        k_prime = _smallest_k_prime(datafit, groups, k, L_2, max_supports)
    k_prime = check_int(k_prime, "k_prime", low=k, high=groups.n_groups)
    strong = restricted_constants(
        datafit, groups, k + k_prime, max_supports=max_supports
    )
    exact = strong.exact and smooth.exact
    kappa = L_2 / strong.mu if strong.mu > 0 else float("inf")
    optimal = best_subset(datafit, groups, k).loss
    if init is None:
        rng = np.random.default_rng(check_int(seed, "seed", low=0))
        init = np.sort(rng.choice(groups.n_groups, size=k_prime, replace=False))
    zero_loss = datafit.value(np.zeros(datafit.n_features))
    if eps is None:
        eps = 1e-6 * max(abs(zero_loss), np.finfo(float).tiny)
    eps = check_scalar(eps, "eps", low=0.0, low_inclusive=False)
    init = check_support(init, groups.n_groups, k_prime, "init")
    initial = make_refit(datafit, groups).fit(init)
    gap = initial - optimal
    if not np.isfinite(kappa):
        rounds = None  # Outside the theorem: run to a local optimum instead.
    else:
        rounds = math.ceil(k * kappa * math.log(gap / eps)) if gap > eps else 0
    final, rounds_used, sparsity = initial, 0, k_prime
    if rounds != 0:
        with warnings.catch_warnings():
            # Spending the R rounds is the plan here, not a failure.
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = ompr_nonconvex(
                datafit,
                groups,
                k_prime,
                penalty=penalty,
                init=init,
                max_iter=rounds or 1000,
                tol=0.0,
            )
        final, rounds_used = result.loss, result.n_iter
        sparsity = groups.group_sparsity(result.coef)
    hypotheses = {
        "q strictly increasing and subadditive": True,
        "mu_{k+k'} > 0": strong.mu > 0,
        "k' >= k (kappa^2 + 1)": bool(k_prime >= k * (kappa**2 + 1) * (1 - _ROUNDING)),
    }
    conclusion = bool(final <= optimal + eps and sparsity <= k_prime)
    if all(hypotheses.values()):
        verdict = "confirmed" if conclusion else "violated"
    else:
        verdict = f"outside theorem: conclusion {'holds' if conclusion else 'fails'}"
    return TheoremB3Check(
        k=k,
        k_prime=k_prime,
        L_2=float(L_2),
        mu=float(strong.mu),
        kappa=float(kappa),
        exact_constants=bool(exact),
        required_k_prime=float(k * (kappa**2 + 1)),
        eps=float(eps),
        rounds=rounds,
        rounds_used=int(rounds_used),
        initial_loss=float(initial),
        optimal_loss=float(optimal),
        final_loss=float(final),
        group_sparsity=int(sparsity),
        hypotheses=hypotheses,
        conclusion_holds=conclusion,
        verdict=verdict,
    )
