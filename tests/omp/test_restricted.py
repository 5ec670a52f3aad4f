import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nonconvex_reg import Groups, LeastSquares, make_problem
from nonconvex_reg.datasets import DATAFIT_KINDS
from omp import check_theorem_b3, restricted_constants


def _orthogonal_design(seed=0, n_samples=40, n_groups=10, size=2, noise=0.5):
    rng = np.random.default_rng(seed)
    X = (
        np.sqrt(n_samples)
        * np.linalg.qr(rng.standard_normal((n_samples, n_groups * size)))[0]
    )
    beta = np.zeros(n_groups * size)
    beta[: 2 * size] = rng.standard_normal(2 * size)
    y = X @ beta + noise * rng.standard_normal(n_samples)
    return LeastSquares(X, y), Groups.equal(n_groups * size, size)


def _brute_force_constants(datafit, groups, s):
    """Extreme Rayleigh quotients of the Hessian over every s-group support."""
    hessian = datafit.X.T @ datafit.X / datafit.n_samples + datafit.ridge * np.eye(
        datafit.n_features
    )
    low, high = np.inf, -np.inf
    for support in itertools.combinations(range(groups.n_groups), s):
        cols = groups.coords(np.array(support))
        eig = np.linalg.eigvalsh(hessian[np.ix_(cols, cols)])
        low, high = min(low, eig[0]), max(high, eig[-1])
    return low, high


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 5), st.floats(0.0, 0.8))
def test_exact_constants_match_brute_force_and_bounds_contain_them(seed, s, rho):
    problem = make_problem(
        n_samples=30, n_groups=6, group_size=2, correlation=rho, seed=seed
    )
    exact = restricted_constants(problem.datafit, problem.groups, s)
    low, high = _brute_force_constants(problem.datafit, problem.groups, s)
    assert exact.exact and exact.s == s
    assert exact.mu == pytest.approx(max(low, 0), rel=1e-9, abs=1e-12)
    assert exact.L == pytest.approx(high, rel=1e-9)
    bounds = restricted_constants(problem.datafit, problem.groups, s, max_supports=1)
    assert not bounds.exact
    assert bounds.mu <= exact.mu * (1 + 1e-9) and bounds.L >= exact.L * (1 - 1e-9)


def test_restricted_constants_grow_apart_with_s():
    problem = make_problem(n_samples=40, n_groups=6, correlation=0.5, seed=1)
    consts = [
        restricted_constants(problem.datafit, problem.groups, s) for s in range(1, 8)
    ]
    assert all(a.mu >= b.mu - 1e-12 for a, b in itertools.pairwise(consts))
    assert all(a.L <= b.L + 1e-12 for a, b in itertools.pairwise(consts))
    assert consts[-1].s == 6  # capped at n_groups


def test_orthogonal_design_has_kappa_one():
    datafit, groups = _orthogonal_design()
    for s in (1, 2, 5):
        consts = restricted_constants(datafit, groups, s)
        assert consts.kappa == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("kind", ["logistic", "multinomial"])
def test_glm_bounds_hold_at_random_points(kind):
    problem = make_problem(kind, n_samples=50, n_groups=5, seed=2)
    datafit, groups = problem.datafit, problem.groups
    consts = restricted_constants(datafit, groups, 2)
    assert not consts.exact and consts.mu == datafit.ridge
    rng = np.random.default_rng(0)
    for _ in range(20):
        beta = rng.standard_normal(datafit.n_features)
        delta = np.zeros_like(beta)
        cols = groups.coords(rng.choice(groups.n_groups, 2, replace=False))
        delta[cols] = 1e-3 * rng.standard_normal(cols.size)
        curvature = (
            2
            * (
                datafit.value(beta + delta)
                - datafit.value(beta)
                - datafit.gradient(beta) @ delta
            )
            / (delta @ delta)
        )
        assert consts.mu - 1e-6 <= curvature <= consts.L + 1e-6


def test_theorem_b3_confirmed_on_the_orthogonal_design():
    datafit, groups = _orthogonal_design()
    report = check_theorem_b3(datafit, groups, 2)
    assert report.verdict == "confirmed"
    assert report.exact_constants and report.kappa == pytest.approx(1.0)
    assert report.k_prime == 4 and report.required_k_prime == pytest.approx(4.0)
    assert report.excess <= report.eps and report.group_sparsity <= 4
    assert report.rounds >= report.rounds_used >= 1
    assert report.to_dict()["excess"] == report.excess


@pytest.mark.parametrize("kind", DATAFIT_KINDS)
def test_theorem_b3_outside_its_hypothesis_is_reported_as_such(kind):
    problem = make_problem(
        kind, n_samples=60, n_groups=6, group_size=2, correlation=0.6, seed=0
    )
    report = check_theorem_b3(problem.datafit, problem.groups, 2, k_prime=3)
    assert not report.hypotheses["k' >= k (kappa^2 + 1)"]
    assert report.verdict.startswith("outside theorem")
    assert report.verdict.endswith("holds" if report.conclusion_holds else "fails")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 0}, r"`k` must be an integer in \[1, 10\]"),
        ({"k": 11}, r"`k` must be an integer in \[1, 10\]"),
        ({"k": 3, "k_prime": 2}, r"`k_prime` must be an integer in \[3, 10\]"),
        ({"k": 2, "eps": 0.0}, r"`eps` must be in \(0, inf\)"),
        ({"k": 2, "init": [0, 1]}, "`init` must name exactly 4 groups"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, match):
    datafit, groups = _orthogonal_design()
    with pytest.raises(ValueError, match=match):
        check_theorem_b3(datafit, groups, **kwargs)


def test_reports_render_as_markdown_tables():
    # issue 8: field | value tables from to_dict(), in Jupyter
    datafit, groups = _orthogonal_design()
    for report in (
        restricted_constants(datafit, groups, 2),
        check_theorem_b3(datafit, groups, 2),
    ):
        lines = report._repr_markdown_().splitlines()
        assert lines[:2] == ["| field | value |", "|:---|:---|"]
        fields = [line.split(" | ")[0].removeprefix("| ") for line in lines[2:]]
        assert fields == list(report.to_dict())
    assert "| verdict | confirmed |" in lines
    assert "| hypotheses | q strictly increasing and subadditive: True; " in (
        "\n".join(lines)
    )
