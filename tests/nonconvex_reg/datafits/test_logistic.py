import warnings

import numpy as np
import pytest
from scipy.special import logsumexp

from nonconvex_reg.datafits import Logistic, Multinomial
from nonconvex_reg.datafits.logistic import _logsumexp_rows
from nonconvex_reg.groups import Groups


def fd_hessian(datafit, beta, step=1e-5):
    columns = [
        datafit.gradient(beta + step * e) - datafit.gradient(beta - step * e)
        for e in np.eye(beta.size)
    ]
    hessian = np.array(columns) / (2 * step)
    return 0.5 * (hessian + hessian.T)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_logistic_formulas(rng):
    X, y = rng.standard_normal((6, 3)), rng.choice([-1, 1], 6)
    beta = rng.standard_normal(3)
    datafit = Logistic(X, y, ridge=0.2)
    margins = y * (X @ beta)
    assert datafit.value(beta) == pytest.approx(
        np.mean(np.log1p(np.exp(-margins))) + 0.1 * beta @ beta
    )
    sigma = 1 / (1 + np.exp(margins))
    np.testing.assert_allclose(
        datafit.gradient(beta), -X.T @ (y * sigma) / 6 + 0.2 * beta, rtol=1e-12
    )


def test_multinomial_with_two_classes_is_logistic(rng):
    X, labels = rng.standard_normal((8, 3)), rng.integers(0, 2, 8)
    multinomial = Multinomial(X, labels)
    logistic = Logistic(X, 2 * labels - 1)
    B = rng.standard_normal((3, 2))
    w = B[:, 1] - B[:, 0]
    assert multinomial.value(B.ravel()) == pytest.approx(logistic.value(w))
    gradient = multinomial.gradient(B.ravel()).reshape(3, 2)
    np.testing.assert_allclose(gradient[:, 1], logistic.gradient(w), rtol=1e-12)
    np.testing.assert_allclose(gradient[:, 0], -logistic.gradient(w), rtol=1e-12)
    theta = multinomial.dual_point_from_predictor(X @ B)
    np.testing.assert_allclose(
        theta[:, 1], logistic.dual_point_from_predictor(X @ w), rtol=1e-12
    )
    assert multinomial.dual_value(theta) == pytest.approx(
        logistic.dual_value(theta[:, 1])
    )
    # Curvature at B = 0 attains ||X||^2 / (2n): the constant 1/2 is tight.
    eigenvalues = np.linalg.eigvalsh(fd_hessian(multinomial, np.zeros(6)))
    assert eigenvalues.max() == pytest.approx(multinomial.lipschitz(), rel=1e-6)


def test_logistic_lipschitz_is_attained_at_zero(rng):
    datafit = Logistic(rng.standard_normal((9, 3)), rng.choice([-1, 1], 9), ridge=0.1)
    eigenvalues = np.linalg.eigvalsh(fd_hessian(datafit, np.zeros(3)))
    assert eigenvalues.max() == pytest.approx(datafit.lipschitz(), rel=1e-6)
    assert datafit.strong_convexity() == 0.1


def test_multinomial_is_shift_invariant(rng):
    """No data strong convexity: adding c to every class leaves F unchanged."""
    datafit = Multinomial(rng.standard_normal((7, 2)), rng.integers(0, 3, 7))
    B = rng.standard_normal((2, 3))
    shifted = B + rng.standard_normal((2, 1))
    assert datafit.value(shifted.ravel()) == pytest.approx(datafit.value(B.ravel()))
    assert datafit.strong_convexity() == 0.0


def test_multinomial_row_groups(rng):
    X = rng.standard_normal((7, 3))
    datafit = Multinomial(X, rng.integers(0, 4, 7), n_classes=4, ridge=0.2)
    rows = datafit.lipschitz_group(Groups.from_blocks((3, 4), (1, 4)))
    np.testing.assert_allclose(rows, (X**2).sum(axis=0) / 14 + 0.2)


def test_large_margins_stay_finite(rng):
    X = rng.standard_normal((6, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for datafit in (
            Logistic(X, rng.choice([-1, 1], 6)),
            Multinomial(X, rng.integers(0, 3, 6), n_classes=3),
        ):
            beta = 1e4 * rng.standard_normal(datafit.n_features)
            value, gradient = datafit.value_and_gradient(beta)
            assert np.isfinite(value) and np.all(np.isfinite(gradient))
            theta = datafit.dual_point_from_predictor(datafit.linear_predictor(beta))
            assert np.isfinite(datafit.dual_value(theta))


def test_dual_value_domain(rng):
    X = rng.standard_normal((5, 2))
    logistic = Logistic(X, [1, -1, 1, 1, -1])
    assert logistic.dual_value(np.zeros(5)) == 0.0
    assert logistic.dual_value(np.full(5, 0.5)) == -np.inf
    multinomial = Multinomial(X, [0, 1, 2, 1, 0])
    theta = multinomial.dual_point_from_predictor(np.zeros((5, 3)))
    assert multinomial.dual_value(theta) == pytest.approx(np.log(3))
    assert multinomial.dual_value(theta + 0.1) == -np.inf


def test_restrict_logistic_is_the_column_submatrix(rng):
    X = rng.standard_normal((6, 4))
    restricted = Logistic(X, rng.choice([-1, 1], 6), ridge=0.3).restrict([1, 3])
    assert type(restricted) is Logistic and restricted.ridge == 0.3
    np.testing.assert_array_equal(restricted.X, X[:, [1, 3]])


def test_logistic_rejects_other_labels(rng):
    X = rng.standard_normal((4, 2))
    with pytest.raises(ValueError, match=r"`y`.*\[0\.0\].*2 \* y - 1"):
        Logistic(X, [0, 1, 1, 0])
    with pytest.raises(ValueError, match="`y`"):
        Logistic(X, np.array([True, False, True, True]))
    with pytest.raises(ValueError, match="`y`"):
        Logistic(X, [1.0, -1.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="`y`"):
        Logistic(X, [1.0, -1.0, np.nan, 1.0])


def test_multinomial_label_checks(rng):
    X = rng.standard_normal((4, 2))
    assert Multinomial(X, [0, 1, 1, 0], n_classes=5).coef_shape == (2, 5)
    with pytest.raises(TypeError, match="`y`.*integer"):
        Multinomial(X, [0.0, 1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="`y`.*>= 0"):
        Multinomial(X, [0, -1, 1, 0])
    with pytest.raises(ValueError, match="`y`.*2 classes"):
        Multinomial(X, [0, 0, 0, 0])
    with pytest.raises(ValueError, match=r"`y`.*\(4,\).*\(3,\)"):
        Multinomial(X, [0, 1, 2])
    with pytest.raises(ValueError, match="`n_classes`.*>= max.*= 3; got 2"):
        Multinomial(X, [0, 1, 2, 0], n_classes=2)
    with pytest.raises(ValueError, match="`n_classes`"):
        Multinomial(X, [0, 0, 0, 0], n_classes=1)
    with pytest.raises(TypeError, match="`n_classes`"):
        Multinomial(X, [0, 1, 1, 0], n_classes=2.0)


@pytest.mark.parametrize("scale", [1e-3, 1.0, 30.0, 1e3])
def test_row_logsumexp_gives_scipys_floats(rng, scale):
    # The multinomial loss computes SciPy's logsumexp itself (the same
    # operations, without SciPy's dispatch): bit-equal, ties and extremes too.
    for shape in [(1, 2), (7, 3), (40, 5), (200, 10)]:
        z = scale * rng.standard_normal(shape)
        z[::3, 1] = z[::3, 0]  # tied maxima
        np.testing.assert_array_equal(_logsumexp_rows(z), logsumexp(z, axis=1))
    extreme = np.array([[np.inf, 1.0, 2.0], [1e308, 1e308, 0.0], [-1e308, 0.0, 1.0]])
    np.testing.assert_array_equal(_logsumexp_rows(extreme), logsumexp(extreme, axis=1))
    with np.errstate(divide="ignore"):  # SciPy warns too: log(0 maxima)
        assert np.isnan(_logsumexp_rows(np.array([[np.nan, 1.0]])))
