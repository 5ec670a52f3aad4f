"""``sapp verify``, OMP part: group OMP, OMPR, Algorithm 2 and Theorem B.3.

Each check compares an observed outcome with the one the theory (or a reference
implementation) expects, as the checks of :mod:`nonconvex_reg.verify` do, on
seeded instances of every datafit (our numerical tests of Appendix B of
arXiv:2402.17902):

* group OMP with singleton groups selects the same support as scikit-learn's
  ``orthogonal_mp``, and with ``k = n_groups`` returns the least-squares fit;
* group OMPR is never worse than group OMP and reaches the exhaustive optimum
  of :func:`~omp.best_subset` on small instances;
* the selection step of Algorithm 2, solved as a nonconvex subproblem with each
  registered example penalty that is subadditive and not convex, picks the
  group of the gradient-norm rule (the link between differentiable pruning and
  OMP in the paper's discussion of Theorem 1.1), every selection certified;
* Theorem B.3 on a block-orthogonal design (``kappa = 1``, exact constants) and
  on a Gaussian design with ``kappa`` near 1: "confirmed".

The whole section runs in a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from sklearn.linear_model import orthogonal_mp

from nonconvex_reg import Groups, LeastSquares, make_problem
from nonconvex_reg.datasets import DATAFIT_KINDS
from nonconvex_reg.penalties import penalty_examples
from nonconvex_reg.verify import Check

from .exhaustive import best_subset
from .greedy import group_omp, group_ompr
from .nonconvex import ompr_nonconvex
from .restricted import check_theorem_b3

__all__ = ["run_omp_checks"]

LSTSQ_TOL = 1e-10
LOSS_TOL = 1e-10


def _sklearn_checks(seed) -> Iterator[Check]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((60, 30))
    y = X[:, :5] @ rng.standard_normal(5) + 0.5 * rng.standard_normal(60)
    ours = group_omp(LeastSquares(X, y), Groups.equal(30, 1), 5).support
    theirs = np.flatnonzero(orthogonal_mp(X, y, n_nonzero_coefs=5))
    yield Check(
        "group OMP = sklearn orthogonal_mp",
        "singleton groups, n=60, p=30, k=5",
        f"support {theirs.tolist()}",
        f"support {ours.tolist()}",
        "-",
        ours.tolist() == theirs.tolist(),
    )
    datafit = LeastSquares(X, y)
    full = group_omp(datafit, Groups.equal(30, 3), 10).coef
    reference = np.linalg.lstsq(X, y, rcond=None)[0]
    error = np.linalg.norm(full - reference) / np.linalg.norm(reference)
    yield Check(
        "group OMP, k = n_groups = least squares",
        "groups of 3, n=60, p=30",
        f"rel err <= {LSTSQ_TOL:g}",
        f"rel err {error:.1e}",
        f"{error:.1e}",
        bool(error <= LSTSQ_TOL),
    )


def _search_checks(seed) -> Iterator[Check]:
    for kind in DATAFIT_KINDS:
        problem = make_problem(
            kind,
            n_samples=80,
            n_groups=10,
            group_size=2,
            n_active=3,
            correlation=0.5,
            seed=seed,
        )
        datafit, groups = problem.datafit, problem.groups
        omp = group_omp(datafit, groups, 3)
        ompr = group_ompr(datafit, groups, 3)
        best = best_subset(datafit, groups, 3)
        yield Check(
            "group OMPR <= group OMP",
            kind,
            f"OMPR loss <= OMP loss (1 + {LOSS_TOL:g})",
            f"OMPR {ompr.loss:.6g}, OMP {omp.loss:.6g}",
            f"diff {ompr.loss - omp.loss:.1e}",
            ompr.loss <= omp.loss * (1 + LOSS_TOL),
        )
        excess = (ompr.loss - best.loss) / max(abs(best.loss), 1e-300)
        yield Check(
            "group OMPR = exhaustive optimum",
            f"{kind}, C(10, 3) supports",
            f"rel excess <= {LOSS_TOL:g}",
            f"support {ompr.support.tolist()} vs {best.support.tolist()}",
            f"rel excess {excess:.1e}",
            excess <= LOSS_TOL,
        )


def _nonconvex_penalties() -> dict:
    """The registered examples inside Theorem 1.1 that are not convex, by label."""
    return {
        label: penalty
        for label, penalty in penalty_examples(subadditive=True).items()
        if not penalty.is_convex
    }


def _selection_checks(seed) -> Iterator[Check]:
    labelled = _nonconvex_penalties()
    penalties = tuple(labelled.values())
    for kind in DATAFIT_KINDS:
        selections = disagreements = uncertified = 0
        for offset in range(2 * len(penalties)):
            problem = make_problem(
                kind,
                n_samples=60,
                n_groups=8,
                group_size=2,
                n_active=3,
                correlation=0.3,
                seed=seed + offset,
            )
            result = ompr_nonconvex(
                problem.datafit,
                problem.groups,
                3,
                penalty=penalties[offset % len(penalties)],
            )
            selections += result.info["n_selections"]
            disagreements += len(result.info["disagreements"])
            uncertified += result.info["n_uncertified"]
        yield Check(
            "Algorithm 2 selection = gradient-norm rule",
            f"{kind}, {' / '.join(labelled)}",
            "0 disagreements, all certified",
            f"{disagreements} disagreements in {selections}",
            f"{uncertified} uncertified",
            disagreements == 0 and uncertified == 0,
        )


def _theorem_checks(seed) -> Iterator[Check]:
    rng = np.random.default_rng(seed)
    n_samples, n_groups, size = 60, 12, 2
    Q = np.linalg.qr(rng.standard_normal((n_samples, n_groups * size)))[0]
    X = np.sqrt(n_samples) * Q
    beta = np.zeros(n_groups * size)
    beta[: 2 * size] = rng.standard_normal(2 * size)
    y = X @ beta + 0.5 * rng.standard_normal(n_samples)
    near = make_problem(
        "least_squares",
        n_samples=4000,
        n_groups=10,
        group_size=2,
        n_active=2,
        seed=seed,
        ridge=0.0,
    )
    for subject, datafit, groups in (
        (
            "orthogonal design (kappa = 1)",
            LeastSquares(X, y),
            Groups.equal(n_groups * size, size),
        ),
        ("Gaussian design, n=4000, p=20", near.datafit, near.groups),
    ):
        report = check_theorem_b3(datafit, groups, 2, seed=seed)
        yield Check(
            "Theorem B.3",
            subject,
            "confirmed",
            report.verdict,
            f"kappa {report.kappa:.3g}, k'={report.k_prime}, R={report.rounds}, "
            f"excess {report.excess:.1e} <= eps {report.eps:.1e}",
            report.verdict == "confirmed",
        )


def run_omp_checks(seed=0, progress: Callable | None = None) -> list[Check]:
    """Run every OMP check on instances drawn with ``seed``.

    Parameters
    ----------
    seed : int, default=0
    progress : callable, optional
        Called with each :class:`~nonconvex_reg.verify.Check` as it completes.

    Returns
    -------
    list of Check
    """
    checks = []
    for section in (
        _sklearn_checks(seed),
        _search_checks(seed),
        _selection_checks(seed),
        _theorem_checks(seed),
    ):
        for check in section:
            checks.append(check)
            if progress is not None:
                progress(check)
    return checks
