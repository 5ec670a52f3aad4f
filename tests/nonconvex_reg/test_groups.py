import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nonconvex_reg import Groups
from nonconvex_reg.groups import concatenated_ranges
from nonconvex_reg.testing import groups as group_structures


@settings(max_examples=60, deadline=None)
@given(group_structures(max_groups=8, max_size=5))
def test_partition_invariants(groups):
    # every coordinate belongs to exactly one nonempty group
    assert groups.sizes.min() >= 1
    assert np.array_equal(np.sort(groups.indices), np.arange(groups.n_features))
    for g in range(groups.n_groups):
        assert np.all(groups.group_of[groups[g]] == g)


@settings(max_examples=60, deadline=None)
@given(group_structures(max_groups=8, max_size=5))
def test_norms_match_definition(groups):
    beta = np.random.default_rng(groups.n_features).standard_normal(groups.n_features)
    expected = [np.linalg.norm(beta[groups[g]]) for g in range(groups.n_groups)]
    np.testing.assert_allclose(groups.norms(beta), expected, rtol=1e-14)


@settings(max_examples=40, deadline=None)
@given(group_structures(max_groups=8, max_size=5))
def test_subset_keeps_group_layout(groups):
    selected = np.arange(0, groups.n_groups, 2)
    coords, sub = groups.subset(selected)
    beta = np.arange(groups.n_features, dtype=float) + 1.0
    np.testing.assert_allclose(sub.norms(beta[coords]), groups.norms(beta)[selected])


@settings(max_examples=40, deadline=None)
@given(group_structures(max_groups=8, max_size=5), st.data())
def test_subset_matches_its_definition_group_by_group(groups, data):
    selected = data.draw(
        st.lists(
            st.integers(0, groups.n_groups - 1),
            min_size=1,
            max_size=2 * groups.n_groups,
        )
    )
    coords, sub = groups.subset(selected)
    chosen = sorted(set(selected))
    np.testing.assert_array_equal(
        coords, np.sort(np.concatenate([groups[g] for g in chosen] + [[]])).astype(int)
    )
    assert sub.n_groups == len(chosen)
    for i, g in enumerate(chosen):
        np.testing.assert_array_equal(coords[sub[i]], groups[g])


def test_subset_rejects_unknown_group_ids():
    groups = Groups.equal(6, 2)
    for bad in ([3], [-1], [0, 5], [[0]], [0.5]):
        with pytest.raises(ValueError, match="`selected`"):
            groups.subset(bad)


def test_concatenated_ranges_is_the_loop_it_replaces():
    starts, sizes = [5, 0, 9, 2], [2, 0, 3, 1]
    expected = np.concatenate(
        [np.arange(a, a + n) for a, n in zip(starts, sizes, strict=True)]
    )
    np.testing.assert_array_equal(concatenated_ranges(starts, sizes), expected)
    assert concatenated_ranges([], []).size == 0


def test_norms_do_not_overflow_or_underflow():
    groups = Groups.equal(4, 2)
    np.testing.assert_allclose(
        groups.norms([3e200, 4e200, 3e-200, 4e-200]), [5e200, 5e-200], rtol=1e-14
    )


def test_from_blocks_ragged_edge_tiles():
    # Criteo's 390 x 400 layer with 20-wide blocks: the last row of tiles is 10 high.
    groups = Groups.from_blocks((390, 400), 20)
    assert groups.n_groups == 20 * 20
    assert sorted(set(groups.sizes.tolist())) == [200, 400]
    assert groups.sizes.sum() == 390 * 400


def test_group_sparsity_counts_exact_zeros():
    groups = Groups.equal(6, 2)
    assert groups.group_sparsity([0, 0, 1e-300, 0, 0, 0]) == 1


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Groups.from_indices([[0, 1], [1, 2]], 3), "disjoint"),
        (lambda: Groups.from_indices([[0], [2]], 3), "cover"),
        (lambda: Groups.from_indices([[0, 1], []], 2), "nonempty"),
        (lambda: Groups.from_indices([[0, 5]], 2), r"\[0, 1\]"),
        (lambda: Groups.equal(10, 3), "divide"),
        (lambda: Groups.from_sizes([2, 0]), "positive"),
        (lambda: Groups.from_blocks((4, 4), 5), "block"),
        (lambda: Groups([0, 2, 1], [0, 1]), "nonempty|end"),
    ],
)
def test_bad_partitions_are_rejected(build, match):
    with pytest.raises(ValueError, match=match):
        build()
