"""Argument checks shared by every search of :mod:`omp`.

Messages follow the toolkit's form ("`name` must be <range>; got <value>."), and
nothing is clipped or coerced: ``k`` larger than the number of groups is an
error, not "all groups".
"""

from __future__ import annotations

import numpy as np

from nonconvex_reg import Datafit, Groups
from nonconvex_reg.validation import check_int

__all__ = ["check_k", "check_problem", "check_support"]


def check_problem(datafit, groups) -> None:
    """Check that ``groups`` partitions the coefficients of ``datafit``.

    Raises
    ------
    TypeError
        If ``datafit`` is not a :class:`~nonconvex_reg.Datafit` or ``groups`` not
        a :class:`~nonconvex_reg.Groups`.
    ValueError
        If ``groups.n_features != datafit.n_features``.
    """
    if not isinstance(datafit, Datafit):
        raise TypeError(
            f"`datafit` must be a nonconvex_reg Datafit; got {type(datafit).__name__}."
        )
    if not isinstance(groups, Groups):
        raise TypeError(f"`groups` must be a Groups; got {type(groups).__name__}.")
    if groups.n_features != datafit.n_features:
        raise ValueError(
            f"`groups` must partition the datafit's {datafit.n_features} "
            f"coefficients; got a partition of {groups.n_features} ({groups!r})."
        )


def check_k(k, n_groups: int, name: str = "k", low: int = 0) -> int:
    """``k`` as an int in ``[low, n_groups]``.

    Raises
    ------
    TypeError
        If ``k`` is not an integer.
    ValueError
        If ``k`` is outside ``[low, n_groups]``.
    """
    return check_int(k, name, low=low, high=n_groups)


def check_support(support, n_groups: int, size: int, name: str) -> list[int]:
    """Distinct group ids in ``[0, n_groups)``, exactly ``size`` of them.

    Raises
    ------
    ValueError
        If ``support`` has the wrong length, repeats a group or names a group
        outside ``[0, n_groups)``.
    """
    ids = np.asarray(support)
    if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
        raise ValueError(
            f"`{name}` must be a 1-D sequence of group ids; got {support!r}."
        )
    if ids.size != size:
        raise ValueError(f"`{name}` must name exactly {size} groups; got {ids.size}.")
    if ids.size and (ids.min() < 0 or ids.max() >= n_groups):
        raise ValueError(
            f"`{name}` must hold group ids in [0, {n_groups - 1}]; got {ids.tolist()}."
        )
    if np.unique(ids).size != ids.size:
        raise ValueError(f"`{name}` must not repeat a group; got {ids.tolist()}.")
    return [int(g) for g in ids]
