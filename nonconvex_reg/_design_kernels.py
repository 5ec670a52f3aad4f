"""Compiled column access to a design X, dense or CSC, for the numba kernels.

A kernel receives the design as a tuple, whose length tells the storage:

* ``(XT,)``: dense, ``XT = X^T`` in C order, so column ``j`` of X is the
  contiguous row ``XT[j]``;
* ``(data, rows, colptr)``: the arrays of a CSC matrix, column ``j`` holding
  ``data[t]`` at row ``rows[t]`` for ``t`` in ``[colptr[j], colptr[j + 1])``.

The column primitives below (:func:`column_dot`, :func:`column_axpy`,
:func:`column_axpy_weighted`, :func:`column_clear`) are numba overloads, so one
kernel source compiles to one specialization per storage: a dense column costs
``n_samples`` operations, a sparse one its number of stored values. Products
accumulate in float64 whatever the dtype of the stored values (float32 designs
stay float32 in memory).

:func:`weighted_group_gram_tops` forms the ``H``-weighted Gram matrix of each
group of coordinates, ``A_g[c, c'] = sum_i H_i[k_c, k_c'] X[i, j_c] X[i, j_c']``,
and returns its largest eigenvalue (LAPACK ``syevd``): the block curvatures of
the block coordinate descent (:mod:`nonconvex_reg.solvers._bcd`) and, with a unit
weight, the exact squared spectral norms of column sets
(:mod:`nonconvex_reg.design`). The Gram of a group is built one column at a
time: column ``a`` is scattered, weighted, into a dense work vector of length
``n_samples``, every earlier column of the group is dotted with it, and the
vector is cleared again, for ``O(size * stored values of the group)``
operations on a CSC design.

:func:`csc_matmul` and :func:`csc_rmatmul` are the products ``X B`` and
``X^T T`` of a CSC design; the former skips the rows of ``B`` that are zero.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.extending import overload

__all__ = [
    "column_axpy",
    "column_axpy_weighted",
    "column_clear",
    "column_dot",
    "csc_column_squared_norms",
    "csc_matmul",
    "csc_rmatmul",
    "weighted_group_gram_tops",
]

FASTMATH = {"reassoc", "contract"}  # lets the dot products vectorize
_JIT = {"fastmath": FASTMATH}


def column_dot(design, j, vector):  # pragma: no cover - replaced when compiled
    """``<X[:, j], vector>`` (numba only)."""
    raise NotImplementedError("column_dot is compiled by numba only")


def column_axpy(design, j, alpha, vector):  # pragma: no cover
    """``vector += alpha * X[:, j]`` in place (numba only)."""
    raise NotImplementedError("column_axpy is compiled by numba only")


def column_axpy_weighted(design, j, alpha, weights, vector):  # pragma: no cover
    """``vector += alpha * weights * X[:, j]`` in place (numba only)."""
    raise NotImplementedError("column_axpy_weighted is compiled by numba only")


def column_clear(design, j, vector):  # pragma: no cover
    """Zero ``vector`` where ``X[:, j]`` may be nonzero (numba only)."""
    raise NotImplementedError("column_clear is compiled by numba only")


@overload(column_dot, jit_options=_JIT)
def _column_dot(design, j, vector):
    if len(design) == 1:
        # Dense case: the contiguous row j of X^T.
        def dense(design, j, vector):
            x = design[0][j]
            acc = 0.0
            for i in range(x.size):
                acc += x[i] * vector[i]
            return acc

        return dense

    def sparse(design, j, vector):
        data, rows, colptr = design
        acc = 0.0
        for t in range(colptr[j], colptr[j + 1]):
            acc += data[t] * vector[rows[t]]
        return acc

    return sparse


@overload(column_axpy, jit_options=_JIT)
def _column_axpy(design, j, alpha, vector):
    if len(design) == 1:
        # Dense case.
        def dense(design, j, alpha, vector):
            x = design[0][j]
            for i in range(x.size):
                vector[i] += x[i] * alpha

        return dense

    def sparse(design, j, alpha, vector):
        data, rows, colptr = design
        for t in range(colptr[j], colptr[j + 1]):
            vector[rows[t]] += data[t] * alpha

    return sparse


@overload(column_axpy_weighted, jit_options=_JIT)
def _column_axpy_weighted(design, j, alpha, weights, vector):
    if len(design) == 1:
        # Dense case.
        def dense(design, j, alpha, weights, vector):
            x = design[0][j]
            for i in range(x.size):
                vector[i] += weights[i] * x[i] * alpha

        return dense

    def sparse(design, j, alpha, weights, vector):
        data, rows, colptr = design
        for t in range(colptr[j], colptr[j + 1]):
            i = rows[t]
            vector[i] += weights[i] * data[t] * alpha

    return sparse


@overload(column_clear, jit_options=_JIT)
def _column_clear(design, j, vector):
    if len(design) == 1:
        # Dense case: every entry.
        def dense(design, j, vector):
            vector[:] = 0.0

        return dense

    def sparse(design, j, vector):
        _, rows, colptr = design
        for t in range(colptr[j], colptr[j + 1]):
            vector[rows[t]] = 0.0

    return sparse


@numba.njit(cache=True, fastmath=FASTMATH)
def weighted_group_gram_tops(
    design, n_rows, columns, outputs, ptr, indices, hessian
):  # pragma: no cover - compiled
    """``lambda_max(A_g)`` per group (module docstring).

    Parameters
    ----------
    design : tuple
        ``(XT,)`` or ``(data, rows, colptr)``.
    n_rows : int
        ``n_samples``.
    columns, outputs : ndarray of int
        Column of X and column of ``Z = X B`` of every coordinate.
    ptr, indices : ndarray of int
        The groups, as in :class:`~nonconvex_reg.groups.Groups`.
    hessian : ndarray of shape (n_outputs, n_outputs, n_samples)
        ``hessian[l, k, i] = H_i[l, k]``.
    """
    n_outputs = hessian.shape[0]
    n_groups = ptr.size - 1
    top = np.empty(n_groups)
    work = np.zeros((n_outputs, n_rows))
    for g in range(n_groups):
        start, size = ptr[g], ptr[g + 1] - ptr[g]
        gram = np.zeros((size, size))
        for a in range(size):
            ca = indices[start + a]
            ja, ka = columns[ca], outputs[ca]
            for m in range(n_outputs):
                column_axpy_weighted(design, ja, 1.0, hessian[m, ka], work[m])
            for b in range(a + 1):
                cb = indices[start + b]
                acc = column_dot(design, columns[cb], work[outputs[cb]])
                gram[a, b] = acc
                gram[b, a] = acc
            for m in range(n_outputs):
                column_clear(design, ja, work[m])
        top[g] = gram[0, 0] if size == 1 else np.linalg.eigvalsh(gram)[-1]
    return top


@numba.njit(cache=True, fastmath=FASTMATH)
def csc_matmul(data, rows, colptr, n_rows, B):  # pragma: no cover - compiled
    """``X B`` for a CSC ``X`` and ``B`` of shape ``(n_columns, K)``; float64."""
    n_outputs = B.shape[1]
    out = np.zeros((n_rows, n_outputs))
    for j in range(B.shape[0]):
        used = False
        for k in range(n_outputs):
            used = used or B[j, k] != 0.0
        if not used:
            continue  # Zero row of B: column j does not contribute.
        for t in range(colptr[j], colptr[j + 1]):
            value, i = data[t], rows[t]
            for k in range(n_outputs):
                out[i, k] += value * B[j, k]
    return out


@numba.njit(cache=True, fastmath=FASTMATH)
def csc_rmatmul(data, rows, colptr, T):  # pragma: no cover - compiled
    """``X^T T`` for a CSC ``X`` and ``T`` of shape ``(n_samples, K)``; float64."""
    n_columns = colptr.size - 1
    n_outputs = T.shape[1]
    out = np.zeros((n_columns, n_outputs))
    for j in range(n_columns):
        for t in range(colptr[j], colptr[j + 1]):
            value, i = data[t], rows[t]
            for k in range(n_outputs):
                out[j, k] += value * T[i, k]
    return out


@numba.njit(cache=True, fastmath=FASTMATH)
def csc_column_squared_norms(data, colptr):  # pragma: no cover - compiled
    """``||X[:, j]||^2`` of every column of a CSC ``X``; float64."""
    n_columns = colptr.size - 1
    out = np.zeros(n_columns)
    for j in range(n_columns):
        acc = 0.0
        for t in range(colptr[j], colptr[j + 1]):
            acc += np.float64(data[t]) * data[t]
        out[j] = acc
    return out
