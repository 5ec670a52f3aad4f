"""The solvers of ``sapp bench solvers``: ours and the peers, behind one signature.

Each adapter takes an instance (:mod:`benchmarks.solvers.runs`) and one value of
its ladder (a tolerance, or None for the solver's defaults) and returns the
coefficients plus extra row fields; the benchmark recomputes every objective
from those coefficients with our formula. :data:`SOLVERS` says which sections
and losses each solver runs on and which packages it needs (a peer whose package
is not installed is skipped and listed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nonconvex_reg import global_minimum, solve_group_lasso, solve_penalized
from omp import best_subset, group_omp, group_ompr

__all__ = ["ORACLE", "SOLVERS", "SOLVER_NAMES"]

LOSSES = ("least_squares", "logistic")
TOL_LADDER = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8, 1e-10, 1e-12)


def _sapp_group_lasso(inst, tol):
    result = solve_group_lasso(
        inst.datafit(), inst.groups, inst.lam, tol=tol, max_iter=500
    )
    return result.beta, {"max_iter": 500, "status": result.status}


def _skglm(solver_name, max_iter):
    def solve(inst, tol):
        from skglm import solvers
        from skglm.datafits import LogisticGroup, QuadraticGroup
        from skglm.penalties import WeightedGroupL2

        ptr = inst.groups.ptr.astype(np.int32)
        idx = inst.groups.indices.astype(np.int32)
        kind = QuadraticGroup if inst.loss == "least_squares" else LogisticGroup
        penalty = WeightedGroupL2(inst.lam, np.ones(inst.groups.n_groups), ptr, idx)
        solver = getattr(solvers, solver_name)
        solver = solver(tol=tol, max_iter=max_iter, fit_intercept=False)
        return solver.solve(inst.X, inst.y, kind(ptr, idx), penalty)[0], {
            "max_iter": max_iter
        }

    return solve


def _celer(inst, tol):
    from celer import GroupLasso

    model = GroupLasso(
        groups=int(inst.groups.sizes[0]),
        alpha=inst.lam,
        max_iter=1000,
        tol=tol,
        fit_intercept=False,
        weights=np.ones(inst.groups.n_groups),
    )
    return model.fit(inst.X, inst.y).coef_, {"max_iter": 1000}


def _cvxpy(solver_name):
    def solve(inst, eps):
        import cvxpy as cp

        n_samples, n_features = inst.X.shape
        b = cp.Variable(n_features)
        blocks = cp.reshape(b, (inst.groups.n_groups, -1), order="C")
        if inst.loss == "least_squares":
            loss = cp.sum_squares(inst.y - inst.X @ b) / (2 * n_samples)
        else:
            loss = cp.sum(cp.logistic(-cp.multiply(inst.y, inst.X @ b))) / n_samples
        penalty = inst.lam * cp.sum(cp.norm(blocks, 2, axis=1))
        problem = cp.Problem(cp.Minimize(loss + penalty))
        options = {} if eps is None else {"eps_abs": eps, "eps_rel": eps}
        problem.solve(solver=solver_name, **options)
        return np.asarray(b.value, dtype=float), {"status": problem.status}

    return solve


def _sapp_search(search):
    def solve(inst, _):
        result = search(inst.datafit(), inst.groups, inst.k)
        return result.coef, {"status": result.status}

    return solve


def _abess(inst, _):
    from abess.linear import LinearRegression, LogisticRegression

    options = {"support_size": inst.k, "group": inst.groups.group_of}
    if inst.loss == "least_squares":
        model = LinearRegression(fit_intercept=False, **options)
        model.fit(inst.X, inst.y)
    else:
        alpha = len(inst.y) * inst.ridge / 2
        model = LogisticRegression(fit_intercept=False, alpha=alpha, **options)
        model.fit(inst.X, (inst.y + 1) / 2)
    return np.asarray(model.coef_, dtype=float), {}


def _sklearn_omp(inst, _):
    from sklearn.linear_model import orthogonal_mp

    size = int(inst.groups.sizes[0])
    path = orthogonal_mp(
        inst.X, inst.y, n_nonzero_coefs=inst.k * size, return_path=True
    ).reshape(inst.X.shape[1], -1)
    touched = [np.count_nonzero(inst.groups.norms(coef)) for coef in path.T]
    feasible = [j for j, count in enumerate(touched) if count <= inst.k]
    coef = path[:, feasible[-1]] if feasible else np.zeros(inst.X.shape[1])
    return coef, {"path_steps": len(touched)}


def _penalized(inst, tol):
    result = solve_penalized(
        inst.datafit(), inst.groups, inst.penalty, inst.lam, form=inst.form, tol=tol
    )
    return result.beta, {"status": result.status}


def _global_minimum(inst, _):
    result = global_minimum(
        inst.datafit(), inst.groups, inst.penalty, inst.lam, form=inst.form
    )
    return result.beta, {"status": result.status}


@dataclass(frozen=True)
class _Solver:
    """How to run one solver: on which sections and losses, at which ladder."""

    run: Callable  # (instance, ladder value) -> (coefficients, extra row fields)
    sections: tuple
    losses: tuple = LOSSES
    ladder: tuple = (None,)  # tolerances; None: the solver's defaults
    modules: tuple = ()  # import names of the peer's packages
    once: bool = False  # timed once (slow solvers, oracles)
    warm: bool = True  # warmed up untimed on a tiny instance first


GL, OMP = ("group_lasso",), ("ompr", "ompr_exact")
SOLVERS = {
    "sapp solve_group_lasso": _Solver(_sapp_group_lasso, GL, ladder=TOL_LADDER),
    "skglm GroupBCD": _Solver(
        _skglm("GroupBCD", 10_000), GL, ladder=TOL_LADDER, modules=("skglm",)
    ),
    "skglm GroupProxNewton": _Solver(
        _skglm("GroupProxNewton", 500), GL, ("logistic",), TOL_LADDER, ("skglm",)
    ),
    "celer GroupLasso": _Solver(_celer, GL, ("least_squares",), TOL_LADDER, ("celer",)),
    "cvxpy Clarabel": _Solver(
        _cvxpy("CLARABEL"), GL, modules=("cvxpy", "clarabel"), once=True
    ),
    "cvxpy SCS": _Solver(
        _cvxpy("SCS"), GL, ladder=(None, 1e-6), modules=("cvxpy", "scs"), once=True
    ),
    "sapp group_ompr": _Solver(_sapp_search(group_ompr), OMP),
    "sapp group_omp": _Solver(_sapp_search(group_omp), OMP),
    "abess": _Solver(_abess, OMP, modules=("abess",)),
    "sklearn orthogonal_mp": _Solver(
        _sklearn_omp, OMP, ("least_squares",), modules=("sklearn",)
    ),
    "best_subset (oracle)": _Solver(
        _sapp_search(best_subset), ("ompr_exact",), once=True
    ),
    "sapp solve_penalized": _Solver(
        _penalized, ("nonconvex",), ladder=(1e-2, 1e-4, 1e-6, 1e-8)
    ),
    "global_minimum (oracle)": _Solver(
        _global_minimum, ("nonconvex",), once=True, warm=False
    ),
}
#: Every solver name, for ``solvers=``.
SOLVER_NAMES = tuple(SOLVERS)
ORACLE = "global_minimum (oracle)"
