"""Disjoint groups {T_i} partitioning the coordinates [n] (arXiv:2402.17902 setup).

A :class:`Groups` object is a validated partition of ``range(n_features)`` into
``n_groups`` nonempty, disjoint groups, stored skglm-style as a pointer array
``ptr`` of length ``n_groups + 1`` and a permutation ``indices`` of the coordinates:
group ``g`` owns ``indices[ptr[g]:ptr[g + 1]]``. Every penalty of the toolkit acts on
the group norms ``a_g = ||beta|_{T_g}||_2`` that :meth:`Groups.norms` computes, and
the group sparsity of Definition B.1 is ``||beta||_group = #{g : a_g != 0}``.

Matrices of coefficients (the d x K weights of multinomial or multi-response
regression) are flattened in C order, so entry ``(i, j)`` is coordinate ``i * K + j``;
:meth:`Groups.from_blocks` tiles such a matrix into B_r x B_c blocks. When a side is
not divisible by the block size, the last row or column of tiles is *ragged*
(smaller), never padded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .validation import check_array, check_int

__all__ = ["Groups", "concatenated_ranges"]


def concatenated_ranges(starts, sizes) -> np.ndarray:
    """The ranges ``[starts[i], starts[i] + sizes[i])`` one after the other.

    The positions of several groups' members in a flat array (``ptr``-style
    storage), gathered without a Python loop.
    """
    starts = np.asarray(starts, dtype=np.intp)
    sizes = np.asarray(sizes, dtype=np.intp)
    within = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.repeat(starts, sizes) + within


_SAFE_MIN = 1e-280
_SAFE_MAX = 1e280


class Groups:
    """A partition of ``range(n_features)`` into nonempty disjoint groups.

    Build it with one of the constructors :meth:`from_sizes`, :meth:`equal`,
    :meth:`from_indices` or :meth:`from_blocks`; the raw constructor takes the
    ``ptr``/``indices`` arrays and validates that they describe a partition.

    Parameters
    ----------
    ptr : array-like of int, shape (n_groups + 1,)
        Group boundaries into ``indices``; ``ptr[0] == 0``, strictly increasing,
        ``ptr[-1] == n_features``.
    indices : array-like of int, shape (n_features,)
        A permutation of ``range(n_features)``.

    Attributes
    ----------
    n_groups : int
        Number of groups t.
    n_features : int
        Number of coordinates n.
    sizes : ndarray of shape (n_groups,)
        Size of each group.
    group_of : ndarray of shape (n_features,)
        Group id of every coordinate.

    Raises
    ------
    ValueError
        If a group is empty, two groups overlap, a coordinate is left out, or an
        index is out of range.

    Examples
    --------
    >>> g = Groups.equal(6, 2)
    >>> g.n_groups, g.sizes.tolist()
    (3, [2, 2, 2])
    >>> g.norms([3.0, 4.0, 0.0, 0.0, 1.0, 0.0]).tolist()
    [5.0, 0.0, 1.0]
    """

    def __init__(self, ptr, indices):
        ptr = np.asarray(ptr)
        indices = np.asarray(indices)
        if ptr.ndim != 1 or ptr.dtype.kind not in "iu" or ptr.size < 2:
            raise ValueError(
                "`ptr` must be a 1-D integer array of length n_groups + 1 >= 2; "
                f"got {ptr.shape} of dtype {ptr.dtype}."
            )
        if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
            raise ValueError(
                f"`indices` must be a 1-D integer array; got shape {indices.shape}."
            )
        n_features = indices.size
        if ptr[0] != 0 or ptr[-1] != n_features:
            raise ValueError(
                f"`ptr` must start at 0 and end at len(indices) = {n_features}; "
                f"got ptr[0] = {ptr[0]}, ptr[-1] = {ptr[-1]}."
            )
        sizes = np.diff(ptr)
        if np.any(sizes <= 0):
            raise ValueError(
                f"every group must be nonempty; group {int(np.argmin(sizes))} is empty."
            )
        if n_features and (indices.min() < 0 or indices.max() >= n_features):
            bad = indices[(indices < 0) | (indices >= n_features)][0]
            raise ValueError(
                f"group indices must lie in [0, {n_features - 1}]; got {int(bad)}."
            )
        counts = np.bincount(indices, minlength=n_features)
        if np.any(counts > 1):
            raise ValueError(
                f"groups must be disjoint; coordinate {int(np.argmax(counts))} "
                f"appears in {int(counts.max())} groups."
            )
        self.ptr = ptr.astype(np.intp)
        self.indices = indices.astype(np.intp)
        self.n_groups = int(sizes.size)
        self.n_features = int(n_features)
        self.sizes = sizes.astype(np.intp)
        self.group_of = np.empty(n_features, dtype=np.intp)
        self.group_of[self.indices] = np.repeat(np.arange(self.n_groups), self.sizes)
        self._contiguous = bool(np.array_equal(self.indices, np.arange(n_features)))
        for array in (self.ptr, self.indices, self.sizes, self.group_of):
            array.flags.writeable = False

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_sizes(cls, sizes: Sequence[int]) -> Groups:
        """Consecutive groups of the given sizes: [0, s0), [s0, s0 + s1), ..."""
        sizes = np.asarray(sizes)
        if sizes.ndim != 1 or sizes.size == 0 or sizes.dtype.kind not in "iu":
            raise ValueError(
                f"`sizes` must be a nonempty 1-D sequence of integers; got {sizes!r}."
            )
        if np.any(sizes <= 0):
            raise ValueError(
                f"`sizes` must be positive integers; got {sizes.tolist()!r}."
            )
        ptr = np.concatenate([[0], np.cumsum(sizes)])
        return cls(ptr, np.arange(ptr[-1]))

    @classmethod
    def equal(cls, n_features: int, group_size: int) -> Groups:
        """``n_features // group_size`` consecutive groups of ``group_size``.

        Raises
        ------
        ValueError
            If ``group_size`` does not divide ``n_features`` (use
            :meth:`from_sizes` for unequal groups).
        """
        n_features = check_int(n_features, "n_features", low=1)
        group_size = check_int(group_size, "group_size", low=1, high=n_features)
        if n_features % group_size:
            raise ValueError(
                f"`group_size` must divide n_features = {n_features}; got "
                f"{group_size}. Use Groups.from_sizes for unequal groups."
            )
        return cls.from_sizes([group_size] * (n_features // group_size))

    @classmethod
    def from_indices(cls, groups: Sequence[Sequence[int]], n_features: int) -> Groups:
        """Groups given as lists of coordinates; they must partition ``n_features``.

        Raises
        ------
        ValueError
            If a list is empty, lists overlap, a coordinate is missing or an index
            is out of ``[0, n_features)``.
        """
        n_features = check_int(n_features, "n_features", low=1)
        lists = [np.asarray(group).ravel() for group in groups]
        if not lists:
            raise ValueError("`groups` must contain at least one group; got none.")
        for g, group in enumerate(lists):
            if group.size == 0:
                raise ValueError(f"every group must be nonempty; group {g} is empty.")
            if group.dtype.kind not in "iu":
                raise ValueError(
                    f"group {g} must hold integer indices; got dtype {group.dtype}."
                )
            if group.min() < 0 or group.max() >= n_features:
                raise ValueError(
                    f"group indices must lie in [0, {n_features - 1}]; "
                    f"group {g} holds {group.tolist()}."
                )
        indices = np.concatenate(lists)
        if indices.size != n_features or np.unique(indices).size != n_features:
            counts = np.bincount(indices, minlength=n_features)
            missing = np.flatnonzero(counts == 0)
            if np.any(counts > 1):
                raise ValueError(
                    f"groups must be disjoint; coordinate {int(np.argmax(counts))} "
                    "appears more than once."
                )
            raise ValueError(
                f"groups must cover every coordinate of [0, {n_features}); "
                f"missing {missing[:10].tolist()}."
            )
        ptr = np.concatenate([[0], np.cumsum([len(g) for g in lists])])
        return cls(ptr, indices)

    @classmethod
    def from_blocks(
        cls, shape: tuple[int, int], block: int | tuple[int, int]
    ) -> Groups:
        """Tile a C-order ``shape[0] x shape[1]`` matrix into blocks.

        Blocks are numbered row-major over the tile grid. Where a side is not
        divisible by the block size, the last tiles on that side are smaller
        (ragged); nothing is padded.

        Parameters
        ----------
        shape : tuple of int
            ``(n_rows, n_cols)`` of the coefficient matrix.
        block : int or tuple of int
            Block size ``B`` (square) or ``(B_r, B_c)``; each side in
            ``[1, matrix side]``.

        Examples
        --------
        >>> g = Groups.from_blocks((3, 4), 2)
        >>> g.n_groups, g.sizes.tolist()
        (4, [4, 4, 2, 2])
        """
        if len(shape) != 2:
            raise ValueError(f"`shape` must be (n_rows, n_cols); got {shape!r}.")
        n_rows = check_int(shape[0], "shape[0]", low=1)
        n_cols = check_int(shape[1], "shape[1]", low=1)
        block_rows, block_cols = (block, block) if np.isscalar(block) else block
        block_rows = check_int(block_rows, "block[0]", low=1, high=n_rows)
        block_cols = check_int(block_cols, "block[1]", low=1, high=n_cols)
        rows = np.arange(n_rows)[:, None] // block_rows
        cols = np.arange(n_cols)[None, :] // block_cols
        tiles_per_row = -(-n_cols // block_cols)
        block_id = (rows * tiles_per_row + cols).ravel()
        order = np.argsort(block_id, kind="stable")
        ptr = np.concatenate([[0], np.cumsum(np.bincount(block_id))])
        return cls(ptr, order)

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return self.n_groups

    def __getitem__(self, g: int) -> np.ndarray:
        """Coordinates of group ``g``."""
        g = (
            check_int(g, "g", low=-self.n_groups, high=self.n_groups - 1)
            % self.n_groups
        )
        return self.indices[self.ptr[g] : self.ptr[g + 1]]

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Groups)
            and np.array_equal(self.ptr, other.ptr)
            and np.array_equal(self.indices, other.indices)
        )

    __hash__ = None

    def __repr__(self) -> str:
        sizes = np.unique(self.sizes)
        size_text = (
            str(sizes[0]) if sizes.size == 1 else f"{sizes.min()}..{sizes.max()}"
        )
        return (
            f"Groups(n_groups={self.n_groups}, n_features={self.n_features}, "
            f"sizes={size_text})"
        )

    def to_dict(self) -> dict:
        """JSON-ready description: the ``ptr`` and ``indices`` arrays as lists."""
        return {"ptr": self.ptr.tolist(), "indices": self.indices.tolist()}

    def check_coef(self, beta, name: str = "beta") -> np.ndarray:
        """Validate a coefficient vector of length ``n_features``; return float64."""
        return check_array(beta, name, shape=(self.n_features,))

    def norms(self, beta) -> np.ndarray:
        """Group norms ``a_g = ||beta|_{T_g}||_2``, shape ``(n_groups,)``.

        A plain sum of squares overflows past ~1e154 and underflows below
        ~1e-154; groups whose sum is not a normal positive float are recomputed
        after scaling by their largest entry, so the result is accurate from
        1e-300 to 1e300.
        """
        beta = np.asarray(beta, dtype=np.float64)
        ordered = beta if self._contiguous else beta[self.indices]
        with np.errstate(over="ignore", under="ignore"):  # handled just below
            sums = np.add.reduceat(ordered * ordered, self.ptr[:-1])
        norms = np.sqrt(sums)
        suspicious = ~((sums >= _SAFE_MIN) & (sums <= _SAFE_MAX))
        if suspicious.any():
            largest = np.maximum.reduceat(np.abs(ordered), self.ptr[:-1])
            redo = suspicious & (largest > 0)
            if redo.any():
                scaled = ordered / np.repeat(
                    np.where(largest > 0, largest, 1.0), self.sizes
                )
                rescaled = np.sqrt(np.add.reduceat(scaled * scaled, self.ptr[:-1]))
                norms[redo] = largest[redo] * rescaled[redo]
        return norms

    def expand(self, per_group) -> np.ndarray:
        """Broadcast one value per group to every coordinate: ``(n_features,)``."""
        return np.asarray(per_group)[self.group_of]

    def coords(self, selected) -> np.ndarray:
        """Sorted coordinates owned by the groups in ``selected`` (ids or bool mask)."""
        selected = np.asarray(selected)
        mask = (
            selected
            if selected.dtype == bool
            else np.isin(np.arange(self.n_groups), selected)
        )
        if mask.shape != (self.n_groups,):
            raise ValueError(
                f"`selected` must index {self.n_groups} groups; got shape {mask.shape}."
            )
        return np.flatnonzero(mask[self.group_of])

    def check_ids(self, selected, name: str = "selected") -> np.ndarray:
        """``selected`` as a 1-D ``intp`` array of group ids in ``[0, n_groups)``.

        Raises
        ------
        ValueError
            Naming ``name``, if ``selected`` is not 1-D, not integer, or holds an
            id out of range.
        """
        ids = np.asarray(selected)
        if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
            raise ValueError(
                f"`{name}` must be a 1-D array of group ids; got shape "
                f"{ids.shape} of dtype {ids.dtype}."
            )
        if ids.size and (ids.min() < 0 or ids.max() >= self.n_groups):
            raise ValueError(
                f"`{name}` must hold group ids in [0, {self.n_groups - 1}]; got "
                f"{ids.min()} .. {ids.max()}."
            )
        return ids.astype(np.intp, copy=False)

    def subset(self, selected) -> tuple[np.ndarray, Groups]:
        """Restrict the partition to some groups.

        Parameters
        ----------
        selected : array-like of int
            Distinct group ids.

        Returns
        -------
        coords : ndarray of int
            Sorted coordinates owned by the selected groups.
        sub_groups : Groups
            Partition of ``range(len(coords))``: its group ``i`` holds the positions
            in ``coords`` of the coordinates of group ``sorted(selected)[i]``.
        """
        selected = np.unique(self.check_ids(selected))
        coords = self.coords(selected)
        position = np.empty(self.n_features, dtype=np.intp)
        position[coords] = np.arange(coords.size)
        sizes = self.sizes[selected]
        members = self.indices[concatenated_ranges(self.ptr[selected], sizes)]
        ptr = np.concatenate([[0], np.cumsum(sizes)])
        return coords, Groups(ptr, position[members])

    def group_sparsity(self, beta) -> int:
        """``||beta||_group``: number of groups with a nonzero entry (Definition B.1).

        This is an exact count of nonzero groups, meant for vectors whose zeros
        are exact (a certified solver output); it applies no threshold.
        """
        return int(np.count_nonzero(self.norms(beta)))
