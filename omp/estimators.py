"""scikit-learn estimators around group OMP and group OMPR.

The searches are those of arXiv:2402.17902, Appendix B (Algorithm 2, Theorem B.3).

Thin adapters, as ``OrthogonalMatchingPursuit`` is around ``orthogonal_mp``: the
search is the public function (:func:`~omp.group_omp`, :func:`~omp.group_ompr`),
the estimator validates in ``fit``, builds the datafit and the coordinate groups,
calls the search and stores what it learned in trailing-underscore attributes.
How ``groups`` and ``n_groups`` (``k``) become the search's groups is written once
in ``omp._estimator_base``.

* Regressors: ``L = ||Y - X B||^2 / (2 n) + ridge/2 ||B||^2`` (LeastSquares, or
  MultiResponse for 2-D ``y``); ``fit_intercept`` centers ``X`` and ``y``, which
  for a squared loss is the same as an unpenalized intercept. Centering would
  fill a sparse ``X``, so sparse input asks for ``fit_intercept=False``.
* Classifier: logistic loss (two classes, labels mapped to -1/+1) or
  multinomial loss (more classes). ``fit_intercept`` appends a column of ones
  as a group that the search keeps and never drops (``keep``), with the ridge
  applied to it like to every coefficient; a sparse ``X`` stays sparse (the
  column adds ``n_samples`` stored values).

``X`` may be a ``scipy.sparse`` matrix of dtype float32 or float64 (any format;
the datafits convert it to CSC once, see :mod:`nonconvex_reg.design`). Memory
and time then follow :func:`~omp.group_ompr`: ``O(nnz(X) + n_samples +
n_features)`` memory besides the support's refit, ``O(nnz(X))`` per round.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from nonconvex_reg import Groups, LeastSquares, Logistic, Multinomial, MultiResponse

from ._estimator_base import (
    COMMON_CONSTRAINTS,
    OMPR_CONSTRAINTS,
    SPARSE_FORMATS,
    GroupSearchEstimator,
    coordinate_groups,
)
from .greedy import group_omp, group_ompr

__all__ = ["GroupOMPRClassifier", "GroupOMPRRegressor", "GroupOMPRegressor"]


class _GroupRegressor(RegressorMixin, GroupSearchEstimator):
    """Shared ``fit``/``predict`` of the least-squares estimators.

    A subclass defines ``_search(datafit, groups, k) -> OMPResult``.
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Select ``n_groups`` feature groups and fit least squares on them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        self
        """
        X, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, accept_sparse=SPARSE_FORMATS
        )
        if sp.issparse(X) and self.fit_intercept:
            raise ValueError(
                "`X` is sparse and `fit_intercept=True`: centering X would fill "
                "it. Pass fit_intercept=False, with y centered or a column of "
                "ones in X as its own group."
            )
        y = y.astype(np.float64)
        self._resolve_groups(X.shape[1])
        X_offset = X.mean(axis=0) if self.fit_intercept else np.zeros(X.shape[1])
        y_offset = y.mean(axis=0) if self.fit_intercept else np.zeros(y.shape[1:])
        Xc = X - X_offset if self.fit_intercept else X
        yc = y - y_offset
        n_targets = 1 if y.ndim == 1 else y.shape[1]
        datafit = (
            LeastSquares(Xc, yc, ridge=self.ridge)
            if y.ndim == 1
            else MultiResponse(Xc, yc, ridge=self.ridge)
        )
        result = self._search(
            datafit, coordinate_groups(self.groups_, n_targets), self.n_groups_
        )
        coef = result.coef.reshape(X.shape[1], n_targets).T
        self.coef_ = coef[0] if y.ndim == 1 else coef
        self.intercept_ = y_offset - X_offset @ self.coef_.T
        self._store_result(result, result.support)
        return self

    def _accepts_sparse(self) -> bool:
        """Sparse ``X`` only without an intercept (centering would fill it)."""
        return not self.fit_intercept

    def predict(self, X):
        """``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        return self._linear_scores(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class _GroupOMPRSearch:
    """The OMPR estimators' ``_search``: :func:`~omp.group_ompr` with their settings."""

    def _search(self, datafit, groups, k, keep=None):
        return group_ompr(
            datafit,
            groups,
            k,
            init=self.init,
            keep=keep,
            n_candidates=self.n_candidates,
            tol=self.tol,
            max_iter=self.max_iter,
            refit_tol=self.refit_tol,
            max_refit_iter=self.max_refit_iter,
            n_threads=self.n_threads,
        )


class GroupOMPRegressor(_GroupRegressor):
    """Group orthogonal matching pursuit for (multi-target) least squares.

    Parameters
    ----------
    groups : None, int, array-like of shape (n_features,) or Groups, default=None
        Feature groups: singletons, consecutive groups of this size, one label
        per feature, or a partition.
    n_groups : int, default=None
        Number of feature groups to select (``k``), ``>= 1``; default 10% of the
        groups, at least 1.
    fit_intercept : bool, default=True
        Center ``X`` and ``y`` (an unpenalized intercept).
    ridge : float, default=0.0
        Ridge strength ``>= 0`` of the loss.
    refit_tol : float, default=1e-8
    max_refit_iter : int, default=100
    n_threads : int or None, default=None
        Most BLAS threads of the search, ``>= 1``; None lets the library choose
        from the size of ``X`` (:mod:`nonconvex_reg.threads`). A lower limit
        already in force (``threadpool_limits``) wins.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    support_ : ndarray of int
        Sorted ids of the selected feature groups (in ``groups_``).
    groups_ : Groups
        The resolved feature groups.
    n_groups_ : int
        The resolved ``k``.
    n_iter_ : int
    loss_ : float
        Training loss ``||y - X coef||^2 / (2 n)`` (centered data).
    result_ : OMPResult
    n_features_in_ : int

    See Also
    --------
    omp.group_omp : the algorithm.
    sklearn.linear_model.OrthogonalMatchingPursuit : singleton groups.

    Notes
    -----
    ``X`` may be dense or a ``scipy.sparse`` matrix (float32 or float64; any
    format, converted to CSC once), the latter with ``fit_intercept=False``
    (centering would fill it). Time and memory are those of
    :func:`~omp.group_omp` (see its Notes): ``O(nnz(X))`` per step, memory
    ``O(nnz(X) + n_samples + n_features)`` plus the refit on the selected
    groups, which grows with ``n_groups``, not with ``n_features``. A dense
    ``X`` is copied once (centered).

    Examples
    --------
    >>> import numpy as np
    >>> from omp import GroupOMPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 12))
    >>> y = X[:, 3:6] @ np.array([1.0, -2.0, 1.5])
    >>> model = GroupOMPRegressor(groups=3, n_groups=1).fit(X, y)
    >>> model.support_, round(model.score(X, y), 6)
    (array([1]), 1.0)
    """

    _parameter_constraints = COMMON_CONSTRAINTS

    def __init__(
        self,
        *,
        groups=None,
        n_groups=None,
        fit_intercept=True,
        ridge=0.0,
        refit_tol=1e-8,
        max_refit_iter=100,
        n_threads=None,
    ):
        self.groups = groups
        self.n_groups = n_groups
        self.fit_intercept = fit_intercept
        self.ridge = ridge
        self.refit_tol = refit_tol
        self.max_refit_iter = max_refit_iter
        self.n_threads = n_threads

    def _search(self, datafit, groups, k):
        return group_omp(
            datafit,
            groups,
            k,
            refit_tol=self.refit_tol,
            max_refit_iter=self.max_refit_iter,
            n_threads=self.n_threads,
        )


class GroupOMPRRegressor(_GroupOMPRSearch, _GroupRegressor):
    """Group OMP with replacement for (multi-target) least squares.

    Parameters
    ----------
    groups : None, int, array-like of shape (n_features,) or Groups, default=None
        Feature groups, as in :class:`GroupOMPRegressor`.
    n_groups : int, default=None
        Number of feature groups kept (``k``); default 10%, at least 1.
    fit_intercept : bool, default=True
    ridge : float, default=0.0
    init : {"omp", "threshold"} or array-like, default=("omp", "threshold")
        Initial support(s) of :func:`~omp.group_ompr`.
    n_candidates : int, default=3
    tol : float, default=1e-10
    max_iter : int, default=1000
    refit_tol : float, default=1e-8
    max_refit_iter : int, default=100
    n_threads : int or None, default=None
        As in :class:`GroupOMPRegressor`.

    Attributes
    ----------
    coef_, intercept_, support_, groups_, n_groups_, n_iter_, loss_, result_, \
n_features_in_
        As in :class:`GroupOMPRegressor`.

    See Also
    --------
    omp.group_ompr : the algorithm.

    Notes
    -----
    ``X`` may be dense or a ``scipy.sparse`` matrix (float32 or float64; any
    format, converted to CSC once), the latter with ``fit_intercept=False``
    (centering would fill it). Time and memory are those of
    :func:`~omp.group_ompr` (see its Notes): ``O(nnz(X))`` per step, memory
    ``O(nnz(X) + n_samples + n_features)`` plus the refit on the selected
    groups, which grows with ``n_groups``, not with ``n_features``. A dense
    ``X`` is copied once (centered).

    Examples
    --------
    >>> import numpy as np
    >>> from omp import GroupOMPRRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 20))
    >>> y = X[:, :4] @ np.array([1.0, -1.0, 2.0, 0.5]) + 0.01 * rng.standard_normal(60)
    >>> GroupOMPRRegressor(groups=2, n_groups=2).fit(X, y).support_
    array([0, 1])
    """

    _parameter_constraints = OMPR_CONSTRAINTS

    def __init__(
        self,
        *,
        groups=None,
        n_groups=None,
        fit_intercept=True,
        ridge=0.0,
        init=("omp", "threshold"),
        n_candidates=3,
        tol=1e-10,
        max_iter=1000,
        refit_tol=1e-8,
        max_refit_iter=100,
        n_threads=None,
    ):
        self.groups = groups
        self.n_groups = n_groups
        self.fit_intercept = fit_intercept
        self.ridge = ridge
        self.init = init
        self.n_candidates = n_candidates
        self.tol = tol
        self.max_iter = max_iter
        self.refit_tol = refit_tol
        self.max_refit_iter = max_refit_iter
        self.n_threads = n_threads


class GroupOMPRClassifier(_GroupOMPRSearch, ClassifierMixin, GroupSearchEstimator):
    """Group OMPR for logistic (two classes) and multinomial (more) regression.

    Parameters
    ----------
    groups : None, int, array-like of shape (n_features,) or Groups, default=None
        Feature groups, as in :class:`GroupOMPRegressor`; with ``K > 2`` classes
        a group owns its features' rows of the ``(n_features, K)`` weights.
    n_groups : int, default=None
        Number of feature groups kept (``k``); default 10%, at least 1.
    fit_intercept : bool, default=True
        Add an intercept (a kept group, see the module).
    ridge : float, default=1e-3
        Ridge strength ``>= 0``; the default keeps separable problems bounded.
    init, n_candidates, tol, max_iter, refit_tol, max_refit_iter, n_threads
        As in :class:`GroupOMPRRegressor`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    support_, groups_, n_groups_, n_iter_, loss_, result_, n_features_in_
        As in :class:`GroupOMPRegressor` (``support_`` excludes the intercept).

    See Also
    --------
    omp.group_ompr : the algorithm.

    Notes
    -----
    ``X`` may be dense or a ``scipy.sparse`` matrix (float32 or float64; any
    format, converted to CSC once); the intercept column keeps it sparse. Time
    and memory are those of :func:`~omp.group_ompr` (see its Notes): Newton
    refits on the selected groups' columns only, ``O(nnz(X))`` per round for
    the scores, memory ``O(nnz(X) + (n_samples + n_features) K)`` plus the
    refit, which grows with ``n_groups``, not with ``n_features``.

    Examples
    --------
    >>> import numpy as np
    >>> from omp import GroupOMPRClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 12))
    >>> y = (X[:, 6] + X[:, 7] > 0).astype(int)
    >>> model = GroupOMPRClassifier(groups=2, n_groups=1).fit(X, y)
    >>> model.support_, model.score(X, y) > 0.95
    (array([3]), True)
    """

    _parameter_constraints = OMPR_CONSTRAINTS

    def __init__(
        self,
        *,
        groups=None,
        n_groups=None,
        fit_intercept=True,
        ridge=1e-3,
        init=("omp", "threshold"),
        n_candidates=3,
        tol=1e-10,
        max_iter=1000,
        refit_tol=1e-8,
        max_refit_iter=100,
        n_threads=None,
    ):
        self.groups = groups
        self.n_groups = n_groups
        self.fit_intercept = fit_intercept
        self.ridge = ridge
        self.init = init
        self.n_candidates = n_candidates
        self.tol = tol
        self.max_iter = max_iter
        self.refit_tol = refit_tol
        self.max_refit_iter = max_refit_iter
        self.n_threads = n_threads

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Select ``n_groups`` feature groups and fit the classifier on them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            At least two classes.

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, accept_sparse=SPARSE_FORMATS)
        check_classification_targets(y)
        self.classes_, labels = np.unique(y, return_inverse=True)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(
                "`y` must contain at least 2 classes; got 1 class: "
                f"{self.classes_.tolist()}."
            )
        n_features = X.shape[1]
        self._resolve_groups(n_features)
        columns = [self.groups_[g] for g in range(self.groups_.n_groups)]
        design = X
        if self.fit_intercept:
            ones = np.ones((X.shape[0], 1), X.dtype if sp.issparse(X) else None)
            design = (
                sp.hstack([X, ones], format="csc")
                if sp.issparse(X)
                else np.hstack([X, ones])
            )
            columns.append(np.array([n_features]))
        augmented = Groups.from_indices(columns, design.shape[1])
        n_outputs = 1 if n_classes == 2 else n_classes
        if n_classes == 2:
            datafit = Logistic(design, 2.0 * labels - 1.0, ridge=self.ridge)
        else:
            datafit = Multinomial(design, labels, n_classes=n_classes, ridge=self.ridge)
        keep = [self.groups_.n_groups] if self.fit_intercept else None
        result = self._search(
            datafit,
            coordinate_groups(augmented, n_outputs),
            self.n_groups_ + self.fit_intercept,
            keep=keep,
        )
        weights = result.coef.reshape(design.shape[1], n_outputs)
        self.coef_ = weights[:n_features].T.copy()
        self.intercept_ = (
            weights[n_features].copy() if self.fit_intercept else np.zeros(n_outputs)
        )
        self._store_result(
            result, result.support[result.support < self.groups_.n_groups]
        )
        return self

    def decision_function(self, X):
        """Scores ``X @ coef_.T + intercept_``: shape (n,) for 2 classes, else (n, K).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray
        """
        scores = self._linear_scores(X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities, shape ``(n_samples, n_classes)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            positive = expit(scores)
            return np.column_stack([1.0 - positive, positive])
        return softmax(scores, axis=1)

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]
