"""Generalized linear datafits L(beta) = F(X B) + ridge/2 ||beta||^2: shared parts.

Every datafit of the toolkit is linear in the design: ``Z = X B`` with ``B`` the
C-order reshape of ``beta`` to ``(n_features_in,)`` or ``(n_features_in, K)``, and
``grad L(beta) = -X^T theta + ridge * beta`` with ``theta = -grad F(Z)``. The
curvature of F is bounded by ``c / n_samples`` in the Loewner order (``c = 1`` for
squared loss, ``1/4`` for the logistic loss, ``1/2`` for log-sum-exp), so for any
set ``R`` of feature rows of ``B`` (columns of ``X``) the Hessian of L restricted to
coordinates in those rows satisfies

    grad^2_{R} L  <=  c * ||X[:, R]||_2^2 / n_samples + ridge,

which gives :meth:`_GLM.lipschitz` (``R`` = all rows) and :meth:`_GLM.lipschitz_group`
(``R`` = the rows a group touches). This bound is a derivation of ours from the
Kronecker structure ``grad^2 F(X B) = (1/n) sum_i (x_i x_i^T) (x) H_i`` with
``||H_i||_2 <= c``.

:meth:`_GLM.restrict` returns the datafit of ``beta_S = beta[coords]`` on the
columns of ``X`` that ``coords`` touch. For single-output models this is the same
class on ``X[:, coords]``; for matrix-shaped coefficients, when ``coords`` covers
whole rows of ``B`` it is the same class on ``X[:, rows]`` with coefficient shape
``(len(rows), K)``, and otherwise it keeps a private *embedding* of ``beta_S`` into
the zero-filled ``(len(rows), K)`` matrix, so that every product costs
``n_samples * len(rows) * K`` instead of the full ``n_samples * n_features_in * K``.
"""

from __future__ import annotations

import copy

import numpy as np

from ..design import (
    column_set_squared_norms,
    column_squared_norms,
    matmul,
    rmatmul,
    smallest_gram_eigenvalue,
    squared_spectral_norm,
    take_columns,
)
from ..groups import Groups, concatenated_ranges
from ..validation import check_scalar
from .base import Datafit

__all__: list[str] = []

#: Absolute slack on the dual domain (entries of P in [0, 1]; rounding of theta).
_DUAL_DOMAIN_TOL = 1e-10


def check_rows(targets, name: str, X) -> None:
    """Raise unless ``targets`` has as many rows (first axis) as the design ``X``.

    Raises
    ------
    ValueError
        Naming ``targets`` and ``X`` with both shapes.
    """
    shape = np.shape(targets)
    if not shape or shape[0] != X.shape[0]:
        wanted = (X.shape[0], *shape[1:])
        raise ValueError(
            f"`{name}` must have shape {wanted}, one row per row of `X` (shape "
            f"{X.shape}); got {shape}."
        )


def _check_coords(coords, n_features: int) -> np.ndarray:
    """Validate sorted, unique integer coordinates in ``[0, n_features)``."""
    coords = np.asarray(coords)
    if coords.ndim != 1 or (coords.size and coords.dtype.kind not in "iu"):
        raise ValueError(
            "`coords` must be a 1-D array of integers; got shape "
            f"{coords.shape} of dtype {coords.dtype}."
        )
    coords = coords.astype(np.intp)
    if coords.size and (coords[0] < 0 or coords[-1] >= n_features):
        raise ValueError(
            f"`coords` must lie in [0, {n_features - 1}]; got {coords.min()} .. "
            f"{coords.max()}."
        )
    if np.any(np.diff(coords) <= 0):
        raise ValueError("`coords` must be sorted and unique (strictly increasing).")
    return coords


class _GLM(Datafit):
    """A datafit ``F(X B) + ridge/2 ||beta||^2`` with a linear predictor.

    Subclasses validate ``y``, call :meth:`_set_design` on the output of
    :func:`~nonconvex_reg.design.check_design` and implement the data part
    ``loss_from_predictor``, ``dual_point_from_predictor`` and ``dual_value``. They
    declare ``_curvature`` (the constant ``c`` of the module docstring) and
    ``is_quadratic`` (the capability of :class:`~.base.Datafit`).
    """

    _curvature: float

    def _set_design(self, X, ridge, n_outputs: int | None) -> None:
        """Store ``X`` (from :func:`~.design.check_design`) and validate ``ridge``.

        ``n_outputs=None`` means vector coefficients of shape ``(n_features_in,)``.
        """
        self.X = X
        self.ridge = check_scalar(
            ridge, "ridge", low=0.0, high=np.inf, high_inclusive=False
        )
        self.n_samples, n_features_in = X.shape
        self._matrix = n_outputs is not None
        self._n_outputs = 1 if n_outputs is None else int(n_outputs)
        self.coef_shape = (
            (n_features_in,) if n_outputs is None else (n_features_in, n_outputs)
        )
        self.n_features = n_features_in * self._n_outputs
        self._local = None  # embedding of beta into the flat B; None = identity
        self._cache = {}

    # ------------------------------------------------------------- products
    def linear_predictor(self, beta) -> np.ndarray:
        """``Z = X B``: shape ``(n_samples,)`` or ``(n_samples, n_outputs)``.

        Raises
        ------
        ValueError
            If ``beta`` does not have shape ``(n_features,)`` or is not finite.
            This check costs ``O(n_features)``, negligible next to the product.
        """
        beta = np.asarray(beta, dtype=np.float64)
        if beta.shape != (self.n_features,):
            raise ValueError(
                f"`beta` must have shape ({self.n_features},); got {beta.shape}."
            )
        if not np.isfinite(beta).all():
            raise ValueError(
                "`beta` must contain only finite values; found NaN or inf."
            )
        n_columns = self.X.shape[1]
        if self._local is not None:
            full = np.zeros(n_columns * self._n_outputs)
            full[self._local] = beta
            beta = full
        if not self._matrix:
            return matmul(self.X, beta)
        return matmul(self.X, beta.reshape(n_columns, self._n_outputs))

    def transpose_product(self, theta) -> np.ndarray:
        """``X^T theta`` flattened (C order) to a vector of length ``n_features``."""
        product = rmatmul(self.X, theta).ravel()
        return product if self._local is None else product[self._local]

    # ------------------------------------------------------------- constants
    def _columns_of(self, coords) -> np.ndarray:
        """Column of ``X`` (row of ``B``) that each flat coordinate multiplies."""
        flat = coords if self._local is None else self._local[coords]
        return flat // self._n_outputs

    def coordinate_layout(self) -> tuple[np.ndarray, np.ndarray]:
        """Column of ``X`` and column of ``Z = X B`` of every coordinate.

        Coordinate ``c`` adds ``X[:, columns[c]] * beta_c`` to ``Z[:, outputs[c]]``
        (``outputs`` is all zeros for single-output models).

        Returns
        -------
        columns, outputs : ndarray of int, shape (n_features,)
        """
        flat = np.arange(self.n_features) if self._local is None else self._local
        return flat // self._n_outputs, flat % self._n_outputs

    def lipschitz(self) -> float:
        """``c * ||X||_2^2 / n_samples + ridge``.

        The spectral norm is exact for dense designs and sparse ones with a side
        of at most :data:`~nonconvex_reg.design.EXACT_GRAM_COLUMNS`; otherwise it
        is computed by Lanczos iterations to a relative tolerance of
        :data:`~nonconvex_reg.design.LANCZOS_TOL` (see :mod:`~nonconvex_reg.design`).
        """
        if "top_sq" not in self._cache:
            self._cache["top_sq"] = squared_spectral_norm(self.X)
        top_sq = self._cache["top_sq"]
        return float(self._curvature * top_sq / self.n_samples + self.ridge)

    def _group_columns(self, groups) -> tuple[np.ndarray, np.ndarray]:
        """The distinct columns ``R_g`` of every group, one group after the other.

        Returns
        -------
        columns : ndarray of int
            ``R_0``, then ``R_1``, ... (each sorted).
        counts : ndarray of int, shape (n_groups,)
            ``|R_g|``.
        """
        if not isinstance(groups, Groups):
            raise TypeError(f"`groups` must be a Groups; got {type(groups).__name__}.")
        if groups.n_features != self.n_features:
            raise ValueError(
                f"`groups` must partition n_features = {self.n_features} "
                f"coordinates; got a partition of {groups.n_features}."
            )
        key = ("group_columns", groups.ptr.tobytes(), groups.indices.tobytes())
        if key not in self._cache:
            # Sort the pairs (group, column) and keep the first copy of each.
            columns = self._columns_of(groups.indices)
            owner = np.repeat(np.arange(groups.n_groups), groups.sizes)
            order = np.lexsort((columns, owner))
            columns, owner = columns[order], owner[order]
            first = np.ones(columns.size, dtype=bool)
            first[1:] = (columns[1:] != columns[:-1]) | (owner[1:] != owner[:-1])
            counts = np.bincount(owner[first], minlength=groups.n_groups)
            self._cache[key] = (columns[first], counts)
        return self._cache[key]

    def _column_squared_norms(self) -> np.ndarray:
        if "col_sq" not in self._cache:
            self._cache["col_sq"] = column_squared_norms(self.X)
        return self._cache["col_sq"]

    def _group_squared_norms(self, groups, selected=None) -> np.ndarray:
        """``||X[:, R_g]||_2^2`` for the groups ``selected`` (all when None).

        Each group's norm is computed the first time it is asked for and cached:
        a solver that only ever touches a working set pays for that set alone.
        """
        columns, counts = self._group_columns(groups)
        key = ("group_sq", groups.ptr.tobytes(), groups.indices.tobytes())
        squared = self._cache.setdefault(key, np.full(groups.n_groups, np.nan))
        ids = (
            np.arange(groups.n_groups)
            if selected is None
            else groups.check_ids(selected)
        )
        missing = np.unique(ids[np.isnan(squared[ids])])
        if missing.size:
            # The columns of the missing groups, one group after the other.
            starts = (np.cumsum(counts) - counts)[missing]
            squared[missing] = column_set_squared_norms(
                self.X,
                columns[concatenated_ranges(starts, counts[missing])],
                counts[missing],
                self._column_squared_norms(),
            )
        return squared[ids]

    def lipschitz_group(self, groups) -> np.ndarray:
        """Per group g, ``c * ||X[:, R_g]||_2^2 / n_samples + ridge``.

        ``R_g`` is the set of columns of ``X`` (rows of ``B``) that the coordinates
        of g touch. A group touching one column costs a squared column norm; a
        larger one costs the spectral norm of its column submatrix.

        Parameters
        ----------
        groups : Groups
            A partition of the ``n_features`` coordinates.

        Returns
        -------
        ndarray of shape (n_groups,)
            Upper bounds on the Lipschitz constant of ``grad_g L`` in ``beta_g``.

        Raises
        ------
        TypeError
            If ``groups`` is not a :class:`~nonconvex_reg.groups.Groups`.
        ValueError
            If ``groups.n_features`` differs from ``n_features``.
        """
        squared = self._group_squared_norms(groups)
        return self._curvature * squared / self.n_samples + self.ridge

    def group_operator_norms(self, groups, selected=None) -> np.ndarray:
        """``||X[:, R_g]||_2`` per group: it bounds ``theta -> (X^T theta)_g``.

        Parameters
        ----------
        groups : Groups
            A partition of the ``n_features`` coordinates.
        selected : array-like of int, optional
            Group ids whose norms to return (computed once, then cached); all
            groups when None.

        Returns
        -------
        ndarray of shape (n_groups,) or (len(selected),)
        """
        return np.sqrt(self._group_squared_norms(groups, selected))

    def group_operator_norm_bounds(self, groups) -> tuple[np.ndarray, np.ndarray]:
        """Bounds on ``||X[:, R_g]||_2`` from the column norms alone, ``O(n p)`` once.

        With ``F_g = ||X[:, R_g]||_F`` and ``r_g = min(n_samples, |R_g|)`` the rank
        bound gives ``F_g / sqrt(r_g) <= ||X[:, R_g]||_2 <= F_g`` (both equal for a
        single column).

        Returns
        -------
        lower, upper : ndarray of shape (n_groups,)
        """
        columns, counts = self._group_columns(groups)
        offsets = np.cumsum(counts) - counts
        frobenius = np.sqrt(
            np.add.reduceat(self._column_squared_norms()[columns], offsets)
            if columns.size
            else np.zeros(0)
        )
        rank = np.minimum(counts, self.n_samples)
        return frobenius / np.sqrt(np.maximum(rank, 1)), frobenius

    def dual_strong_concavity(self) -> float:
        """``n_samples / c`` (derived here).

        ``-F^*(-theta)`` is ``(1/n) sum_i -f^*(-n theta_i)``; the conjugate of a
        per-sample loss with curvature at most ``c`` is ``1/c``-strongly convex, so
        the dual is ``n / c``-strongly concave: ``n`` for squared loss, ``4n`` for the
        logistic loss (binary entropy has curvature ``>= 4``), ``2n`` for the
        multinomial loss (entropy is 1-strongly convex in l1 and
        ``||d||_1^2 >= 2 ||d||_2^2`` on the zero-sum directions that dual points
        move along).
        """
        return self.n_samples / self._curvature

    def strong_convexity(self) -> float:
        """Lower bound on the strong convexity constant of L.

        Quadratic F: ``lambda_min(X^T X) / n_samples + ridge`` (the data part is 0
        when ``n_samples < n_features_in``). Otherwise ``ridge``: the logistic and
        multinomial losses have no uniform curvature (it vanishes as ``|Z|`` grows,
        and the multinomial loss is invariant to adding one vector to every class).
        A sparse design with more than ``4 * EXACT_GRAM_COLUMNS`` columns gets the
        Gershgorin bound of :func:`~nonconvex_reg.design.smallest_gram_eigenvalue`
        in place of ``lambda_min``.
        """
        if not self.is_quadratic:
            return float(self.ridge)
        if "bottom_sq" not in self._cache:
            self._cache["bottom_sq"] = smallest_gram_eigenvalue(self.X)
        return float(self._cache["bottom_sq"] / self.n_samples + self.ridge)

    def restricted_strong_convexity(self, coords) -> float:
        """``mu`` of L restricted to ``coords``, without copying columns when it can.

        ``ridge`` when F is not quadratic (see :meth:`strong_convexity`) or when the
        coordinates touch more columns than there are samples (the restricted Gram
        is singular); otherwise that of :meth:`restrict`.
        """
        coords = _check_coords(coords, self.n_features)
        if not self.is_quadratic:
            return float(self.ridge)
        if np.unique(self._columns_of(coords)).size > self.n_samples:
            return float(self.ridge)
        return float(self.restrict(coords).strong_convexity())

    # ------------------------------------------------------------- restriction
    def restrict(self, coords) -> _GLM:
        """The datafit of ``beta_S = beta[coords]``, other coordinates fixed at 0.

        ``L_S(beta_S) = L(beta)`` where ``beta[coords] = beta_S`` and ``beta`` is
        zero elsewhere, so ``grad L_S = (grad L)[coords]``. The result is the same
        class on the columns of ``X`` that ``coords`` touch, with the same ``y``
        and ``ridge``: for single-output models exactly the datafit of
        ``X[:, coords]``.

        Parameters
        ----------
        coords : array-like of int
            Sorted, unique coordinates in ``[0, n_features)``; may be empty.

        Returns
        -------
        Datafit
            A datafit with ``n_features = len(coords)``. For matrix coefficients
            whose ``coords`` do not cover whole rows, ``coef_shape`` is
            ``(len(coords),)`` and each product embeds ``beta_S`` into the
            zero-filled rows it touches.

        Raises
        ------
        ValueError
            If ``coords`` is not a sorted, unique 1-D integer array in range.
        """
        coords = _check_coords(coords, self.n_features)
        columns = self._columns_of(coords)
        touched, position = np.unique(columns, return_inverse=True)
        K = self._n_outputs
        flat = coords if self._local is None else self._local[coords]
        local = position * K + flat % K
        restricted = copy.copy(self)
        # Dense: Fortran order, the columns (which coordinate descent reads) are
        # contiguous. Sparse: a CSC matrix of the touched columns.
        restricted.X = take_columns(self.X, touched)
        restricted._cache = {}
        restricted.n_features = int(coords.size)
        if not self._matrix:
            restricted.coef_shape = (int(touched.size),)
            restricted._local = None
        elif np.array_equal(local, np.arange(touched.size * K)):
            restricted.coef_shape = (int(touched.size), K)
            restricted._local = None
        else:
            restricted.coef_shape = (int(coords.size),)
            restricted._local = local
        return restricted
