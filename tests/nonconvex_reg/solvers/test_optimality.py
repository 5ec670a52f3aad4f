import numpy as np
from hypothesis import given, settings

from nonconvex_reg import make_problem, solve_group_lasso, tau
from nonconvex_reg.solvers.optimality import (
    _gap_upper_bound,
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


def test_certificate_radius_covers_rounding_when_the_gap_rounds_to_zero():
    # Issue 2: a computed gap of 0 used to give a radius of 0, certifying groups
    # whose dual norm is within rounding of lam. At the optimum the gap is at the
    # level of rounding; the bound used must exceed the floating-point error of
    # P - D, which is of order eps (|P| + |D|).
    problem = make_problem("logistic", n_groups=6, n_active=2, seed=3)
    datafit, groups = problem.datafit, problem.groups
    lam = 0.3 * tau(datafit, groups)
    res = solve_group_lasso(datafit, groups, lam, tol=1e-14)
    pd = group_lasso_primal_dual(datafit, groups, res.beta, lam)
    zero_gap = type(pd)(pd.primal, pd.dual, 0.0, pd.gradient, pd.norms, pd.dual_norms)
    bound = _gap_upper_bound(zero_gap, datafit, groups)
    eps = np.finfo(float).eps
    assert bound >= 8 * eps * (abs(pd.primal) + abs(pd.dual))
    assert _gap_upper_bound(pd, datafit, groups) >= pd.gap + bound


def test_cheap_norm_bounds_certify_exactly_what_the_exact_norms_certify():
    # The certificate screens with the datafit's cheap norm bounds and computes
    # exact norms only where those cannot decide: the zero groups it proves must
    # be exactly those of the gap-safe test with every exact norm.
    problem = make_problem("least_squares", n_groups=40, n_active=4, seed=2)
    datafit, groups = problem.datafit, problem.groups
    lam = 0.2 * tau(datafit, groups)
    res = solve_group_lasso(datafit, groups, lam)
    rng = np.random.default_rng(3)
    for noise in (1e-1, 1e-3, 1e-6):
        noisy = res.beta + noise * rng.standard_normal(res.beta.size)
        pd = group_lasso_primal_dual(datafit, groups, noisy, lam)
        cert = certify_group_lasso_support(datafit, groups, noisy, lam, pd=pd)
        radius = np.sqrt(
            2 * _gap_upper_bound(pd, datafit, groups) / datafit.dual_strong_concavity()
        )
        exact = pd.dual_norms + datafit.group_operator_norms(groups) * radius < lam
        np.testing.assert_array_equal(cert.inactive, exact)
        again = certify_group_lasso_support(datafit, groups, noisy, lam)
        np.testing.assert_array_equal(again.inactive, cert.inactive)
        assert again.pd.gap == cert.pd.gap


def test_sufficient_gap_certifies_every_uncertain_group_at_that_dual_point():
    # The solver tightens straight to Certificate.sufficient_gap: at half that
    # gap (the same dual norms) each uncertain group must pass one of the tests.
    problem = make_problem("least_squares", n_groups=12, n_active=3, seed=4)
    datafit, groups = problem.datafit, problem.groups
    lam = 0.3 * tau(datafit, groups)
    res = solve_group_lasso(datafit, groups, lam)
    noisy = res.beta + 1e-2 * np.random.default_rng(5).standard_normal(res.beta.size)
    cert = certify_group_lasso_support(datafit, groups, noisy, lam)
    assert cert.uncertain.any() and 0 < cert.sufficient_gap < cert.pd.gap
    pd = cert.pd
    smaller = type(pd)(
        pd.primal,
        pd.primal - 0.5 * cert.sufficient_gap,
        0.5 * cert.sufficient_gap,
        pd.gradient,
        pd.norms,
        pd.dual_norms,
    )
    again = certify_group_lasso_support(datafit, groups, cert.beta, lam, pd=smaller)
    assert not again.uncertain.any()
    assert again.sufficient_gap == np.inf
