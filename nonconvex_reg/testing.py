"""Hypothesis strategies for property-based tests of group-sparse problems.

Our own tests use these, and they are public so users can write theirs:

>>> from hypothesis import given, settings
>>> from nonconvex_reg.testing import problems
>>> @settings(max_examples=3, deadline=None)
... @given(problems(kinds=("least_squares",)))
... def test_tau_is_positive(problem):
...     from nonconvex_reg import tau
...     assert tau(problem.datafit, problem.groups) > 0
>>> test_tau_is_positive()

Strategies
----------
groups(max_groups, max_size)
    Random partitions: contiguous, shuffled, or B x B tilings with ragged edges.
penalties(subadditive=None)
    Every family of ``PENALTY_REGISTRY`` with random
    hyperparameters from its ``ranges``; ``subadditive=True`` keeps those Theorem
    1.1 covers, ``False`` the negative controls (by the declared
    ``is_subadditive``).
problems(kinds, max_groups, sparse=False)
    Well-conditioned problems of each datafit (``n_samples`` at least three times
    the columns of ``X``, ``ridge`` in [1e-2, 1]), whose strong-convexity constant
    ``problem.datafit.strong_convexity() >= ridge > 0`` is known. ``sparse=True``
    draws a scipy.sparse CSC design with a density in [0.2, 0.8], ``None``
    either storage.
twin_problems(kinds, max_groups)
    Pairs ``(dense, sparse)`` of the same problem: one seed, the same values of
    ``X`` stored as an array and as a CSC matrix, for tests that both storages
    agree.
lams_near_tau(problem)
    ``lam = (1 - margin) tau`` with ``margin`` in [1e-3, 5e-2], the regime of
    Theorem 1.1.

Registries
----------
MASK_REGISTRY
    One instance of every mask family (powerprop at three exponents), for
    contract tests parametrized over all masks: adding a mask here enrols it.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .datasets import DATAFIT_KINDS, make_problem
from .groups import Groups
from .masks import IdentityMask, L1Mask, PowerPropMask, SoftmaxMask
from .penalties import PENALTY_REGISTRY
from .solvers import tau

__all__ = [
    "MASK_REGISTRY",
    "groups",
    "lams_near_tau",
    "penalties",
    "problems",
    "twin_problems",
]

#: One instance of every mask family (powerprop at three exponents).
MASK_REGISTRY = (
    IdentityMask(),
    SoftmaxMask(),
    L1Mask(),
    PowerPropMask(1.5),
    PowerPropMask(2.0),
    PowerPropMask(3.0),
)


@st.composite
def groups(draw, max_groups=6, max_size=4) -> Groups:
    """A random :class:`Groups`: contiguous, shuffled or a ragged block tiling."""
    layout = draw(st.sampled_from(("contiguous", "shuffled", "blocks")))
    if layout == "blocks":
        # At most max_groups tiles of at most max_size entries; the last row and
        # column of tiles may be ragged (smaller).
        block_rows = draw(st.integers(1, max_size))
        block_cols = draw(st.integers(1, max_size // block_rows))
        tile_rows = draw(st.integers(1, max_groups))
        tile_cols = draw(st.integers(1, max_groups // tile_rows))
        n_rows = draw(
            st.integers((tile_rows - 1) * block_rows + 1, tile_rows * block_rows)
        )
        n_cols = draw(
            st.integers((tile_cols - 1) * block_cols + 1, tile_cols * block_cols)
        )
        # A single tile along a side spans that whole (possibly shorter) side.
        block = (min(block_rows, n_rows), min(block_cols, n_cols))
        return Groups.from_blocks((n_rows, n_cols), block)
    sizes = draw(st.lists(st.integers(1, max_size), min_size=1, max_size=max_groups))
    contiguous = Groups.from_sizes(sizes)
    if layout == "contiguous":
        return contiguous
    perm = np.array(draw(st.permutations(range(contiguous.n_features))))
    return Groups.from_indices(
        [perm[contiguous[g]] for g in range(contiguous.n_groups)],
        contiguous.n_features,
    )


def penalties(subadditive: bool | None = None):
    """Every registered penalty family, optionally filtered on subadditivity.

    A draw picks a family of ``PENALTY_REGISTRY``,
    then one of its ``ranges`` boxes and a value in each interval. With
    ``subadditive`` set, only families with a registered instance on the
    requested side of Theorem 1.1 are drawn, and draws are filtered on the
    declared ``is_subadditive``.
    """
    if subadditive is not None:
        subadditive = bool(subadditive)
    families = [
        family
        for family in PENALTY_REGISTRY
        if subadditive is None
        or any(p.is_subadditive is subadditive for p in family.penalties())
    ]
    drawn = st.one_of(
        [
            st.fixed_dictionaries(
                {name: st.floats(low, high) for name, (low, high) in box.items()}
            ).map(lambda params, family=family: family.make(**params))
            for family in families
            for box in family.ranges
        ]
    )
    if subadditive is None:
        return drawn
    return drawn.filter(lambda penalty: penalty.is_subadditive is subadditive)


def _problem_settings(draw, kinds, max_groups):
    """Keyword arguments of :func:`~nonconvex_reg.datasets.make_problem`."""
    kind = draw(st.sampled_from(tuple(kinds)))
    n_groups = draw(st.integers(2, max_groups))
    group_size = draw(st.integers(1, 3))
    n_features_in = n_groups * group_size
    return {
        "kind": kind,
        "n_samples": draw(st.integers(3 * n_features_in, 6 * n_features_in)),
        "n_groups": n_groups,
        "group_size": group_size,
        "n_active": draw(st.integers(1, n_groups)),
        "ridge": draw(st.floats(1e-2, 1.0)),
        "seed": draw(st.integers(0, 2**31 - 1)),
    }


@st.composite
def problems(draw, kinds=DATAFIT_KINDS, max_groups=5, sparse=False):
    """A seeded, well-conditioned :class:`~nonconvex_reg.datasets.Problem`.

    ``sparse``: False (dense Gaussian design), True (CSC design with a density
    in [0.2, 0.8]) or None (either).
    """
    settings = _problem_settings(draw, kinds, max_groups)
    if sparse is None:
        sparse = draw(st.booleans())
    if sparse:
        settings.update(density=draw(st.floats(0.2, 0.8)), sparse=True)
    return make_problem(**settings)


@st.composite
def twin_problems(draw, kinds=DATAFIT_KINDS, max_groups=5):
    """``(dense, sparse)``: one problem with its design stored both ways."""
    settings = _problem_settings(draw, kinds, max_groups)
    settings["density"] = draw(st.floats(0.2, 0.8))
    return (make_problem(**settings), make_problem(**settings, sparse=True))


def lams_near_tau(problem):
    """``lam`` just below ``tau`` of ``problem``, the regime of Theorem 1.1."""
    threshold = tau(problem.datafit, problem.groups)
    return st.floats(1e-3, 5e-2).map(lambda margin: (1.0 - margin) * threshold)
