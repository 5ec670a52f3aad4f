"""Group OMP, OMPR and Algorithm 2 on scipy.sparse designs (issue 18)."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings

from nonconvex_reg import Groups, LeastSquares, solve_group_lasso, tau
from nonconvex_reg.datasets import make_sparse_design
from nonconvex_reg.design import nbytes
from nonconvex_reg.testing import twin_problems
from omp import (
    GroupOMPRClassifier,
    GroupOMPRegressor,
    GroupOMPRRegressor,
    group_omp,
    group_ompr,
    ompr_nonconvex,
)
from omp.refit import make_refit


@settings(max_examples=15, deadline=None)
@given(twin_problems(max_groups=6))
def test_searches_agree_on_sparse_designs(twins):
    dense, sparse = twins
    k = max(1, dense.groups.n_groups // 2)
    for search in (group_omp, group_ompr, ompr_nonconvex):
        ours = search(sparse.datafit, sparse.groups, k)
        theirs = search(dense.datafit, dense.groups, k)
        assert ours.status == theirs.status
        np.testing.assert_array_equal(ours.support, theirs.support)
        assert ours.loss == pytest.approx(theirs.loss, rel=1e-10)


@settings(max_examples=15, deadline=None)
@given(twin_problems(max_groups=6))
def test_swap_prices_agree_on_sparse_designs(twins):
    # The second-order prices read the support's columns (sparse Gram blocks).
    dense, sparse = twins
    n_groups = dense.groups.n_groups
    support = list(range(n_groups // 2))
    others = list(range(n_groups // 2, n_groups))
    prices = []
    for problem in (dense, sparse):
        refit = make_refit(problem.datafit, problem.groups, tol=1e-12)
        refit.fit(support)
        prices.append(refit.swap_prices(others, support))
    np.testing.assert_allclose(prices[1], prices[0], rtol=1e-8, atol=1e-12)


def test_estimators_take_sparse_X():
    X = make_sparse_design(120, 30, 0.3, seed=0)
    rng = np.random.default_rng(0)
    y = X[:, 6:9] @ np.array([2.0, -1.0, 1.5]) + 0.01 * rng.standard_normal(120)
    dense = X.toarray()
    for Estimator in (GroupOMPRegressor, GroupOMPRRegressor):
        ours = Estimator(groups=3, n_groups=2, fit_intercept=False).fit(X, y)
        theirs = Estimator(groups=3, n_groups=2, fit_intercept=False).fit(dense, y)
        np.testing.assert_array_equal(ours.support_, theirs.support_)
        np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-10)
        np.testing.assert_allclose(
            ours.predict(X.tocsr()), theirs.predict(dense), atol=1e-10
        )
        with pytest.raises(ValueError, match="`X` is sparse and `fit_intercept"):
            Estimator(groups=3, n_groups=2).fit(X, y)
    labels = (y > np.median(y)).astype(int) + (y > np.quantile(y, 0.8))
    for target in (labels > 0, labels):
        ours = GroupOMPRClassifier(groups=3, n_groups=2).fit(X.tocsr(), target)
        theirs = GroupOMPRClassifier(groups=3, n_groups=2).fit(dense, target)
        np.testing.assert_array_equal(ours.support_, theirs.support_)
        np.testing.assert_allclose(
            ours.predict_proba(X), theirs.predict_proba(dense), atol=1e-8
        )


def test_large_sparse_calls_never_densify():
    # A dense copy of this design would take 32 GB; the matrix takes 12.8 MB.
    # tracemalloc sees every numpy and scipy allocation (where an accidental
    # toarray() or dtype upcast of X would land); the numba kernels only
    # allocate their O(n + p) outputs.
    n, p = 20_000, 200_000
    X = make_sparse_design(n, p, 2.5e-4, seed=0)
    rng = np.random.default_rng(0)
    y = X[:, :50] @ rng.standard_normal(50) + 0.1 * rng.standard_normal(n)
    groups = Groups.equal(p, 10)
    bound = 3 * nbytes(X) + 16 * 8 * (n + p)
    tracemalloc.start()
    try:
        datafit = LeastSquares(sp.csc_array(X), y)
        result = solve_group_lasso(datafit, groups, 0.2 * tau(datafit, groups))
        lasso_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        search = group_ompr(datafit, groups, 5)
        search_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.status == "converged" and search.status == "converged"
    assert lasso_peak < bound and search_peak < bound
