import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nonconvex_reg import GroupPenalty, Groups, Logistic, Problem, tau
from nonconvex_reg.testing import groups, lams_near_tau, penalties, problems
from nonconvex_reg.theorem import subadditivity_violation


@settings(max_examples=30, deadline=None)
@given(groups(max_groups=5, max_size=3))
def test_groups_are_a_partition_of_the_features(drawn):
    assert isinstance(drawn, Groups)
    assert drawn.n_groups >= 1
    members = [drawn[g] for g in range(drawn.n_groups)]
    assert all(m.size >= 1 for m in members)
    assert [m.size for m in members] == drawn.sizes.tolist()
    covered = np.concatenate(members)
    # every feature in exactly one group
    assert np.array_equal(np.sort(covered), np.arange(drawn.n_features))


@pytest.mark.parametrize("subadditive", [True, False])
def test_penalties_follow_the_subadditivity_flag(subadditive):
    @settings(max_examples=25, deadline=None)
    @given(penalties(subadditive=subadditive))
    def check(penalty):
        assert isinstance(penalty, GroupPenalty)
        assert penalty.is_subadditive is subadditive
        assert penalty.is_increasing
        violation = subadditivity_violation(penalty)
        if subadditive:
            assert violation <= 1e-12
        else:
            assert violation > 0

    check()


@settings(max_examples=25, deadline=None)
@given(penalties())
def test_unfiltered_penalties_are_group_penalties_with_q_of_zero_zero(penalty):
    assert isinstance(penalty, GroupPenalty)
    assert penalty.value(np.zeros(1))[0] == 0.0


@settings(max_examples=10, deadline=None)
@given(problems(max_groups=4))
def test_problems_are_well_conditioned(problem):
    assert isinstance(problem, Problem)
    datafit, drawn_groups = problem.datafit, problem.groups
    assert datafit.n_features == drawn_groups.n_features
    assert 2 <= drawn_groups.n_groups <= 4
    assert datafit.ridge >= 1e-2
    assert datafit.strong_convexity() >= datafit.ridge > 0
    assert datafit.n_samples >= 3 * datafit.X.shape[1]
    assert problem.true_support.size >= 1


@settings(max_examples=5, deadline=None)
@given(problems(kinds=("logistic",), max_groups=3))
def test_problems_respect_the_requested_kinds(problem):
    assert type(problem.datafit) is Logistic


@settings(max_examples=10, deadline=None)
@given(
    problems(kinds=("least_squares", "logistic"), max_groups=4).flatmap(
        lambda problem: st.tuples(st.just(problem), lams_near_tau(problem))
    )
)
def test_lams_near_tau_lie_just_below_tau(problem_and_lam):
    problem, lam = problem_and_lam
    threshold = tau(problem.datafit, problem.groups)
    assert threshold > 0
    # margin in [1e-3, 5e-2]; 1e-12 absorbs the rounding of (1 - margin) * tau
    assert 0.95 * threshold * (1 - 1e-12) <= lam <= 0.999 * threshold * (1 + 1e-12)
    assert lam < threshold


# Non-regression (issue 2): the "blocks" layout once ignored max_groups/max_size.
@settings(max_examples=80, deadline=None)
@given(groups(max_groups=6, max_size=4))
def test_groups_respect_their_bounds(structure):
    assert structure.n_groups <= 6
    assert structure.sizes.max() <= 4
