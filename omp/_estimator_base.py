"""What the scikit-learn estimators of :mod:`omp.estimators` share.

The parameters common to every estimator are declared once here, and so is the
way two of them become the search's problem:

* ``groups`` partitions the columns of ``X`` (features): ``None`` (one group per
  feature), an int (consecutive groups of that size; it must divide
  ``n_features``), one label per feature, or a :class:`~nonconvex_reg.Groups`.
  For several targets or classes a feature group owns the rows of the
  coefficient matrix ``B`` (n_features x n_outputs) of its features, all columns:
  in the C-order flattening of ``B``, feature ``j`` and output ``o`` is
  coordinate ``j * n_outputs + o``.
* ``n_groups`` is the number of feature groups selected (``k``); default 10% of
  the groups, at least 1, like ``OrthogonalMatchingPursuit``'s default.

:class:`GroupSearchEstimator` resolves both into ``groups_`` and ``n_groups_``,
stores what a search returned in the fitted attributes and computes the linear
scores ``X @ coef_.T + intercept_``.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from nonconvex_reg import Groups

from .greedy import INIT_STRATEGIES

__all__ = [
    "SPARSE_FORMATS",
    "COMMON_CONSTRAINTS",
    "OMPR_CONSTRAINTS",
    "GroupSearchEstimator",
    "coordinate_groups",
]

#: Sparse formats ``fit`` and ``predict`` take as they are; scikit-learn converts
#: any other (dok, lil, ...) to the first, CSC, which the datafits keep.
SPARSE_FORMATS = ("csc", "csr", "coo")

#: Constraints of the parameters every estimator has.
COMMON_CONSTRAINTS = {
    "groups": [None, Interval(Integral, 1, None, closed="left"), "array-like", Groups],
    "n_groups": [None, Interval(Integral, 1, None, closed="left")],
    "fit_intercept": ["boolean"],
    "ridge": [Interval(Real, 0, None, closed="left")],
    "refit_tol": [Interval(Real, 0, None, closed="neither")],
    "max_refit_iter": [Interval(Integral, 1, None, closed="left")],
    "n_threads": [None, Interval(Integral, 1, None, closed="left")],
}
#: Constraints of the estimators that search by :func:`~omp.group_ompr`.
OMPR_CONSTRAINTS = {
    **COMMON_CONSTRAINTS,
    "init": [StrOptions(set(INIT_STRATEGIES)), "array-like"],
    "n_candidates": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
}


def _feature_groups(groups, n_features) -> Groups:
    """Resolve the ``groups`` parameter to a partition of the features."""
    if groups is None:
        return Groups.equal(n_features, 1)
    if isinstance(groups, Groups):
        if groups.n_features != n_features:
            raise ValueError(
                f"`groups` must partition the {n_features} features of X; got a "
                f"partition of {groups.n_features}."
            )
        return groups
    if isinstance(groups, Integral):
        if n_features % groups:
            raise ValueError(
                f"`groups` as an int is the group size and must divide "
                f"n_features = {n_features}; got {groups}."
            )
        return Groups.equal(n_features, int(groups))
    labels = np.asarray(groups)
    if labels.shape != (n_features,):
        raise ValueError(
            f"`groups` as labels must have shape ({n_features},), one label per "
            f"feature; got {labels.shape}."
        )
    _, ids = np.unique(labels, return_inverse=True)
    return Groups.from_indices(
        [np.flatnonzero(ids == g) for g in range(ids.max() + 1)], n_features
    )


def coordinate_groups(groups, n_outputs) -> Groups:
    """Feature groups as groups of the C-order flat ``(n_features, K)`` matrix."""
    if n_outputs == 1:
        return groups
    return Groups.from_indices(
        [
            (groups[g][:, None] * n_outputs + np.arange(n_outputs)).ravel()
            for g in range(groups.n_groups)
        ],
        groups.n_features * n_outputs,
    )


def _n_selected(n_groups, total) -> int:
    """Resolve ``n_groups`` (``k``) against the number of feature groups."""
    if n_groups is None:
        return max(1, int(0.1 * total))
    if n_groups > total:
        raise ValueError(
            f"`n_groups` must be at most the number of feature groups, {total}; "
            f"got {n_groups}."
        )
    return int(n_groups)


class GroupSearchEstimator(BaseEstimator):
    """Resolution of ``groups`` and ``n_groups``, fitted attributes, scores."""

    def _resolve_groups(self, n_features) -> None:
        """Set ``groups_`` and ``n_groups_`` from ``groups`` and ``n_groups``."""
        self.groups_ = _feature_groups(self.groups, n_features)
        self.n_groups_ = _n_selected(self.n_groups, self.groups_.n_groups)

    def _store_result(self, result, support) -> None:
        """Set ``support_`` and the attributes read from the search's result."""
        self.support_ = support
        self.n_iter_ = result.n_iter
        self.loss_ = result.loss
        self.result_ = result

    def _linear_scores(self, X) -> np.ndarray:
        """``X @ coef_.T + intercept_`` for a fitted estimator."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse=SPARSE_FORMATS)
        return X @ self.coef_.T + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._accepts_sparse()
        return tags

    def _accepts_sparse(self) -> bool:
        """Whether ``fit`` takes a sparse ``X`` with the current parameters."""
        return True
