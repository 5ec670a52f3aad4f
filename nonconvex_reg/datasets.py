"""Seeded synthetic group-sparse problems for every datafit.

``make_problem`` draws a Gaussian design (optionally with equicorrelated columns),
a planted group-sparse coefficient vector and targets from the matching model:

* ``"least_squares"``: ``y = X beta + noise``;
* ``"logistic"``: ``y = +-1`` drawn with ``P(y = 1) = sigmoid(X beta)``;
* ``"multinomial"``: labels drawn from ``softmax(X B)``, with ``B`` of shape
  ``(n_features_in, n_classes)`` tiled into ``block x block`` groups;
* ``"multi_response"``: ``Y = X B + noise``, same tiling.

All four are strictly convex once ``ridge > 0`` (multinomial needs it: it is
invariant to adding one vector to every class), the regime of Theorem 1.1.

With ``density`` set, the design is drawn by :func:`make_sparse_design` instead:
every column holds ``max(1, round(density * n_samples))`` standard Gaussian values
at distinct random rows, stored as a scipy.sparse CSC matrix (``sparse=True``) or
as the dense array of the same values (``sparse=False``), so the two storages of
one seed give the same problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .datafits import LeastSquares, Logistic, Multinomial, MultiResponse
from .groups import Groups
from .validation import check_choice, check_int, check_scalar

__all__ = ["DATAFIT_KINDS", "Problem", "make_problem", "make_sparse_design"]

#: Entries drawn per chunk of columns by make_sparse_design (bounds its scratch).
_CHUNK_ENTRIES = 1 << 22

DATAFIT_KINDS = ("least_squares", "logistic", "multinomial", "multi_response")


@dataclass(frozen=True)
class Problem:
    """A generated problem: the datafit, its groups and the planted coefficients."""

    datafit: object
    groups: Groups
    beta_true: np.ndarray

    @property
    def true_support(self) -> np.ndarray:
        """Ids of the planted nonzero groups."""
        return np.flatnonzero(self.groups.norms(self.beta_true) > 0)


def make_problem(
    kind="least_squares",
    *,
    n_samples=60,
    n_groups=4,
    group_size=3,
    n_active=1,
    n_classes=3,
    correlation=0.0,
    noise=0.1,
    ridge=1e-2,
    density=None,
    sparse=False,
    seed=0,
) -> Problem:
    """Draw a seeded group-sparse problem.

    Parameters
    ----------
    kind : {"least_squares", "logistic", "multinomial", "multi_response"}
    n_samples : int, default=60
    n_groups : int, default=4
        Number of groups. For the matrix models the coefficient matrix has
        ``n_groups * group_size`` rows and is tiled into ``group_size x n_classes``
        blocks (one block per band of rows), so ``n_groups`` is the group count.
    group_size : int, default=3
    n_active : int, default=1
        Planted nonzero groups, in ``[0, n_groups]``.
    n_classes : int, default=3
        Outputs of the matrix models (classes or responses), ``>= 2``.
    correlation : float, default=0.0
        Equicorrelation of the design columns, in ``[0, 1)``.
    noise : float, default=0.1
        Noise level of the regression models, ``>= 0``.
    ridge : float, default=1e-2
        Ridge strength of the datafit, ``>= 0``.
    density : float, optional
        Fraction of nonzero entries per column of the design, in ``(0, 1]``
        (:func:`make_sparse_design`); ``None`` draws a full Gaussian design.
        Not combined with ``correlation > 0``.
    sparse : bool, default=False
        With ``density``, store the design as a CSC matrix.
    seed : int, default=0

    Returns
    -------
    Problem

    Examples
    --------
    >>> problem = make_problem("logistic", n_groups=5, seed=1)
    >>> problem.groups.n_groups, problem.true_support.size
    (5, 1)
    """
    kind = check_choice(kind, "kind", DATAFIT_KINDS)
    n_samples = check_int(n_samples, "n_samples", low=2)
    n_groups = check_int(n_groups, "n_groups", low=1)
    group_size = check_int(group_size, "group_size", low=1)
    n_active = check_int(n_active, "n_active", low=0, high=n_groups)
    n_classes = check_int(n_classes, "n_classes", low=2)
    correlation = check_scalar(
        correlation, "correlation", low=0.0, high=1.0, high_inclusive=False
    )
    noise = check_scalar(noise, "noise", low=0.0)
    ridge = check_scalar(ridge, "ridge", low=0.0)
    rng = np.random.default_rng(check_int(seed, "seed", low=0))
    matrix = kind in ("multinomial", "multi_response")
    n_in = n_groups * group_size
    if density is not None:
        if correlation > 0:
            raise ValueError(
                "`correlation` must be 0 with a sparse `density`; got "
                f"{correlation!r} (a shared column would fill the design)."
            )
        X = make_sparse_design(n_samples, n_in, density, seed=rng)
        X = X if sparse else X.toarray()
    else:
        X = rng.standard_normal((n_samples, n_in))
    if correlation > 0:
        shared = rng.standard_normal((n_samples, 1))
        X = np.sqrt(1 - correlation) * X + np.sqrt(correlation) * shared
    if matrix:
        groups = Groups.from_blocks((n_in, n_classes), (group_size, n_classes))
    else:
        groups = Groups.equal(n_in, group_size)
    beta = np.zeros(groups.n_features)
    for g in rng.choice(n_groups, size=n_active, replace=False):
        beta[groups[g]] = rng.standard_normal(groups.sizes[g])
    if kind == "least_squares":
        y = X @ beta + noise * rng.standard_normal(n_samples)
        datafit = LeastSquares(X, y, ridge=ridge)
    elif kind == "logistic":
        prob = 1.0 / (1.0 + np.exp(-(X @ beta)))
        y = np.where(rng.random(n_samples) < prob, 1.0, -1.0)
        datafit = Logistic(X, y, ridge=ridge)
    elif kind == "multi_response":
        Y = X @ beta.reshape(n_in, n_classes)
        Y = Y + noise * rng.standard_normal(Y.shape)
        datafit = MultiResponse(X, Y, ridge=ridge)
    else:
        scores = X @ beta.reshape(n_in, n_classes)
        prob = np.exp(scores - scores.max(axis=1, keepdims=True))
        prob /= prob.sum(axis=1, keepdims=True)
        labels = np.array([rng.choice(n_classes, p=p) for p in prob])
        datafit = Multinomial(X, labels, n_classes=n_classes, ridge=ridge)
    return Problem(datafit=datafit, groups=groups, beta_true=beta)


def make_sparse_design(n_samples, n_features, density, *, dtype=np.float64, seed=0):
    """A random CSC design with the same number of stored values in every column.

    Column ``j`` holds ``m = max(1, round(density * n_samples))`` independent
    standard Gaussian values at ``m`` distinct rows drawn uniformly, sorted.
    Columns are drawn in chunks, so the scratch memory stays near
    ``_CHUNK_ENTRIES`` entries whatever the size: the peak is the matrix itself
    (``(8 + 4) * m * n_features`` bytes for float64 values and int32 rows).

    Parameters
    ----------
    n_samples, n_features : int
        Shape, each ``>= 1``.
    density : float
        In ``(0, 1]``.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Dtype of the stored values.
    seed : int or numpy.random.Generator, default=0

    Returns
    -------
    scipy.sparse.csc_matrix of shape (n_samples, n_features)

    Examples
    --------
    >>> X = make_sparse_design(1000, 50, 0.01, seed=0)
    >>> X.format, X.nnz, X.dtype.name
    ('csc', 500, 'float64')
    """
    n_samples = check_int(n_samples, "n_samples", low=1)
    n_features = check_int(n_features, "n_features", low=1)
    density = check_scalar(density, "density", low=0.0, high=1.0, low_inclusive=False)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"`dtype` must be float32 or float64; got {dtype}.")
    rng = (
        seed
        if isinstance(seed, np.random.Generator)
        else np.random.default_rng(check_int(seed, "seed", low=0))
    )
    per_column = min(max(1, round(density * n_samples)), n_samples)
    index_dtype = np.int32 if n_samples * n_features < 2**31 else np.int64
    rows = np.empty(per_column * n_features, dtype=index_dtype)
    # A chunk draws per_column entries per column, or n_samples in the dense case.
    drawn = n_samples if 4 * per_column > n_samples else per_column
    chunk = max(1, _CHUNK_ENTRIES // drawn)
    for start in range(0, n_features, chunk):
        count = min(chunk, n_features - start)
        rows[start * per_column : (start + count) * per_column] = _distinct_rows(
            rng, n_samples, per_column, count
        ).ravel()
    data = rng.standard_normal(rows.size, dtype=dtype)
    indptr = np.arange(n_features + 1, dtype=index_dtype) * per_column
    return sp.csc_matrix((data, rows, indptr), shape=(n_samples, n_features))


def _distinct_rows(rng, n_samples, per_column, count):
    """``count`` sorted draws of ``per_column`` distinct rows in ``[0, n_samples)``."""
    if 4 * per_column > n_samples:
        # Dense case: the first entries of random permutations.
        return np.sort(
            np.argsort(rng.random((count, n_samples)), axis=1)[:, :per_column], axis=1
        )
    rows = np.sort(rng.integers(0, n_samples, (count, per_column)), axis=1)
    while True:
        # Sparse case: redraw the few columns that repeat a row.
        repeated = np.flatnonzero((np.diff(rows, axis=1) == 0).any(axis=1))
        if repeated.size == 0:
            return rows
        rows[repeated] = np.sort(
            rng.integers(0, n_samples, (repeated.size, per_column)), axis=1
        )
