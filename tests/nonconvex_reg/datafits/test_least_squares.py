import numpy as np
import pytest

from nonconvex_reg.datafits import LeastSquares, MultiResponse
from nonconvex_reg.groups import Groups


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_value_gradient_and_dual_formulas(rng):
    X, y = rng.standard_normal((6, 3)), rng.standard_normal(6)
    beta = rng.standard_normal(3)
    datafit = LeastSquares(X, y, ridge=0.2)
    residual = y - X @ beta
    assert datafit.value(beta) == pytest.approx(
        residual @ residual / 12 + 0.1 * beta @ beta
    )
    np.testing.assert_allclose(
        datafit.gradient(beta), -X.T @ residual / 6 + 0.2 * beta, rtol=1e-12
    )
    theta = rng.standard_normal(6)
    assert datafit.dual_value(theta) == pytest.approx(theta @ y - 3 * theta @ theta)


@pytest.mark.parametrize("shape", [(8, 3), (3, 5)])
@pytest.mark.parametrize("ridge", [0.0, 0.5])
def test_constants_are_the_exact_eigenvalues(rng, shape, ridge):
    X = rng.standard_normal(shape)
    datafit = LeastSquares(X, rng.standard_normal(shape[0]), ridge=ridge)
    eigenvalues = np.linalg.eigvalsh(X.T @ X / shape[0] + ridge * np.eye(shape[1]))
    assert datafit.lipschitz() == pytest.approx(eigenvalues.max(), rel=1e-12)
    expected = eigenvalues.min() if shape[0] >= shape[1] else ridge
    assert datafit.strong_convexity() == pytest.approx(expected, abs=1e-12)


def test_lipschitz_group_of_columns_and_blocks(rng):
    X = rng.standard_normal((10, 4))
    datafit = LeastSquares(X, rng.standard_normal(10), ridge=0.1)
    singletons = datafit.lipschitz_group(Groups.from_sizes([1, 1, 1, 1]))
    np.testing.assert_allclose(singletons, (X**2).sum(axis=0) / 10 + 0.1)
    pairs = datafit.lipschitz_group(Groups.from_indices([[0, 3], [1, 2]], 4))
    expected = [np.linalg.norm(X[:, c], 2) ** 2 / 10 + 0.1 for c in ([0, 3], [1, 2])]
    np.testing.assert_allclose(pairs, expected, rtol=1e-12)


def test_multi_response_is_a_sum_of_least_squares(rng):
    X, Y = rng.standard_normal((7, 3)), rng.standard_normal((7, 2))
    multi = MultiResponse(X, Y, ridge=0.4)
    B = rng.standard_normal((3, 2))
    columns = [LeastSquares(X, Y[:, k], ridge=0.4) for k in range(2)]
    assert multi.value(B.ravel()) == pytest.approx(
        sum(f.value(B[:, k]) for k, f in enumerate(columns))
    )
    gradient = multi.gradient(B.ravel()).reshape(3, 2)
    for k, f in enumerate(columns):
        np.testing.assert_allclose(gradient[:, k], f.gradient(B[:, k]), rtol=1e-12)
    assert multi.lipschitz() == pytest.approx(columns[0].lipschitz())
    assert multi.strong_convexity() == pytest.approx(columns[0].strong_convexity())


def test_multi_response_block_groups_use_touched_rows(rng):
    X = rng.standard_normal((9, 3))
    multi = MultiResponse(X, rng.standard_normal((9, 4)))
    rows = multi.lipschitz_group(Groups.from_blocks((3, 4), (1, 4)))
    np.testing.assert_allclose(rows, (X**2).sum(axis=0) / 9)
    blocks = multi.lipschitz_group(Groups.from_blocks((3, 4), 2))
    top = np.linalg.norm(X[:, :2], 2) ** 2 / 9
    np.testing.assert_allclose(blocks, [top, top, rows[2], rows[2]], rtol=1e-12)


def test_restrict_least_squares_is_the_column_submatrix(rng):
    X, y = rng.standard_normal((6, 5)), rng.standard_normal(6)
    restricted = LeastSquares(X, y, ridge=0.3).restrict([0, 2, 3])
    assert type(restricted) is LeastSquares
    np.testing.assert_array_equal(restricted.X, X[:, [0, 2, 3]])
    assert restricted.coef_shape == (3,) and restricted.ridge == 0.3
    eigenvalues = np.linalg.eigvalsh(X[:, [0, 2, 3]].T @ X[:, [0, 2, 3]] / 6)
    assert restricted.strong_convexity() == pytest.approx(eigenvalues.min() + 0.3)


def test_restrict_multi_response_keeps_touched_rows_only(rng):
    X, Y = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    multi = MultiResponse(X, Y)
    whole_rows = multi.restrict([3, 4, 5, 9, 10, 11])
    assert whole_rows.coef_shape == (2, 3)
    np.testing.assert_array_equal(whole_rows.X, X[:, [1, 3]])
    partial = multi.restrict([1, 5, 10])
    assert partial.coef_shape == (3,) and partial.X.shape == (6, 3)
    beta = np.zeros(12)
    beta[[1, 5, 10]] = [1.0, -2.0, 0.5]
    assert partial.value([1.0, -2.0, 0.5]) == pytest.approx(multi.value(beta))


def test_integer_design_is_converted_losslessly():
    datafit = LeastSquares(np.array([[1, 2], [3, 4]]), np.array([1, 0]))
    assert datafit.X.dtype == np.float64 and datafit.y.dtype == np.float64
    assert datafit.value(np.zeros(2)) == pytest.approx(0.25)


def test_bad_targets_are_rejected(rng):
    X = rng.standard_normal((5, 2))
    with pytest.raises(ValueError, match=r"`y`.*\(5,\).*\(5, 1\)"):
        LeastSquares(X, np.zeros((5, 1)))
    with pytest.raises(ValueError, match="`y`"):
        LeastSquares(X, [0.0, 1.0, np.inf, 0.0, 0.0])
    with pytest.raises(ValueError, match="`Y`"):
        MultiResponse(X, np.zeros(5))
    with pytest.raises(ValueError, match="`Y`.*column"):
        MultiResponse(X, np.zeros((5, 0)))
    with pytest.raises(ValueError, match=r"`Y`.*\(5, K\).*\(4, 2\)"):
        MultiResponse(X, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="`X`.*one row"):
        LeastSquares(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(TypeError, match="`X`"):
        LeastSquares(X.astype(complex), np.zeros(5))
    with pytest.raises(TypeError, match="`ridge`"):
        LeastSquares(X, np.zeros(5), ridge="0.1")


def test_lipschitz_of_an_exactly_orthogonal_design(rng):
    # Issue 3: LAPACK's subset eigensolver fails when every eigenvalue of the
    # Gram matrix is equal; X^T X / n = I gives L = 1 exactly.
    Q, _ = np.linalg.qr(rng.standard_normal((500, 50)))
    datafit = LeastSquares(Q * np.sqrt(500), rng.standard_normal(500))
    assert datafit.lipschitz() == pytest.approx(1.0, rel=1e-12)
