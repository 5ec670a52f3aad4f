import numpy as np
from hypothesis import given, settings

from nonconvex_reg import make_problem, solve_group_lasso, tau
from nonconvex_reg.solvers.optimality import (
    certify_group_lasso_support,
    group_lasso_primal_dual,
)
from nonconvex_reg.testing import problems


@settings(max_examples=25, deadline=None)
@given(problems())
def test_gap_bounds_true_suboptimality(problem):
    datafit, groups = problem.datafit, problem.groups
    lam = 0.3 * tau(datafit, groups)
    optimum = solve_group_lasso(datafit, groups, lam, tol=1e-12).objective
    beta = np.random.default_rng(0).standard_normal(groups.n_features) * 0.1
    pd = group_lasso_primal_dual(datafit, groups, beta, lam)
    assert pd.gap >= pd.primal - optimum - 1e-12


def test_certificate_zeroes_only_proven_inactive_groups():
    problem = make_problem("least_squares", n_groups=6, n_active=2, seed=9)
    datafit, groups = problem.datafit, problem.groups
    lam = 0.3 * tau(datafit, groups)
    res = solve_group_lasso(datafit, groups, lam)
    noisy = res.beta + 1e-9 * np.random.default_rng(1).standard_normal(res.beta.size)
    cert = certify_group_lasso_support(datafit, groups, noisy, lam)
    assert np.flatnonzero(cert.active).tolist() == res.support.tolist()
    assert np.all(groups.norms(cert.beta)[cert.inactive] == 0)
    assert not cert.uncertain.any()
