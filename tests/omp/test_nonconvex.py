import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.linalg import LinAlgError

from nonconvex_reg import Groups, LeastSquares, LqPenalty, make_problem
from nonconvex_reg.datasets import DATAFIT_KINDS
from nonconvex_reg.penalties import penalty_examples
from nonconvex_reg.testing import penalties, problems
from omp import group_ompr, ompr_nonconvex
from omp.nonconvex import lipschitz, nonconvex_selection
from omp.refit import make_refit

SUBADDITIVE = tuple(penalty_examples(subadditive=True).values())
CONTROLS = tuple(penalty_examples(subadditive=False).values())


def test_selection_agrees_with_the_gradient_rule_on_many_instances():
    # Issue 3: the paper's link between differentiable pruning and OMP. Every
    # selection of Algorithm 2 (greedy growth, then swaps) over 64 seeded
    # instances of all four datafits is compared with argmax ||grad_T L||.
    selections, disagreements, uncertified = 0, [], 0
    for seed in range(16):
        for kind in DATAFIT_KINDS:
            problem = make_problem(
                kind,
                n_samples=50,
                n_groups=8,
                group_size=2,
                n_active=3,
                correlation=0.4,
                seed=seed,
            )
            result = ompr_nonconvex(
                problem.datafit,
                problem.groups,
                3,
                penalty=SUBADDITIVE[seed % len(SUBADDITIVE)],
            )
            selections += result.info["n_selections"]
            uncertified += result.info["n_uncertified"]
            disagreements += [(kind, seed, d) for d in result.info["disagreements"]]
    assert selections >= 64 * 3
    assert disagreements == [], f"{len(disagreements)} of {selections}: {disagreements}"
    assert uncertified == 0


@settings(max_examples=40, deadline=None)
@given(problems(max_groups=6), penalties(subadditive=True), st.data())
def test_selection_at_any_support_is_the_argmax_gradient_group(problem, penalty, data):
    groups = problem.groups
    size = data.draw(st.integers(0, groups.n_groups - 1))
    support = data.draw(st.permutations(range(groups.n_groups)))[:size]
    refit = make_refit(problem.datafit, groups, tol=1e-10)
    refit.fit(support)
    outcome = nonconvex_selection(refit, penalty)
    if outcome["group"] is None:  # tau_S = 0: beta_S is already optimal
        assert outcome["tau"] <= 1e-12
        return
    assert outcome["certified"] and outcome["new_groups"] == 1
    assert outcome["group"] == outcome["gradient_rule"], outcome
    assert outcome["group"] not in support
    assert outcome["kkt"] <= 1e-8


def _orthogonal_problem(second_norm):
    """Two orthogonal groups whose gradient norms at 0 are 1 and ``second_norm``."""
    rng = np.random.default_rng(0)
    n = 40
    Q = np.linalg.qr(rng.standard_normal((n, 8)))[0]
    X = np.sqrt(n) * Q
    coef = np.array([1.0, 0.0, second_norm, 0.0, 0.1, 0.0, 0.0, 0.05])
    y = X @ coef  # grad L(0) = -X^T y / n = -coef
    return LeastSquares(X, y), Groups.equal(8, 2)


def test_margin_shrinks_until_one_group_enters():
    datafit, groups = _orthogonal_problem(1.0 - 1e-5)
    outcome = nonconvex_selection(make_refit(datafit, groups), LqPenalty(0.5))
    assert outcome["gradient_rule"] == 0 and outcome["group"] == 0
    assert outcome["certified"]
    assert outcome["lam_margin"] < 1e-5  # 1e-3 lets both near-tied groups in


def test_exact_tie_is_reported_uncertified():
    # The one place the two rules may differ: with tied gradient norms both
    # groups enter at every margin, the nonconvex subproblem has one minimizer
    # per tied group, and which one each rule picks is decided by rounding (or,
    # for exactly equal scores, by the index). The selection says so.
    datafit, groups = _orthogonal_problem(1.0)
    outcome = nonconvex_selection(make_refit(datafit, groups), LqPenalty(0.5))
    assert outcome["new_groups"] == 2 and not outcome["certified"]
    assert outcome["lam_margin"] < 1e-8
    assert {outcome["gradient_rule"], outcome["group"]} <= {0, 1}


def test_optimal_support_stops_the_search():
    datafit, groups = _orthogonal_problem(0.0)
    datafit = LeastSquares(datafit.X, datafit.X[:, :2] @ [1.0, -1.0])
    result = ompr_nonconvex(datafit, groups, 1, init=[0])
    assert result.status == "converged" and result.loss == pytest.approx(0, abs=1e-20)
    assert result.info["n_selections"] == 1


def test_algorithm_2_matches_group_ompr_with_the_plain_rule():
    # Same selections, same removal rule, same acceptance: same path.
    for seed in range(4):
        problem = make_problem(
            n_samples=60,
            n_groups=10,
            group_size=2,
            n_active=3,
            correlation=0.6,
            seed=seed,
        )
        ours = ompr_nonconvex(problem.datafit, problem.groups, 3, init="threshold")
        plain = group_ompr(
            problem.datafit, problem.groups, 3, init="threshold", n_candidates=1
        )
        assert ours.support.tolist() == plain.support.tolist()
        assert ours.history == pytest.approx(plain.history, rel=1e-10)


def test_lipschitz_survives_a_lapack_failure(monkeypatch):
    # scipy's eigh(subset_by_index=...) can fail on an orthogonal design's Gram.
    problem = make_problem("logistic", n_groups=5, seed=1)
    expected = problem.datafit.lipschitz()

    def broken():
        raise LinAlgError("Internal Error.")

    monkeypatch.setattr(problem.datafit, "lipschitz", broken)
    assert lipschitz(problem.datafit) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("penalty", CONTROLS, ids=repr)
def test_non_subadditive_penalties_are_rejected(penalty):
    problem = make_problem(n_groups=4, seed=0)
    with pytest.raises(ValueError, match="`penalty` must be strictly increasing"):
        ompr_nonconvex(problem.datafit, problem.groups, 2, penalty=penalty)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"penalty": "lq"}, TypeError, "`penalty` must be a GroupPenalty"),
        ({"init": ("omp", "threshold")}, ValueError, "`init` must be one start"),
        ({"lam_margin": 1.0}, ValueError, r"`lam_margin` must be in \(0, 1\)"),
        ({"subproblem_tol": 0.0}, ValueError, "`subproblem_tol` must be in"),
        ({"max_iter": 0}, ValueError, "`max_iter` must be an integer"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, match):
    problem = make_problem(n_groups=4, seed=0)
    with pytest.raises(error, match=match):
        ompr_nonconvex(problem.datafit, problem.groups, 2, **kwargs)
