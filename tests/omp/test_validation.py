import numpy as np
import pytest

from omp._validation import check_k, check_support


def test_check_k_accepts_the_closed_range_only():
    assert check_k(np.int64(3), 3) == 3
    with pytest.raises(ValueError, match=r"`k` must be an integer in \[0, 3\]; got 4"):
        check_k(4, 3)
    with pytest.raises(TypeError, match="`k` must be an integer; got 1.5"):
        check_k(1.5, 3)


@pytest.mark.parametrize(
    ("support", "match"),
    [
        ([0, 1, 2], "must name exactly 2 groups; got 3"),
        ([1, 1], "must not repeat a group"),
        ([0, 5], r"must hold group ids in \[0, 4\]"),
        ([0.0, 1.0], "must be a 1-D sequence of group ids"),
        ([[0, 1]], "must be a 1-D sequence of group ids"),
    ],
)
def test_check_support_names_the_argument(support, match):
    with pytest.raises(ValueError, match=f"`init` {match}"):
        check_support(support, 5, 2, "init")


def test_check_support_returns_python_ints_in_order():
    assert check_support(np.array([3, 0]), 5, 2, "init") == [3, 0]
