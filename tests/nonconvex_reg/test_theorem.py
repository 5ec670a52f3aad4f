import json

import pytest
from hypothesis import given, settings

from nonconvex_reg import (
    GroupLassoPenalty,
    LogPenalty,
    LqPenalty,
    TheoremCheck,
    check_lemma_2_4,
    check_lemma_2_5,
    check_theorem_1_1,
    make_problem,
    tau,
)
from nonconvex_reg.penalties import PENALTY_REGISTRY, penalty_examples
from nonconvex_reg.testing import penalties, problems
from nonconvex_reg.theorem import subadditivity_violation

# Increasing, subadditive, q(0) = 0: every registered instance Theorem 1.1 covers.
SUBADDITIVE = [
    penalty
    for family in PENALTY_REGISTRY
    for penalty in family.penalties()
    if penalty.is_subadditive
]
# Negative controls: the registered examples that are not subadditive (the
# Lemma 2.1 penalty and a^2).
CONTROLS = list(penalty_examples(subadditive=False).values())
# The theorem checks enumerate supports, so they use the examples only.
THEOREM_PENALTIES = list(penalty_examples(subadditive=True).values())
HYPOTHESIS_SPARSITY = "group LASSO minimizer has group sparsity <= 1"
FAILS = "outside theorem: conclusion fails"


def _ids(penalties):
    return [repr(p) for p in penalties]


def _assert_confirmed(report):
    assert report.verdict == "confirmed"
    assert report.hypotheses_hold and all(report.hypotheses.values())
    assert report.conclusion_holds and report.global_unique
    assert len(report.global_support) <= 1
    assert report.global_support == report.group_lasso_support
    assert report.distance_to_group_lasso <= 1e-6
    # Lemma 2.4 certificate: (1) >= (2) everywhere, with equality at the minimizer.
    assert abs(report.lower_bound_gap) <= 1e-10


@pytest.fixture(scope="module")
def least_squares():
    return make_problem("least_squares", n_groups=4, seed=0)


@pytest.fixture(scope="module")
def lq_report(least_squares):
    problem = least_squares
    return check_theorem_1_1(problem.datafit, problem.groups, LqPenalty(0.5))


# Lemmas 2.4 and 2.5 and the shape check


@pytest.mark.parametrize("penalty", SUBADDITIVE, ids=_ids(SUBADDITIVE))
def test_lemma_2_4_holds_for_subadditive_penalties(penalty):
    assert penalty.is_subadditive
    assert check_lemma_2_4(penalty) >= -1e-12


@pytest.mark.parametrize("penalty", CONTROLS, ids=_ids(CONTROLS))
def test_lemma_2_4_fails_clearly_for_non_subadditive_controls(penalty):
    assert not penalty.is_subadditive
    # q^{-1}(sum q(a)) falls short of sum a by more than 10% on some draw.
    assert check_lemma_2_4(penalty) < -0.1


@pytest.mark.parametrize(
    "penalty", SUBADDITIVE + CONTROLS, ids=_ids(SUBADDITIVE + CONTROLS)
)
def test_lemma_2_5_inverse_undoes_q_on_one_group(penalty):
    assert check_lemma_2_5(penalty) <= 1e-12


@pytest.mark.parametrize("penalty", SUBADDITIVE, ids=_ids(SUBADDITIVE))
def test_no_subadditivity_violation_for_subadditive_penalties(penalty):
    assert subadditivity_violation(penalty) <= 1e-12


@pytest.mark.parametrize("penalty", CONTROLS, ids=_ids(CONTROLS))
def test_subadditivity_violation_found_for_controls(penalty):
    # Both controls behave like a^2 near 0, where q(2a) = 4 q(a): excess near 1.
    assert subadditivity_violation(penalty) > 0.1


def test_lemma_2_4_is_tight_for_group_lasso():
    # q(a) = a: q^{-1}(sum q(a)) = sum a exactly, so the slack is 0 (not just >= 0).
    assert check_lemma_2_4(GroupLassoPenalty()) == pytest.approx(0.0, abs=1e-12)


# Theorem 1.1


@pytest.mark.parametrize("penalty", THEOREM_PENALTIES, ids=_ids(THEOREM_PENALTIES))
def test_theorem_confirmed_on_least_squares(least_squares, penalty):
    report = check_theorem_1_1(least_squares.datafit, least_squares.groups, penalty)
    _assert_confirmed(report)
    assert report.global_support == [1]
    assert 0 < report.lam < report.tau


@pytest.mark.parametrize(
    "penalty",
    [GroupLassoPenalty(), LqPenalty(0.5), LogPenalty()],
    ids=repr,
)
def test_theorem_confirmed_on_multinomial(penalty):
    problem = make_problem("multinomial", n_groups=4, seed=1)
    report = check_theorem_1_1(problem.datafit, problem.groups, penalty)
    _assert_confirmed(report)
    assert len(report.global_support) == 1


@pytest.mark.parametrize("kind", ["least_squares", "multinomial"])
@pytest.mark.parametrize("penalty", CONTROLS, ids=_ids(CONTROLS))
def test_controls_are_outside_theorem_and_conclusion_fails(kind, penalty):
    problem = make_problem(kind, n_groups=4, seed=0)
    report = check_theorem_1_1(problem.datafit, problem.groups, penalty)
    assert report.verdict == FAILS
    assert not report.hypotheses["q subadditive"]
    assert not report.conclusion_holds
    # a^2-like near 0: the global minimizer of (1) is dense, not the 1-group one.
    assert len(report.global_support) >= 2
    # Without subadditivity, (1) drops below min (2): Lemma 2.4's bound breaks.
    assert report.lower_bound_gap < 0


@pytest.mark.parametrize("penalty", [GroupLassoPenalty(), LqPenalty(0.5)], ids=repr)
def test_lam_above_tau_gives_zero_and_is_confirmed(least_squares, penalty):
    datafit, groups = least_squares.datafit, least_squares.groups
    lam = 1.5 * tau(datafit, groups)
    report = check_theorem_1_1(datafit, groups, penalty, lam=lam)
    assert report.lam == lam
    assert report.group_lasso_support == []
    assert report.hypotheses[HYPOTHESIS_SPARSITY]  # 0 groups <= 1
    assert report.verdict == "confirmed"
    assert report.global_support == []
    assert report.distance_to_group_lasso == 0.0


@pytest.mark.parametrize("penalty", [GroupLassoPenalty(), LqPenalty(0.5)], ids=repr)
def test_lam_far_below_tau_with_dense_group_lasso_is_outside_theorem(penalty):
    problem = make_problem("least_squares", n_groups=4, n_active=3, seed=0)
    datafit, groups = problem.datafit, problem.groups
    lam = 0.05 * tau(datafit, groups)
    report = check_theorem_1_1(datafit, groups, penalty, lam=lam)
    assert len(report.group_lasso_support) >= 2  # the premise of this test
    assert report.hypotheses[HYPOTHESIS_SPARSITY] is False
    assert not report.hypotheses_hold
    assert report.verdict.startswith("outside theorem")
    # Lemma 2.4 still holds for subadditive q: (1) >= min (2).
    assert report.lower_bound_gap >= -1e-10


def test_nonpositive_lam_is_rejected(least_squares):
    with pytest.raises(ValueError, match="`lam`"):
        check_theorem_1_1(
            least_squares.datafit, least_squares.groups, LqPenalty(0.5), lam=0.0
        )


@settings(max_examples=5, deadline=None)
@given(
    problem=problems(kinds=("least_squares", "logistic"), max_groups=4),
    penalty=penalties(subadditive=True),
)
def test_theorem_is_never_violated(problem, penalty):
    # A 'violated' verdict is a counterexample to Theorem 1.1 or a solver bug.
    report = check_theorem_1_1(problem.datafit, problem.groups, penalty)
    assert report.verdict != "violated"
    assert report.verdict in (
        "confirmed",
        "outside theorem: conclusion holds",
        FAILS,
    )
    assert report.hypotheses["q subadditive"]
    assert report.lower_bound_gap >= -1e-9


# The report object


def test_report_to_dict_is_json_serializable(lq_report):
    assert isinstance(lq_report, TheoremCheck)
    decoded = json.loads(json.dumps(lq_report.to_dict()))
    assert decoded["verdict"] == "confirmed"
    assert decoded["hypotheses_hold"] is True
    assert decoded["global_support"] == lq_report.global_support
    assert decoded["hypotheses"] == lq_report.hypotheses
    assert decoded["lam"] == lq_report.lam


def test_report_markdown_is_a_table_of_every_field(lq_report):
    text = lq_report._repr_markdown_()
    assert isinstance(text, str)
    lines = text.splitlines()
    assert lines[0] == "| field | value |"
    assert lines[1] == "|---|---|"
    assert len(lines) == 2 + len(lq_report.to_dict())
    assert "| verdict | confirmed |" in lines
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines[2:])


# Non-regression (issue 2): empty or out-of-range margins once raised
# UnboundLocalError or an error naming `lam`.
@pytest.mark.parametrize("margins", [(), (1.5,), (0.0,)])
def test_bad_margins_are_rejected_by_name(margins):
    problem = make_problem("least_squares", n_groups=3, seed=0)
    with pytest.raises(ValueError, match="`margins`"):
        check_theorem_1_1(
            problem.datafit, problem.groups, LqPenalty(0.5), margins=margins
        )
