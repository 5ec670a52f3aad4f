"""Designs stored dense or as scipy.sparse CSC matrices (issue 18)."""

import numpy as np
import pytest
import scipy.sparse as sp

from nonconvex_reg import design
from nonconvex_reg.datasets import make_sparse_design
from nonconvex_reg.design import (
    check_design,
    column_set_squared_norms,
    column_squared_norms,
    gram,
    matmul,
    rmatmul,
    smallest_gram_eigenvalue,
    squared_spectral_norm,
    take_columns,
)


@pytest.fixture
def sparse_X():
    return make_sparse_design(60, 25, 0.2, seed=3)


# ----------------------------------------------------------------- validation
def test_csc_is_kept_without_a_copy(sparse_X):
    assert check_design(sparse_X) is sparse_X
    array = sp.csc_array(sparse_X)
    assert check_design(array) is array


@pytest.mark.parametrize("fmt", ["csr", "coo", "lil", "dok", "bsr", "dia"])
def test_other_formats_are_converted_to_csc_once(sparse_X, fmt):
    converted = check_design(sparse_X.asformat(fmt))
    assert converted.format == "csc"
    assert (converted != sparse_X).nnz == 0


def test_non_canonical_csc_is_canonicalized_on_a_copy():
    # Two stored values at (0, 0) and unsorted rows in column 1.
    data, rows, indptr = [1.0, 2.0, 3.0, 4.0], [0, 0, 2, 1], [0, 2, 4]
    X = sp.csc_matrix((data, rows, indptr), shape=(3, 2))
    X.has_canonical_format = False
    checked = check_design(X)
    assert checked is not X and checked.has_canonical_format
    assert np.array_equal(checked.toarray(), [[3.0, 0.0], [0.0, 4.0], [0.0, 3.0]])
    assert X.nnz == 4  # the caller's matrix is untouched


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool, np.complex128])
def test_sparse_dtypes_other_than_float_are_rejected(dtype):
    X = sp.csc_matrix(np.eye(3).astype(dtype))
    with pytest.raises(TypeError, match="`X` must have dtype float32 or float64"):
        check_design(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_stored_values_are_rejected(bad):
    X = sp.random(20, 10, density=0.3, format="csr", random_state=0)
    X.data[3] = bad
    with pytest.raises(ValueError, match="`X` must contain only finite values"):
        check_design(X)


def test_a_format_that_cannot_be_converted_is_rejected():
    class Unconvertible(sp.csr_matrix):
        def tocsc(self, copy=False):
            raise NotImplementedError("no CSC form")

    with pytest.raises(TypeError, match="`X` could not be converted.*'csr'"):
        check_design(Unconvertible(np.eye(3)))


def test_empty_and_misshaped_sparse_designs_are_rejected():
    with pytest.raises(ValueError, match="`X` must have at least one row"):
        check_design(sp.csc_matrix((0, 4)))
    with pytest.raises(ValueError, match="`X` must have at least one row"):
        check_design(sp.csc_matrix((4, 0)))


def test_dense_designs_keep_their_old_conversion():
    # Issue 18 changes nothing for arrays: ints and float32 become float64.
    assert check_design(np.eye(2, dtype=np.int64)).dtype == np.float64
    assert check_design(np.eye(2, dtype=np.float32)).dtype == np.float64
    with pytest.raises(TypeError, match="`X`"):
        check_design(np.eye(2).astype(complex))


# ----------------------------------------------------------------- products
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_outputs", [None, 3])
def test_products_match_the_dense_ones(sparse_X, dtype, n_outputs):
    rng = np.random.default_rng(0)
    X = sparse_X.astype(dtype)
    dense = X.toarray().astype(np.float64)
    shape = (25,) if n_outputs is None else (25, n_outputs)
    B = rng.standard_normal(shape)
    B[::3] = 0.0  # rows of B that are zero are skipped
    T = rng.standard_normal((60,) + shape[1:])
    np.testing.assert_allclose(matmul(X, B), dense @ B, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rmatmul(X, T), dense.T @ T, rtol=1e-12, atol=1e-12)
    assert matmul(X, B).dtype == rmatmul(X, T).dtype == np.float64


def test_float32_products_accumulate_in_float64():
    # A float32 accumulator would lose the 1 next to 2^25 in this sum.
    X = sp.csc_matrix(np.array([[2.0**25, 1.0, -(2.0**25)]], dtype=np.float32))
    assert matmul(X, np.ones(3))[0] == 1.0
    assert rmatmul(X.T.tocsc(), np.ones(3))[0] == 1.0


def test_columns_norms_and_grams_match_the_dense_ones(sparse_X):
    dense = sparse_X.toarray()
    cols = np.array([4, 0, 7])
    np.testing.assert_array_equal(
        take_columns(sparse_X, cols).toarray(), dense[:, cols]
    )
    np.testing.assert_allclose(
        column_squared_norms(sparse_X), (dense**2).sum(axis=0), rtol=1e-13
    )
    weights = np.random.default_rng(1).random(60)
    for A, B in [(sparse_X, None), (sparse_X, dense), (dense, sparse_X)]:
        expected = dense.T @ (dense * weights[:, None])
        np.testing.assert_allclose(
            gram(A, B, weights), expected, rtol=1e-12, atol=1e-12
        )


# ------------------------------------------------------------ spectral norms
def test_squared_spectral_norm_exact_path(sparse_X):
    exact = np.linalg.norm(sparse_X.toarray(), 2) ** 2
    assert squared_spectral_norm(sparse_X) == pytest.approx(exact, rel=1e-12)
    assert squared_spectral_norm(sparse_X.T.tocsc()) == pytest.approx(exact, rel=1e-12)


def test_squared_spectral_norm_lanczos_path_is_a_tight_upper_bound(monkeypatch):
    # Lanczos serves sides above EXACT_GRAM_COLUMNS; lower it to reach it here.
    monkeypatch.setattr(design, "EXACT_GRAM_COLUMNS", 20)
    X = make_sparse_design(300, 200, 0.05, seed=4)
    exact = np.linalg.norm(X.toarray(), 2) ** 2
    estimate = squared_spectral_norm(X)
    assert exact <= estimate <= exact * (1 + 10 * design.LANCZOS_TOL)


def test_column_set_norms_match_the_dense_ones(sparse_X, monkeypatch):
    columns = np.array([3, 1, 2, 9, 5, 6, 7, 8, 0, 10, 11])
    counts = np.array([1, 2, 3, 5])
    dense = sparse_X.toarray()
    offsets = np.cumsum(counts) - counts
    expected = [
        np.linalg.norm(dense[:, columns[o : o + c]], 2) ** 2
        for o, c in zip(offsets, counts, strict=True)
    ]
    singles = column_squared_norms(sparse_X)
    for X in (sparse_X, dense):
        np.testing.assert_allclose(
            column_set_squared_norms(X, columns, counts, singles),
            expected,
            rtol=1e-12,
        )
    # Sets above EXACT_GRAM_COLUMNS go through Lanczos one at a time.
    monkeypatch.setattr(design, "EXACT_GRAM_COLUMNS", 2)
    np.testing.assert_allclose(
        column_set_squared_norms(sparse_X, columns, counts, singles),
        expected,
        rtol=1e-9,
    )


def test_smallest_gram_eigenvalue(sparse_X):
    dense = sparse_X.toarray()
    exact = np.linalg.eigvalsh(dense.T @ dense)[0]
    assert smallest_gram_eigenvalue(sparse_X) == pytest.approx(exact, rel=1e-10)
    assert smallest_gram_eigenvalue(dense) == pytest.approx(exact, rel=1e-10)
    # Above max_columns a sparse design gets the Gershgorin lower bound.
    bound = smallest_gram_eigenvalue(sparse_X, max_columns=5)
    assert 0.0 <= bound <= exact
    # A design whose columns do not overlap: the bound is exact.
    diagonal = sp.diags([1.0, 2.0, 3.0], format="csc")
    assert smallest_gram_eigenvalue(diagonal, max_columns=1) == pytest.approx(1.0)
    # Wide designs have a singular Gram matrix.
    assert smallest_gram_eigenvalue(sparse_X.T.tocsc()) == 0.0
