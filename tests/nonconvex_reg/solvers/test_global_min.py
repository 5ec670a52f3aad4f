import numpy as np
import pytest

from nonconvex_reg import (
    GroupLassoPenalty,
    LqPenalty,
    PowerPropPenalty,
    global_minimum,
    make_problem,
    solve_group_lasso,
    solve_penalized,
    tau,
)
from nonconvex_reg.solvers import global_min


@pytest.mark.parametrize("kind", ["least_squares", "logistic"])
def test_convex_case_matches_group_lasso(kind):
    problem = make_problem(kind, n_groups=4, n_active=2, seed=6)
    datafit, groups = problem.datafit, problem.groups
    lam = 0.3 * tau(datafit, groups)
    best = global_minimum(datafit, groups, GroupLassoPenalty(), lam)
    # tol=1e-13: a 1e-10 relative gap only pins beta to ~1e-5 at ridge 1e-2
    reference = solve_group_lasso(datafit, groups, lam, tol=1e-13)
    assert best.support.tolist() == reference.support.tolist()
    np.testing.assert_allclose(best.beta, reference.beta, atol=1e-6)
    assert best.info["unique"]


def test_global_minimum_beats_or_ties_every_local_solution():
    problem = make_problem("least_squares", n_groups=5, n_active=2, seed=7)
    datafit, groups = problem.datafit, problem.groups
    lam = 0.4 * tau(datafit, groups)
    penalty = LqPenalty(0.5)
    best = global_minimum(datafit, groups, penalty, lam, form="sum")
    rng = np.random.default_rng(0)
    for _ in range(5):
        start = rng.standard_normal(groups.n_features)
        local = solve_penalized(datafit, groups, penalty, lam, beta0=start)
        assert best.objective <= local.objective + 1e-10


def test_convex_squared_penalty_has_dense_unique_minimum():
    problem = make_problem("least_squares", n_groups=4, seed=8)
    best = global_minimum(
        problem.datafit, problem.groups, PowerPropPenalty(1.0), 0.1, form="sum"
    )
    assert best.group_sparsity == 4 and best.info["unique"]


def test_too_many_groups_rejected():
    problem = make_problem("least_squares", n_groups=13, group_size=1, n_samples=40)
    with pytest.raises(ValueError, match="`groups` must have at most"):
        global_minimum(problem.datafit, problem.groups, LqPenalty(0.5), 0.1)


def test_runs_sliding_to_a_smaller_support_stop_early_and_change_nothing(
    monkeypatch,
):
    # Near tau with q'(0+) = inf most local runs slide toward a smaller support;
    # stopping them where a group norm is 1e-8 of the largest must leave the
    # minimizer and the uniqueness evidence exactly as the runs to the end do.
    problem = make_problem("least_squares", n_groups=4, seed=0)
    datafit, groups = problem.datafit, problem.groups
    lam = (1 - 1e-3) * tau(datafit, groups)
    evaluations = []
    build = global_min._restricted_objective

    def counted(*args):
        fun = build(*args)

        def wrapper(x):
            evaluations[-1] += 1
            return fun(x)

        return wrapper

    monkeypatch.setattr(global_min, "_restricted_objective", counted)
    results = []
    for ratio in (global_min._SLIDE_RATIO, 0.0):  # 0: a norm must reach 0 exactly
        monkeypatch.setattr(global_min, "_SLIDE_RATIO", ratio)
        evaluations.append(0)
        results.append(global_minimum(datafit, groups, LqPenalty(0.5), lam))
    stopped, full = results
    assert stopped.objective == full.objective
    np.testing.assert_array_equal(stopped.beta, full.beta)
    for key in ("unique", "runner_up_gap", "n_local_solves"):
        assert stopped.info[key] == full.info[key]
    assert evaluations[0] < 0.8 * evaluations[1]
