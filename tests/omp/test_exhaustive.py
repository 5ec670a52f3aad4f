import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nonconvex_reg import Groups, LeastSquares, make_problem
from nonconvex_reg.testing import problems
from omp import best_subset, group_ompr


def _brute_force_least_squares(X, y, groups, k):
    """Every support of k groups solved by numpy's lstsq."""
    losses = {}
    for support in itertools.combinations(range(groups.n_groups), k):
        cols = groups.coords(np.array(support, dtype=int))
        coef = np.linalg.lstsq(X[:, cols], y, rcond=None)[0] if cols.size else []
        residual = y - (X[:, cols] @ coef if cols.size else 0.0)
        losses[support] = residual @ residual / (2 * len(y))
    return losses


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(0, 6))
def test_matches_brute_force_least_squares(seed, k):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((30, 12))
    y = rng.standard_normal(30)
    groups = Groups.from_sizes([1, 2, 3, 1, 2, 3])
    losses = _brute_force_least_squares(X, y, groups, k)
    result = best_subset(LeastSquares(X, y), groups, k)
    best = min(losses, key=losses.get)
    assert result.support.tolist() == list(best)
    assert result.loss == pytest.approx(losses[best], rel=1e-10, abs=1e-14)
    assert result.status == "enumerated"
    assert result.info["n_supports"] == len(losses)
    others = sorted(losses.values())[1:]
    assert result.info["runner_up_loss"] == pytest.approx(
        others[0] if others else np.inf, rel=1e-10
    )


@settings(max_examples=20, deadline=None)
@given(problems(max_groups=5), st.data())
def test_no_search_beats_the_oracle(problem, data):
    k = data.draw(st.integers(1, problem.groups.n_groups))
    best = best_subset(problem.datafit, problem.groups, k)
    ompr = group_ompr(problem.datafit, problem.groups, k)
    assert best.loss <= ompr.loss * (1 + 1e-9) + 1e-12


def test_ties_go_to_the_first_support():
    X = np.hstack([np.eye(4), np.eye(4)])  # groups 0 and 1 are identical
    result = best_subset(LeastSquares(X, np.arange(1.0, 5.0)), Groups.equal(8, 4), 1)
    assert result.support.tolist() == [0]
    assert result.info["runner_up_loss"] == pytest.approx(result.loss, abs=1e-14)


def test_too_many_supports_are_refused_by_name():
    problem = make_problem(n_groups=20, group_size=1, seed=0)
    with pytest.raises(
        ValueError,
        match=r"C\(20, 10\) = 184756 supports.*"
        r"`max_supports` = 1000",
    ):
        best_subset(problem.datafit, problem.groups, 10, max_supports=1000)
