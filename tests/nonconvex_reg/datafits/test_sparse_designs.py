"""Every datafit on a scipy.sparse design agrees with its dense twin (issue 18)."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings

from nonconvex_reg import LeastSquares, Logistic, Multinomial, MultiResponse
from nonconvex_reg.datasets import make_sparse_design
from nonconvex_reg.testing import twin_problems

PROPERTY = settings(max_examples=25, deadline=None)
TOL = 1e-10


def close(a, b, tol=TOL):
    scale = max(1.0, np.max(np.abs(b), initial=0.0))
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale)


@PROPERTY
@given(twin_problems())
def test_sparse_and_dense_datafits_agree(twins):
    dense, sparse = twins
    f, g = dense.datafit, sparse.datafit
    assert sp.issparse(g.X) and g.X.format == "csc"
    rng = np.random.default_rng(0)
    beta = rng.standard_normal(f.n_features) * (rng.random(f.n_features) < 0.6)
    close(g.value(beta), f.value(beta))
    close(g.gradient(beta), f.gradient(beta))
    z_dense, z_sparse = f.linear_predictor(beta), g.linear_predictor(beta)
    close(z_sparse, z_dense)
    theta = f.dual_point_from_predictor(z_dense)
    close(g.transpose_product(theta), f.transpose_product(theta))
    close(g.dual_value(theta), f.dual_value(theta))
    close(
        g.hessian_blocks_from_predictor(z_sparse),
        f.hessian_blocks_from_predictor(z_dense),
    )
    close(g.lipschitz(), f.lipschitz())
    close(g.lipschitz_group(dense.groups), f.lipschitz_group(dense.groups))
    close(g.group_operator_norms(dense.groups), f.group_operator_norms(dense.groups))
    close(g.strong_convexity(), f.strong_convexity())
    close(g.dual_strong_concavity(), f.dual_strong_concavity())
    for left, right in zip(g.coordinate_layout(), f.coordinate_layout(), strict=True):
        np.testing.assert_array_equal(left, right)
    coords = np.flatnonzero(rng.random(f.n_features) < 0.5)
    f_S, g_S = f.restrict(coords), g.restrict(coords)
    assert sp.issparse(g_S.X)
    close(g_S.value(beta[coords]), f_S.value(beta[coords]))
    close(g_S.gradient(beta[coords]), f_S.gradient(beta[coords]))
    if coords.size:
        close(g_S.strong_convexity(), f_S.strong_convexity())


def _datafits(X, y, labels):
    return [
        LeastSquares(X, y, ridge=0.1),
        MultiResponse(X, np.column_stack([y, -y]), ridge=0.1),
        Logistic(X, np.sign(y), ridge=0.1),
        Multinomial(X, labels, n_classes=3, ridge=0.1),
    ]


def test_float32_designs_stay_float32_and_match_float64_values():
    # The stored values are those of the float32 matrix: results agree with the
    # float64 matrix of the same values to 1e-10 (sums accumulate in float64),
    # and with the unrounded float64 data to float32's resolution (1e-6 here).
    X64 = make_sparse_design(80, 30, 0.3, seed=5)
    X32 = X64.astype(np.float32)
    rounded = X32.astype(np.float64)
    rng = np.random.default_rng(5)
    y, labels = rng.standard_normal(80), rng.integers(0, 3, 80)
    for f32, f64, f_exact in zip(
        _datafits(X32, y, labels),
        _datafits(rounded, y, labels),
        _datafits(X64, y, labels),
        strict=True,
    ):
        assert f32.X.dtype == np.float32
        beta = rng.standard_normal(f32.n_features)
        close(f32.value(beta), f64.value(beta))
        close(f32.gradient(beta), f64.gradient(beta))
        close(f32.lipschitz(), f64.lipschitz())
        assert f32.value(beta) == pytest.approx(f_exact.value(beta), rel=1e-6)
        np.testing.assert_allclose(
            f32.gradient(beta), f_exact.gradient(beta), rtol=1e-5, atol=1e-6
        )


def test_sparse_designs_are_not_copied_and_restrictions_stay_sparse():
    X = make_sparse_design(50, 40, 0.1, seed=2)
    datafit = LeastSquares(X, np.ones(50))
    assert datafit.X is X
    restricted = datafit.restrict(np.arange(0, 40, 4))
    assert sp.issparse(restricted.X) and restricted.X.shape == (50, 10)


def test_bad_sparse_inputs_name_X():
    X = make_sparse_design(30, 8, 0.3, seed=0)
    y = np.ones(30)
    for cls in (LeastSquares, Logistic):
        with pytest.raises(TypeError, match="`X` must have dtype float32"):
            cls(X.astype(np.int64), y)
        bad = X.copy()
        bad.data[0] = np.nan
        with pytest.raises(ValueError, match="`X` must contain only finite"):
            cls(bad, y)
        with pytest.raises(ValueError, match=r"`y`.*`X` \(shape \(30, 8\)\)"):
            cls(X, y[:-2])
    with pytest.raises(ValueError, match=r"`y`.*`X` \(shape \(30, 8\)\)"):
        Multinomial(X, np.zeros(29, dtype=int), n_classes=2)
    with pytest.raises(ValueError, match=r"`Y`.*`X` \(shape \(30, 8\)\)"):
        MultiResponse(X, np.ones((31, 2)))
