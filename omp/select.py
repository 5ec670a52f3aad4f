"""The one selection rule of the project: keep the k highest-scoring groups.

Every method in ``sapp`` chooses a support the same way and differs only in its
scores (DESIGN.md, "The selection rule"): group OMP and OMPR score a group ``T`` by
its gradient norm ``||grad_T L(beta)||_2`` (Algorithm 2 of arXiv:2402.17902,
Appendix B), SequentialAttention++ by its softmax attention ``A_T`` (Algorithm 1
and Section 3), magnitude pruning and ACDC by the Frobenius norm of the block
(the baselines of Section 4).

The rule is a total order: higher score first, and among equal scores the lower
group index first, so a selection is reproducible across runs, platforms and
devices. Two optional constraints:

* ``keep``: groups that are always selected (OMPR never drops the groups it is
  told to keep; unpenalized groups of Algorithm 2).
* ``candidates``: only these groups (plus ``keep``) may be selected (the
  monotone pruning of the sparsification phase, Section 3.1, selects among the
  blocks still alive; the monotone reading is ours).

It accepts NumPy arrays and torch tensors; a tensor stays on its device and the
selection runs there without copying scores to the host.
"""

from __future__ import annotations

import numbers
import sys

import numpy as np

__all__ = ["top_k_groups"]


def _is_tensor(value) -> bool:
    # torch is a dependency of the package, but the numerical core never needs
    # it: a tensor can only have been passed if torch is already imported.
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _check_k(k, n_groups):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"`k` must be an integer; got {k!r}.")
    if not 0 <= k <= n_groups:
        raise ValueError(
            f"`k` must be in [0, {n_groups}] (the number of groups); got {k}."
        )
    return int(k)


def _as_flags(groups, name, n_groups, like):
    """Boolean flags of length ``n_groups`` from a mask or an index list."""
    if groups is None:
        return None
    if _is_tensor(like):
        import torch

        flags = torch.as_tensor(groups, device=like.device)
        if flags.dtype != torch.bool:
            if flags.dtype.is_floating_point or flags.dtype.is_complex:
                raise TypeError(
                    f"`{name}` must be a boolean mask or integer indices; "
                    f"got dtype {flags.dtype}."
                )
            indices = flags.reshape(-1).long()
            flags = torch.zeros(n_groups, dtype=torch.bool, device=like.device)
            flags[indices] = True
        return _check_flag_shape(flags, name, n_groups)
    flags = np.asarray(groups)
    if flags.dtype != bool:
        if not np.issubdtype(flags.dtype, np.integer):
            raise TypeError(
                f"`{name}` must be a boolean mask or integer indices; "
                f"got dtype {flags.dtype}."
            )
        indices = flags.reshape(-1)
        if indices.size and (indices.min() < 0 or indices.max() >= n_groups):
            raise ValueError(
                f"`{name}` indices must be in [0, {n_groups - 1}]; "
                f"got {indices.tolist()}."
            )
        flags = np.zeros(n_groups, dtype=bool)
        flags[indices] = True
    return _check_flag_shape(flags, name, n_groups)


def _check_flag_shape(flags, name, n_groups):
    if tuple(flags.shape) != (n_groups,):
        raise ValueError(
            f"`{name}` as a mask must have shape ({n_groups},); "
            f"got {tuple(flags.shape)}."
        )
    return flags


def top_k_groups(scores, k, *, candidates=None, keep=None, validate=True):
    """Indices of the ``k`` selected groups, best first.

    The order is: groups in ``keep`` first, then the eligible groups (``candidates``
    or all) by decreasing score; ties go to the lower index.

    Parameters
    ----------
    scores : ndarray or torch.Tensor of shape (n_groups,)
        Finite group scores; larger means more important.
    k : int
        Number of groups to select, in ``[0, n_groups]``.
    candidates : array-like of bool of shape (n_groups,) or of int, optional
        Groups that may be selected (a mask or indices); default all.
    keep : array-like of bool of shape (n_groups,) or of int, optional
        Groups that are always selected; at most ``k`` of them.
    validate : bool, default=True
        Check that the scores are finite and that enough groups are eligible.
        With a CUDA tensor these checks copy a flag to the host; a caller in a
        training hot path that guarantees both by construction passes ``False``.

    Returns
    -------
    ndarray of int64 or torch.Tensor of int64, of shape (k,)
        Selected group indices, same array type and device as ``scores``.

    Raises
    ------
    ValueError
        If ``scores`` is not a finite 1-D array, ``k`` is out of range, ``keep``
        has more than ``k`` groups, or fewer than ``k`` groups are eligible.

    Examples
    --------
    >>> import numpy as np
    >>> from omp.select import top_k_groups
    >>> top_k_groups(np.array([0.5, 2.0, 2.0, 1.0]), 2)
    array([1, 2])
    >>> top_k_groups(np.array([0.5, 2.0, 2.0, 1.0]), 2, keep=[0])
    array([0, 1])
    >>> top_k_groups(np.array([0.5, 2.0, 2.0, 1.0]), 2, candidates=[0, 3])
    array([3, 0])
    """
    tensor = _is_tensor(scores)
    if not tensor:
        scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1:
        raise ValueError(
            f"`scores` must be 1-D (one score per group); got shape "
            f"{tuple(scores.shape)}."
        )
    n_groups = int(scores.shape[0])
    k = _check_k(k, n_groups)
    keep = _as_flags(keep, "keep", n_groups, scores)
    candidates = _as_flags(candidates, "candidates", n_groups, scores)
    if validate:
        _check_selectable(scores, k, candidates, keep, tensor)
    # Tier 2: kept; tier 1: eligible; tier 0: excluded. Sort by (tier, score)
    # descending with index ascending on ties: a stable sort by score, then a
    # stable sort by tier.
    if tensor:
        import torch

        tier = torch.ones(n_groups, dtype=torch.int8, device=scores.device)
        if candidates is not None:
            tier = candidates.to(torch.int8)
        if keep is not None:
            tier = torch.where(keep, torch.full_like(tier, 2), tier)
        by_score = torch.sort(scores, descending=True, stable=True).indices
        by_tier = torch.sort(tier[by_score], descending=True, stable=True).indices
        return by_score[by_tier][:k]
    tier = np.ones(n_groups, dtype=np.int8)
    if candidates is not None:
        tier = candidates.astype(np.int8)
    if keep is not None:
        tier = np.where(keep, 2, tier).astype(np.int8)
    order = np.lexsort((np.arange(n_groups), -scores, -tier))
    return order[:k].astype(np.int64)


def _check_selectable(scores, k, candidates, keep, tensor):
    """Finite scores, ``|keep| <= k`` and ``|keep or candidates| >= k``."""
    if tensor:
        import torch

        finite = bool(torch.isfinite(scores).all())
    else:
        finite = bool(np.isfinite(scores).all())
    if not finite:
        raise ValueError("`scores` must be finite; got NaN or infinite entries.")
    n_keep = 0 if keep is None else int(keep.sum())
    if n_keep > k:
        raise ValueError(f"`keep` must name at most k={k} groups; got {n_keep}.")
    n_eligible = scores.shape[0]
    if candidates is not None:
        n_eligible = int((candidates if keep is None else candidates | keep).sum())
    if n_eligible < k:
        raise ValueError(
            f"`k` must be at most the number of eligible groups (candidates and "
            f"kept), {n_eligible}; got {k}."
        )
