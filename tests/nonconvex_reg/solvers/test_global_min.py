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
