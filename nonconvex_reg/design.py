"""The design matrix X of the datafits: dense arrays or scipy.sparse CSC matrices.

Every datafit is linear in its design (``Z = X B``, ``grad L = -X^T theta +
ridge beta``), so the toolkit needs from X only the products ``X B`` and ``X^T
T``, column subsets, Gram matrices of a few columns and spectral norms. This
module provides them for both storages, so that a design is never densified:

* **dense**: a float64 ``ndarray``; integer, boolean and float32 arrays are
  converted once (BLAS has no mixed-precision product, and a float32 product
  would round the gradients to 1e-7);
* **sparse**: any ``scipy.sparse`` matrix or array of dtype float32 or float64,
  stored in CSC format (the columns, which coordinate descent reads, are
  contiguous). A CSC input is kept as given, without a copy; any other format
  (CSR, COO, ...) is converted to CSC once, a copy of the stored values that
  doubles the memory of the design while the caller keeps its own (stated
  here and in the datafits' Notes, no warning: it is the expected way in).
  A float32 design stays float32: every product accumulates in float64
  (``nonconvex_reg._design_kernels``), so the results are those of the
  float64 matrix with the same stored values up to the rounding of the sums,
  about ``1e-16 * nnz(column)`` relative (the tests check 1e-10).

Spectral norms (the Lipschitz constants and the operator norms of gap-safe
certificates):

* a set of at most ``EXACT_GRAM_COLUMNS`` columns: ``lambda_max`` of its Gram
  matrix, formed exactly (sparse: one column at a time, ``O(size *
  nnz)``) and diagonalized by LAPACK;
* a larger matrix: ``lambda_max`` of the smaller Gram (``X^T X`` or ``X X^T``)
  by Lanczos iterations (ARPACK through ``scipy.sparse.linalg.eigsh``) on
  products with X, to a relative residual of ``LANCZOS_TOL``, and multiplied by
  ``1 + 2 * LANCZOS_TOL``. The Lanczos value is a lower estimate that converges
  to the top eigenvalue from a start vector not orthogonal to its eigenspace
  (a seeded Gaussian one); the factor covers the residual tolerance.

Memory: the products allocate their outputs only (``O(n_samples * K)`` or
``O(n_columns * K)``); the Gram of a column set costs ``O(size^2)``; Lanczos
keeps 20 vectors of the smaller dimension.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import LinAlgError, eigh
from scipy.sparse.linalg import LinearOperator, eigsh

from ._design_kernels import (
    csc_column_squared_norms,
    csc_matmul,
    csc_rmatmul,
    weighted_group_gram_tops,
)
from .validation import check_array

__all__ = [
    "EXACT_GRAM_COLUMNS",
    "LANCZOS_TOL",
    "check_design",
    "column_set_squared_norms",
    "column_squared_norms",
    "gram",
    "kernel_design",
    "matmul",
    "nbytes",
    "rmatmul",
    "smallest_gram_eigenvalue",
    "squared_spectral_norm",
    "take_columns",
]

#: Largest number of columns whose Gram matrix is formed for a spectral norm.
EXACT_GRAM_COLUMNS = 1024
#: Relative residual at which Lanczos stops (larger column sets).
LANCZOS_TOL = 1e-10
#: Below this fraction of nonzero coefficients, a dense ``X beta`` uses only those.
_SPARSE_PRODUCT_FRACTION = 0.2
_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_design(X, name: str = "X"):
    """Validate a design: a finite 2-D float64 array, or a finite CSC matrix.

    Parameters
    ----------
    X : array-like or scipy.sparse matrix of shape (n_samples, n_columns)
        At least one row and one column.
    name : str, default="X"
        Argument name used in the error messages.

    Returns
    -------
    ndarray of float64 or scipy.sparse CSC matrix of float32 or float64
        A CSC input with sorted, unique indices is returned as is (no copy);
        another sparse format is converted once.

    Raises
    ------
    TypeError
        If a sparse ``X`` has a dtype other than float32 and float64 (integer
        and boolean included: convert explicitly, a conversion copies the
        data), cannot be converted to CSC, or a dense ``X`` is not real.
    ValueError
        If ``X`` has NaN or inf (stored) values, is not 2-D, or is empty.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> X = sp.random(4, 3, density=0.5, format="csr", random_state=0)
    >>> check_design(X).format
    'csc'
    >>> check_design(sp.eye(2, dtype=np.int64))
    Traceback (most recent call last):
    ...
    TypeError: `X` must have dtype float32 or float64 when sparse; got int64. ...
    """
    if not sp.issparse(X):
        X = check_array(X, name, ndim=2)
    else:
        X = _check_sparse(X, name)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"`{name}` must have at least one row and one column; got shape {X.shape}."
        )
    return X


def _check_sparse(X, name):
    """The CSC form of a sparse ``X`` (see :func:`check_design`)."""
    if X.ndim != 2:
        raise ValueError(f"`{name}` must be 2-D; got shape {X.shape}.")
    if X.dtype not in _FLOAT_DTYPES:
        raise TypeError(
            f"`{name}` must have dtype float32 or float64 when sparse; got "
            f"{X.dtype}. Convert it once with X.astype(np.float64)."
        )
    if X.format != "csc":
        try:
            X = X.tocsc()
        except (TypeError, ValueError, NotImplementedError) as error:
            raise TypeError(
                f"`{name}` could not be converted from sparse format {X.format!r} "
                f"to CSC: {error}"
            ) from error
    if not X.has_canonical_format:
        # Duplicate or unsorted indices: canonicalize a copy, never the caller's.
        X = X.copy()
        X.sum_duplicates()
    if not np.all(np.isfinite(X.data)):
        raise ValueError(
            f"`{name}` must contain only finite values; found NaN or inf among "
            "its stored values."
        )
    return X


def nbytes(X) -> int:
    """Bytes held by the design's arrays (values and, if sparse, indices)."""
    if sp.issparse(X):
        return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
    return int(X.nbytes)


def kernel_design(X) -> tuple:
    """The design as the kernels of ``nonconvex_reg._design_kernels`` read it."""
    if sp.issparse(X):
        return (X.data, X.indices, X.indptr)
    return (np.ascontiguousarray(X.T, dtype=np.float64),)


def matmul(X, B) -> np.ndarray:
    """``X B`` in float64; ``B`` of shape ``(n_columns,)`` or ``(n_columns, K)``.

    Only the columns of X that meet a nonzero row of ``B`` are read.
    """
    B = np.asarray(B, dtype=np.float64)
    if sp.issparse(X):
        product = csc_matmul(
            X.data, X.indices, X.indptr, X.shape[0], B if B.ndim == 2 else B[:, None]
        )
        return product[:, 0] if B.ndim == 1 else product
    if B.ndim == 1:
        nonzero = np.flatnonzero(B)
        if nonzero.size < _SPARSE_PRODUCT_FRACTION * X.shape[1]:
            # Few nonzero coefficients: multiply only their columns.
            return X[:, nonzero] @ B[nonzero]
    return X @ B


def rmatmul(X, T) -> np.ndarray:
    """``X^T T`` in float64; ``T`` of shape ``(n_samples,)`` or ``(n_samples, K)``."""
    T = np.asarray(T, dtype=np.float64)
    if sp.issparse(X):
        product = csc_rmatmul(
            X.data, X.indices, X.indptr, T if T.ndim == 2 else T[:, None]
        )
        return product[:, 0] if T.ndim == 1 else product
    return X.T @ T


def take_columns(X, columns):
    """``X[:, columns]``; dense results are Fortran-ordered (contiguous columns)."""
    if sp.issparse(X):
        return X[:, np.asarray(columns, dtype=np.intp)]
    return X.T[columns].T


def column_squared_norms(X) -> np.ndarray:
    """``||X[:, j]||^2`` of every column, float64."""
    if sp.issparse(X):
        return csc_column_squared_norms(X.data, X.indptr)
    return np.einsum("ij,ij->j", X, X)


def gram(A, B=None, weights=None) -> np.ndarray:
    """``A^T diag(weights) B`` as a dense float64 array (``B = A``, unit weights).

    Meant for a few columns (a support): the result is ``(A.shape[1],
    B.shape[1])``. Sparse inputs are multiplied as sparse matrices, in float64.
    """
    same = B is None
    B = A if same else B
    if not (sp.issparse(A) or sp.issparse(B)):
        left = A if weights is None else A * weights[:, None]
        return left.T @ B
    A = sp.csc_matrix(A, dtype=np.float64)
    B = A if same else sp.csc_matrix(B, dtype=np.float64)
    right = B if weights is None else sp.csc_matrix(B.multiply(weights[:, None]))
    return np.asarray((A.T @ right).toarray())


def squared_spectral_norm(X) -> float:
    """``||X||_2^2`` (see the module docstring for the method); 0 if X is empty."""
    if X.shape[0] == 0 or X.shape[1] == 0:
        return 0.0
    if not sp.issparse(X):
        small = X.T @ X if X.shape[1] <= X.shape[0] else X @ X.T
        return _top_eigenvalue(small)
    if min(X.shape) <= EXACT_GRAM_COLUMNS:
        # Small side: the exact Gram matrix of that side.
        small = gram(X) if X.shape[1] <= X.shape[0] else gram(X.T)
        return _top_eigenvalue(small)
    return _lanczos_top(X)


def _top_eigenvalue(matrix) -> float:
    """Largest eigenvalue of a symmetric PSD matrix, clipped at 0."""
    try:
        top = eigh(
            matrix, eigvals_only=True, subset_by_index=[matrix.shape[0] - 1] * 2
        )[0]
    except LinAlgError:
        # LAPACK's subset driver (syevr) fails with "Internal Error" when every
        # eigenvalue is equal, e.g. on an exactly orthogonal design (issue 3);
        # the full symmetric solver has no such case.
        top = np.linalg.eigvalsh(matrix)[-1]
    return float(max(top, 0.0))


def _lanczos_top(X) -> float:
    """``lambda_max`` of the smaller Gram of a large sparse X, by Lanczos."""
    n_rows, n_columns = X.shape
    size = min(n_rows, n_columns)
    if n_columns <= n_rows:

        def product(v):
            return rmatmul(X, matmul(X, v.ravel()))
    else:

        def product(v):
            return matmul(X, rmatmul(X, v.ravel()))

    operator = LinearOperator((size, size), matvec=product, dtype=np.float64)
    start = np.random.default_rng(0).standard_normal(size)
    top = eigsh(
        operator, k=1, which="LA", tol=LANCZOS_TOL, v0=start, return_eigenvectors=False
    )[0]
    return float(max(top, 0.0) * (1.0 + 2.0 * LANCZOS_TOL))


def column_set_squared_norms(X, columns, counts, single_norms) -> np.ndarray:
    """``||X[:, C]||_2^2`` for consecutive column sets ``C`` of ``columns``.

    Parameters
    ----------
    X : ndarray or CSC matrix
    columns : ndarray of int
        The sets one after the other; each set's columns are distinct.
    counts : ndarray of int
        Size of each set (``>= 1``).
    single_norms : ndarray
        ``||X[:, j]||^2`` per column (:func:`column_squared_norms`).

    Returns
    -------
    ndarray of shape (len(counts),)
    """
    offsets = np.cumsum(counts) - counts
    squared = single_norms[columns[offsets]].astype(np.float64)
    for size in np.unique(counts[counts > 1]):
        # Spread case: every set of this many columns at once.
        ids = np.flatnonzero(counts == size)
        column_sets = columns[offsets[ids, None] + np.arange(size)]
        if not sp.issparse(X):
            squared[ids] = _batched_squared_spectral_norms(X, column_sets)
        elif size <= EXACT_GRAM_COLUMNS:
            squared[ids] = _sparse_set_tops(X, column_sets)
        else:
            squared[ids] = [
                squared_spectral_norm(take_columns(X, cols)) for cols in column_sets
            ]
    return squared


def _batched_squared_spectral_norms(X, column_sets) -> np.ndarray:
    """``||X[:, cols]||_2^2`` for many dense column sets of one size."""
    # Rows of X^T gathered: contiguous when X is Fortran-ordered (a restriction).
    blocks = X.T[column_sets]  # (n_sets, size, n_samples)
    grams = blocks @ blocks.transpose(0, 2, 1)
    return np.maximum(np.linalg.eigvalsh(grams)[:, -1], 0.0)


def _sparse_set_tops(X, column_sets) -> np.ndarray:
    """``||X[:, cols]||_2^2`` for many sparse column sets of one size (exact)."""
    n_sets, size = column_sets.shape
    flat = np.ascontiguousarray(column_sets.ravel(), dtype=np.intp)
    ptr = np.arange(n_sets + 1, dtype=np.intp) * size
    unit = np.ones((1, 1, X.shape[0]))
    tops = weighted_group_gram_tops(
        kernel_design(X),
        X.shape[0],
        flat,
        np.zeros_like(flat),
        ptr,
        np.arange(flat.size, dtype=np.intp),
        unit,
    )
    return np.maximum(tops, 0.0)


def smallest_gram_eigenvalue(X, max_columns=EXACT_GRAM_COLUMNS * 4) -> float:
    """A lower bound on ``lambda_min(X^T X)``, 0 when X has more columns than rows.

    Dense X, or sparse X with at most ``max_columns`` columns: the exact value
    from the Gram matrix. A larger sparse X: the Gershgorin bound
    ``min_j (G_jj - sum_{l != j} |G_jl|)`` of ``G = X^T X`` (formed sparse),
    clipped at 0; it is tight when the columns barely overlap, the case of a
    very sparse design.
    """
    n_rows, n_columns = X.shape
    if n_columns > n_rows:
        return 0.0  # Wide case: X^T X is singular.
    if not sp.issparse(X) or n_columns <= max_columns:
        matrix = gram(X)
        bottom = eigh(matrix, eigvals_only=True, subset_by_index=[0, 0])[0]
        return max(float(bottom), 0.0)
    X = sp.csc_matrix(X, dtype=np.float64)
    G = sp.csr_matrix(X.T @ X)
    diagonal = G.diagonal()
    off = np.asarray(abs(G).sum(axis=1)).ravel() - np.abs(diagonal)
    return max(float(np.min(diagonal - off)), 0.0)
