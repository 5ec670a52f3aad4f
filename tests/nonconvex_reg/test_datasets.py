import numpy as np
import pytest
import scipy.sparse as sp

from nonconvex_reg import (
    LeastSquares,
    Logistic,
    Multinomial,
    MultiResponse,
    Problem,
    make_problem,
)
from nonconvex_reg.datasets import DATAFIT_KINDS, make_sparse_design

DATAFIT_CLASSES = {
    "least_squares": LeastSquares,
    "logistic": Logistic,
    "multinomial": Multinomial,
    "multi_response": MultiResponse,
}
MATRIX_KINDS = ("multinomial", "multi_response")


def _mean_column_correlation(X):
    corr = np.corrcoef(X, rowvar=False)
    return corr[~np.eye(corr.shape[0], dtype=bool)].mean()


@pytest.mark.parametrize("kind", DATAFIT_KINDS)
def test_shapes_and_datafit_class(kind):
    n_samples, n_groups, group_size, n_classes = 50, 5, 2, 4
    problem = make_problem(
        kind,
        n_samples=n_samples,
        n_groups=n_groups,
        group_size=group_size,
        n_classes=n_classes,
        seed=0,
    )
    datafit, groups = problem.datafit, problem.groups
    assert isinstance(problem, Problem)
    assert type(datafit) is DATAFIT_CLASSES[kind]
    n_in = n_groups * group_size
    outputs = n_classes if kind in MATRIX_KINDS else 1
    assert datafit.X.shape == (n_samples, n_in)
    assert datafit.n_features == groups.n_features == n_in * outputs
    assert problem.beta_true.shape == (datafit.n_features,)
    assert groups.n_groups == n_groups
    assert groups.sizes.tolist() == [group_size * outputs] * n_groups
    # every coordinate lies in exactly one group
    covered = np.concatenate([groups[g] for g in range(groups.n_groups)])
    assert np.array_equal(np.sort(covered), np.arange(groups.n_features))


@pytest.mark.parametrize("kind", DATAFIT_KINDS)
def test_targets_follow_the_model(kind):
    problem = make_problem(kind, n_samples=40, n_classes=3, seed=2)
    y = problem.datafit.y
    if kind == "least_squares":
        assert y.shape == (40,)
    elif kind == "logistic":
        assert set(np.unique(y)) <= {-1.0, 1.0}
    elif kind == "multinomial":
        assert y.shape == (40,)
        assert set(np.unique(y)) <= {0, 1, 2}
    else:
        assert y.shape == (40, 3)


@pytest.mark.parametrize("kind", ["least_squares", "multi_response"])
def test_noiseless_regression_targets_are_exact(kind):
    problem = make_problem(kind, n_active=2, noise=0.0, seed=4)
    datafit = problem.datafit
    coef = problem.beta_true.reshape(datafit.coef_shape)
    np.testing.assert_allclose(datafit.y, datafit.X @ coef, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", DATAFIT_KINDS)
@pytest.mark.parametrize("n_active", [0, 1, 3, 6])
def test_planted_support_has_n_active_groups(kind, n_active):
    problem = make_problem(kind, n_groups=6, n_active=n_active, seed=3)
    support = problem.true_support
    assert support.size == n_active
    assert np.all((support >= 0) & (support < 6))
    # coordinates outside the planted groups are exactly zero
    outside = np.setdiff1d(np.arange(6), support)
    norms = problem.groups.norms(problem.beta_true)
    assert np.all(norms[outside] == 0.0)
    assert np.all(norms[support] > 0.0)


@pytest.mark.parametrize("kind", DATAFIT_KINDS)
def test_same_seed_reproduces_the_problem(kind):
    first = make_problem(kind, seed=7)
    second = make_problem(kind, seed=7)
    np.testing.assert_array_equal(first.datafit.X, second.datafit.X)
    np.testing.assert_array_equal(first.datafit.y, second.datafit.y)
    np.testing.assert_array_equal(first.beta_true, second.beta_true)
    assert first.groups == second.groups


@pytest.mark.parametrize("kind", DATAFIT_KINDS)
def test_different_seeds_give_different_problems(kind):
    first = make_problem(kind, seed=7)
    second = make_problem(kind, seed=8)
    assert not np.array_equal(first.datafit.X, second.datafit.X)
    assert not np.array_equal(first.beta_true, second.beta_true)


def test_correlation_increases_column_correlation():
    independent = make_problem(n_samples=2000, n_groups=4, correlation=0.0, seed=0)
    correlated = make_problem(n_samples=2000, n_groups=4, correlation=0.6, seed=0)
    # equicorrelated design: every pair of columns has population correlation rho
    assert abs(_mean_column_correlation(independent.datafit.X)) < 0.05
    assert _mean_column_correlation(correlated.datafit.X) == pytest.approx(
        0.6, abs=0.05
    )


def test_ridge_reaches_the_datafit():
    problem = make_problem("logistic", ridge=0.25, seed=0)
    assert problem.datafit.ridge == 0.25
    assert problem.datafit.strong_convexity() >= 0.25


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"kind": "ridge"}, "kind"),
        ({"n_groups": 4, "n_active": 5}, "n_active"),
        ({"n_active": -1}, "n_active"),
        ({"correlation": 1.0}, "correlation"),
        ({"correlation": -0.1}, "correlation"),
        ({"noise": -0.1}, "noise"),
        ({"ridge": -1.0}, "ridge"),
        ({"n_classes": 1}, "n_classes"),
        ({"n_samples": 1}, "n_samples"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments_are_rejected_by_name(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        make_problem(**kwargs)


def test_unknown_kind_lists_the_valid_ones():
    with pytest.raises(ValueError, match="least_squares") as info:
        make_problem("ridge")
    for kind in DATAFIT_KINDS:
        assert kind in str(info.value)


def test_sparse_designs_and_their_dense_twins():
    # Issue 18: one seed, two storages of the same values.
    dense = make_problem("logistic", n_samples=80, n_groups=5, density=0.25, seed=3)
    sparse = make_problem(
        "logistic", n_samples=80, n_groups=5, density=0.25, sparse=True, seed=3
    )
    assert sp.issparse(sparse.datafit.X) and not sp.issparse(dense.datafit.X)
    np.testing.assert_array_equal(sparse.datafit.X.toarray(), dense.datafit.X)
    np.testing.assert_array_equal(sparse.datafit.y, dense.datafit.y)
    # Each column holds round(0.25 * 80) = 20 values at distinct rows.
    assert np.all(np.diff(sparse.datafit.X.indptr) == 20)
    with pytest.raises(ValueError, match="`correlation` must be 0"):
        make_problem(density=0.5, correlation=0.3)


@pytest.mark.parametrize("density", [1e-4, 0.3, 0.9, 1.0])
def test_make_sparse_design_rows_are_distinct_and_sorted(density):
    X = make_sparse_design(50, 400, density, dtype=np.float32, seed=1)
    assert X.dtype == np.float32 and X.has_canonical_format
    per_column = np.diff(X.indptr)
    assert np.all(per_column == max(1, round(density * 50)))
    with pytest.raises(ValueError, match="`density`"):
        make_sparse_design(5, 5, 0.0)
