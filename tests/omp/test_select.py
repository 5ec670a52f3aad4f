import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from omp import top_k_groups


def _reference(scores, k, candidates=None, keep=None):
    """Brute force: sort (tier, score, -index) descending with Python's sort."""
    n = len(scores)
    tier = [1] * n if candidates is None else [int(c) for c in candidates]
    if keep is not None:
        tier = [2 if kept else t for t, kept in zip(tier, keep, strict=True)]
    order = sorted(range(n), key=lambda i: (-tier[i], -scores[i], i))
    return order[:k]


score_arrays = arrays(
    float,
    st.integers(1, 30),
    elements=st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0, 3.5]),  # many ties
)


@given(score_arrays, st.data())
def test_matches_brute_force_order(scores, data):
    n = len(scores)
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    candidates = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    n_eligible = int((keep | candidates).sum())
    k = data.draw(st.integers(int(keep.sum()), n_eligible))
    got = top_k_groups(scores, k, candidates=candidates, keep=keep)
    assert got.tolist() == _reference(scores.tolist(), k, candidates, keep)


@given(score_arrays, st.data())
def test_torch_matches_numpy(scores, data):
    k = data.draw(st.integers(0, len(scores)))
    expected = top_k_groups(scores, k)
    got = top_k_groups(torch.from_numpy(scores), k)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.int64
    assert got.tolist() == expected.tolist()


def test_torch_candidates_and_keep_as_indices():
    scores = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0])
    got = top_k_groups(scores, 3, candidates=torch.tensor([2, 3, 4]), keep=[4])
    assert got.tolist() == [4, 2, 3]


def test_ties_go_to_lower_index():
    assert top_k_groups(np.ones(5), 3).tolist() == [0, 1, 2]


def test_k_zero_and_all():
    scores = np.array([3.0, 1.0, 2.0])
    assert top_k_groups(scores, 0).tolist() == []
    assert top_k_groups(scores, 3).tolist() == [0, 2, 1]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scores": np.ones(3), "k": 4}, ValueError, r"`k` must be in \[0, 3\]"),
        ({"scores": np.ones(3), "k": -1}, ValueError, "`k` must be in"),
        ({"scores": np.ones(3), "k": 1.0}, TypeError, "`k` must be an integer"),
        ({"scores": np.ones((2, 2)), "k": 1}, ValueError, "`scores` must be 1-D"),
        ({"scores": np.array([1.0, np.nan]), "k": 1}, ValueError, "finite"),
        ({"scores": np.ones(3), "k": 1, "keep": [0, 1]}, ValueError, "`keep`"),
        (
            {"scores": np.ones(3), "k": 2, "candidates": [0]},
            ValueError,
            "eligible groups",
        ),
        ({"scores": np.ones(3), "k": 1, "keep": [3]}, ValueError, "`keep` indices"),
        (
            {"scores": np.ones(3), "k": 1, "keep": np.ones(2, bool)},
            ValueError,
            r"shape \(3,\)",
        ),
        ({"scores": np.ones(3), "k": 1, "keep": [0.5]}, TypeError, "boolean mask"),
        (
            {"scores": torch.tensor([1.0, float("inf")]), "k": 1},
            ValueError,
            "finite",
        ),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        top_k_groups(**kwargs)


def test_validate_false_skips_the_host_checks():
    # The hot-path mode trusts the caller; the result is still k indices.
    scores = torch.tensor([1.0, 2.0, 3.0])
    assert top_k_groups(scores, 2, validate=False).tolist() == [2, 1]
