import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import orthogonal_mp

from nonconvex_reg import (
    ConvergenceWarning,
    Groups,
    LeastSquares,
    MultiResponse,
    make_problem,
)
from nonconvex_reg.datasets import DATAFIT_KINDS
from nonconvex_reg.testing import problems
from omp import best_subset, group_omp, group_ompr


@pytest.mark.parametrize("kind", ["least_squares", "multi_response"])
def test_k_equal_n_groups_gives_the_least_squares_fit(kind):
    problem = make_problem(kind, n_samples=80, n_groups=6, ridge=0.0, seed=2)
    datafit = problem.datafit
    result = group_omp(datafit, problem.groups, 6)
    Y = datafit.y.reshape(80, -1)
    expected = np.linalg.lstsq(datafit.X, Y, rcond=None)[0].ravel()
    np.testing.assert_allclose(result.coef, expected, rtol=1e-10, atol=1e-12)
    assert result.support.tolist() == list(range(6))
    assert result.status == "completed"


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from(DATAFIT_KINDS))
def test_planted_support_is_recovered_at_high_snr(seed, kind):
    problem = make_problem(
        kind,
        n_samples=400,
        n_groups=12,
        group_size=2,
        n_active=2,
        noise=0.01,
        seed=seed,
    )
    truth = problem.true_support.tolist()
    signal = problem.groups.norms(problem.beta_true)[truth]
    if kind in ("logistic", "multinomial") or signal.min() < 0.3:
        # Weak planted groups (or label noise) need not be identifiable: compare
        # with the exhaustive optimum instead of the planted support.
        truth = best_subset(problem.datafit, problem.groups, 2).support.tolist()
    assert group_ompr(problem.datafit, problem.groups, 2).support.tolist() == truth


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 8))
def test_singleton_groups_match_sklearn_orthogonal_mp(seed, k):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 20))
    y = X @ (rng.standard_normal(20) * (rng.random(20) < 0.3)) + rng.standard_normal(40)
    ours = group_omp(LeastSquares(X, y), Groups.equal(20, 1), k)
    theirs = orthogonal_mp(X, y, n_nonzero_coefs=k)
    assert ours.support.tolist() == np.flatnonzero(theirs).tolist()
    np.testing.assert_allclose(ours.coef, theirs, rtol=1e-8, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(problems(max_groups=7), st.data())
def test_ompr_is_never_worse_than_omp_at_equal_k(problem, data):
    k = data.draw(st.integers(1, problem.groups.n_groups))
    omp = group_omp(problem.datafit, problem.groups, k)
    plain = group_ompr(problem.datafit, problem.groups, k, init="omp", n_candidates=1)
    default = group_ompr(problem.datafit, problem.groups, k)
    for ompr in (plain, default):
        assert ompr.loss <= omp.loss * (1 + 1e-12) + 1e-15
        assert ompr.status == "converged"
        assert len(ompr.support) == k
    # every accepted swap strictly lowers the loss
    assert all(b < a for a, b in zip(plain.history, plain.history[1:], strict=False))


def test_ompr_reports_its_starts_and_swaps():
    problem = make_problem(
        n_samples=60, n_groups=10, group_size=2, n_active=3, correlation=0.7, seed=5
    )
    result = group_ompr(problem.datafit, problem.groups, 3)
    starts = result.info["starts"]
    assert [s["init"] for s in starts] == ["omp", "threshold"]
    assert result.loss == pytest.approx(min(s["loss"] for s in starts), rel=1e-12)
    given = group_ompr(problem.datafit, problem.groups, 3, init=[7, 8, 9])
    assert given.info["starts"][0]["init"] == "given"
    assert given.info["starts"][0]["initial_loss"] >= given.loss


def test_keep_groups_are_never_dropped():
    problem = make_problem(n_samples=60, n_groups=8, group_size=2, n_active=2, seed=1)
    worst = int(np.argmin(problem.groups.norms(problem.beta_true)))
    for search in (group_omp, group_ompr):
        result = search(problem.datafit, problem.groups, 3, keep=[worst])
        assert worst in result.support.tolist() and len(result.support) == 3


def test_round_budget_is_reported_not_silent():
    problem = make_problem(
        n_samples=60, n_groups=10, group_size=2, n_active=3, correlation=0.5, seed=3
    )
    with pytest.warns(ConvergenceWarning, match="round budget"):
        result = group_ompr(
            problem.datafit, problem.groups, 3, init=[7, 8, 9], max_iter=1
        )
    assert result.status == "max_iter" and not result.converged


def test_inexact_refit_is_reported_not_silent():
    problem = make_problem("logistic", n_groups=6, seed=0)
    with pytest.warns(ConvergenceWarning, match="restricted re-optimization"):
        result = group_omp(
            problem.datafit, problem.groups, 3, refit_tol=1e-15, max_refit_iter=1
        )
    assert result.status == "inexact_refit"
    assert result.info["search_status"] == "completed"
    assert result.info["refit_failures"] >= 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 7}, r"`k` must be an integer in \[0, 6\]; got 7"),
        ({"k": -1}, r"`k` must be an integer in \[0, 6\]"),
        ({"k": 2, "init": [0, 1, 2]}, "`init` must name exactly 2 groups"),
        ({"k": 2, "init": [0, 0]}, "`init` must not repeat a group"),
        ({"k": 2, "init": [0, 9]}, r"`init` must hold group ids in \[0, 5\]"),
        ({"k": 2, "init": "best"}, "`init` must be one of"),
        ({"k": 2, "init": ()}, "exactly 2 groups"),
        ({"k": 2, "keep": [0, 1, 2]}, "`keep` must name at most k=2"),
        ({"k": 2, "keep": [3], "init": [0, 1]}, "must contain every group of `keep`"),
        ({"k": 2, "n_candidates": 0}, "`n_candidates` must be an integer"),
        ({"k": 2, "tol": -1.0}, r"`tol` must be in \[0, inf\)"),
        ({"k": 2, "refit_tol": 0.0}, "`refit_tol` must be in"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, match):
    problem = make_problem(n_groups=6, seed=0)
    with pytest.raises(ValueError, match=match):
        group_ompr(problem.datafit, problem.groups, **kwargs)


def test_groups_must_match_the_datafit():
    problem = make_problem(n_groups=6, seed=0)
    with pytest.raises(ValueError, match="`groups` must partition the datafit's 18"):
        group_omp(problem.datafit, Groups.equal(12, 3), 2)
    with pytest.raises(TypeError, match="`groups` must be a Groups"):
        group_omp(problem.datafit, [0, 1, 2], 2)
    with pytest.raises(TypeError, match="`datafit` must be a nonconvex_reg Datafit"):
        group_omp(np.ones((3, 3)), problem.groups, 2)


def test_non_finite_data_is_rejected_when_the_datafit_is_built():
    X = np.ones((5, 4))
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="`X` must contain only finite values"):
        group_omp(LeastSquares(X, np.ones(5)), Groups.equal(4, 2), 1)


def test_no_warning_on_ordinary_runs():
    problem = make_problem("multinomial", n_groups=6, n_active=2, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        group_ompr(problem.datafit, problem.groups, 2)


def _exact_swap_losses(datafit, groups, support, entering):
    """L on S + i - j for every i in ``entering`` and j in S, by fresh refits."""
    from omp.refit import make_refit

    refit = make_refit(datafit, groups, tol=1e-12)
    return np.array(
        [
            [refit.fit([g for g in support if g != j] + [i]) for j in support]
            for i in entering
        ]
    )


@settings(max_examples=30, deadline=None)
@given(problems(kinds=("least_squares", "multi_response"), max_groups=8), st.data())
def test_widened_result_is_a_local_optimum_of_single_swaps(problem, data):
    # Squared losses, where the second-order prices are exact: no single swap
    # of the n_wide best entering groups against any group of S helps (issue 3).
    n_groups = problem.groups.n_groups
    k = data.draw(st.integers(1, n_groups - 1))
    result = group_ompr(problem.datafit, problem.groups, k, n_wide=n_groups)
    assert result.status == "converged"
    support = result.support.tolist()
    outside = [g for g in range(n_groups) if g not in support]
    losses = _exact_swap_losses(problem.datafit, problem.groups, support, outside)
    threshold = 1e-10 * problem.datafit.value(np.zeros(problem.datafit.n_features))
    assert losses.min() >= result.loss - threshold - 1e-12 * abs(result.loss)


@settings(max_examples=30, deadline=None)
@given(problems(max_groups=7), st.data())
def test_widened_search_never_raises_the_loss(problem, data):
    k = data.draw(st.integers(1, problem.groups.n_groups))
    plain = group_ompr(problem.datafit, problem.groups, k, n_wide=0)
    widened = group_ompr(problem.datafit, problem.groups, k)
    assert widened.status == "converged" and len(widened.support) == k
    assert all(
        b < a for a, b in zip(widened.history, widened.history[1:], strict=False)
    )
    # The widened rounds continue the best start of the same starts, each of
    # which is itself a local optimum of the plain rounds; with exact prices
    # (squared losses) they end at or below the plain search's best.
    if isinstance(problem.datafit, LeastSquares | MultiResponse):
        assert widened.loss <= plain.loss * (1 + 1e-12) + 1e-15


@pytest.mark.parametrize(("kind", "seed"), [("least_squares", 68), ("logistic", 36)])
def test_widened_rounds_escape_a_plain_local_optimum(kind, seed):
    # Issue 3: the plain rule (three candidates) stalls where a swap with a
    # lower-ranked group helps; the widened rounds find it.
    problem = make_problem(
        kind,
        n_samples=60,
        n_groups=30,
        group_size=2,
        n_active=4,
        correlation=0.6,
        noise=1.0,
        seed=seed,
    )
    plain = group_ompr(problem.datafit, problem.groups, 4, n_wide=0)
    widened = group_ompr(problem.datafit, problem.groups, 4)
    assert widened.loss < plain.loss * (1 - 1e-3)
    best = max(widened.info["starts"], key=lambda s: "n_wide_swaps" in s)
    assert best["n_wide_swaps"] >= 1
    assert best["loss"] == pytest.approx(widened.loss, rel=1e-10)


def test_plain_rule_has_no_widened_rounds():
    problem = make_problem(
        n_samples=60, n_groups=10, group_size=2, n_active=3, correlation=0.7, seed=5
    )
    default = group_ompr(problem.datafit, problem.groups, 3, init="omp", n_candidates=1)
    explicit = group_ompr(
        problem.datafit, problem.groups, 3, init="omp", n_candidates=1, n_wide=0
    )
    assert default.history == explicit.history
    assert "n_wide_swaps" not in default.info["starts"][0]


def test_n_wide_is_validated():
    problem = make_problem(n_groups=6, seed=0)
    with pytest.raises(ValueError, match="`n_wide` must be an integer"):
        group_ompr(problem.datafit, problem.groups, 2, n_wide=-1)
