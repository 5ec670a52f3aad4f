"""The inner group-LASSO solver: BCD on quadratic models inside prox-Newton steps."""

import numpy as np
import pytest

from nonconvex_reg import (
    GroupLassoPenalty,
    Groups,
    Multinomial,
    cvxpy_group_lasso,
    make_problem,
    tau,
)
from nonconvex_reg.datasets import DATAFIT_KINDS
from nonconvex_reg.solvers._bcd import BlockLayout, minimize_model, model_lipschitz
from nonconvex_reg.solvers._prox_gradient import run_prox_gradient
from nonconvex_reg.solvers._prox_newton import _penalty_change, solve_prox_newton
from nonconvex_reg.solvers.optimality import group_lasso_primal_dual


def _layout(datafit, groups):
    return BlockLayout(datafit, groups, datafit.group_operator_norms(groups) ** 2)


def _problem(kind, ridge=0.0, seed=0):
    # More columns than samples, so that ridge = 0 leaves L not strongly convex.
    problem = make_problem(
        kind,
        n_samples=20,
        n_groups=10,
        group_size=3,
        n_active=3,
        ridge=ridge,
        seed=seed,
    )
    return problem.datafit, problem.groups


def _scattered(datafit, seed):
    """Random groups of scattered coordinates, restricted to half of them.

    For matrix coefficients the restriction then covers partial rows of B, the
    case where the restricted datafit embeds its coordinates.
    """
    rng = np.random.default_rng(seed)
    n = datafit.n_features
    parts = np.split(
        rng.permutation(n), np.sort(rng.choice(np.arange(1, n), 7, replace=False))
    )
    groups = Groups.from_indices(parts, n)
    coords, sub_groups = groups.subset(np.arange(0, groups.n_groups, 2))
    return datafit.restrict(coords), sub_groups


@pytest.mark.parametrize("kind", DATAFIT_KINDS)
@pytest.mark.parametrize("ridge", [0.0, 0.1])
def test_reaches_the_target_gap_and_the_oracle_objective(kind, ridge):
    datafit, groups = _problem(kind, ridge)
    lam = 0.1 * tau(datafit, groups)
    start = np.zeros(datafit.n_features)
    initial = group_lasso_primal_dual(datafit, groups, start, lam)
    target = 1e-10 * initial.primal
    beta, n_epochs, done = solve_prox_newton(
        datafit, _layout(datafit, groups), lam, start, target, 10_000
    )
    pd = group_lasso_primal_dual(datafit, groups, beta, lam)
    assert done and 0 < n_epochs < 10_000
    assert pd.gap <= target
    oracle = cvxpy_group_lasso(datafit, groups, lam)
    # Clarabel stops near 1e-8 relative accuracy; ours is certified to 1e-10.
    assert pd.primal <= oracle.objective + 1e-12
    assert oracle.objective - pd.primal <= 1e-6 * pd.primal


@pytest.mark.parametrize("kind", DATAFIT_KINDS)
def test_agrees_with_fista_on_scattered_groups(kind):
    datafit, groups = _scattered(_problem(kind, ridge=0.05, seed=1)[0], seed=2)
    lam = 0.05 * tau(datafit, groups)
    start = np.zeros(datafit.n_features)

    def converged(point):
        return group_lasso_primal_dual(datafit, groups, point, lam).gap <= 1e-13

    reference, _, reached = run_prox_gradient(
        datafit,
        groups,
        GroupLassoPenalty(),
        lam,
        start,
        lipschitz=datafit.lipschitz(),
        accelerated=True,
        converged=converged,
        max_iter=100_000,
    )
    assert reached
    beta, _, done = solve_prox_newton(
        datafit, _layout(datafit, groups), lam, start, 1e-13, 10_000
    )
    assert done
    # Both gaps are at most 1e-13 and ridge = 0.05: ||beta - beta*||^2 <= 4e-12.
    np.testing.assert_allclose(beta, reference, atol=5e-6)


@pytest.mark.parametrize("kind", DATAFIT_KINDS)
def test_warm_start_at_the_solution_does_no_epoch(kind):
    datafit, groups = _problem(kind, ridge=0.1, seed=3)
    lam = 0.2 * tau(datafit, groups)
    layout = _layout(datafit, groups)
    solution, _, _ = solve_prox_newton(
        datafit, layout, lam, np.zeros(datafit.n_features), 1e-12, 10_000
    )
    again, n_epochs, done = solve_prox_newton(
        datafit, layout, lam, solution, 1e-12, 10_000
    )
    assert done and n_epochs == 0
    np.testing.assert_array_equal(again, solution)


def test_epoch_budget_and_step_limit_stop_early():
    datafit, groups = _problem("logistic", seed=4)
    lam = 0.05 * tau(datafit, groups)
    layout, start = _layout(datafit, groups), np.zeros(datafit.n_features)
    _, n_epochs, done = solve_prox_newton(datafit, layout, lam, start, 1e-14, 1)
    assert not done and n_epochs == 1
    _, n_epochs, done = solve_prox_newton(
        datafit, layout, lam, start, 1e-14, 10_000, max_steps=1
    )
    assert not done and 0 < n_epochs < 10_000


@pytest.mark.parametrize("kind", DATAFIT_KINDS)
def test_bcd_minimizes_the_model_and_tracks_its_predictor(kind):
    datafit, groups = _scattered(_problem(kind, ridge=0.1, seed=5)[0], seed=6)
    lam = 0.1 * tau(datafit, groups)
    layout = _layout(datafit, groups)
    rng = np.random.default_rng(7)
    start = rng.standard_normal(datafit.n_features)
    z = datafit.linear_predictor(start)
    grad = -datafit.dual_point_from_predictor(z).reshape(z.shape[0], -1)
    hessian = datafit.hessian_blocks_from_predictor(z)
    lipschitz = model_lipschitz(layout, hessian, datafit.ridge)
    beta, shift, n_epochs = minimize_model(
        layout, start, grad, hessian, lipschitz, lam, datafit.ridge, 1e-12, 100_000
    )
    assert n_epochs < 100_000
    # shift is X (beta - start), kept in place through the Anderson steps.
    moved = datafit.linear_predictor(beta) - z
    np.testing.assert_allclose(shift.reshape(z.shape), moved, atol=1e-10)
    # KKT of the model: grad_g M + lam beta_g / ||beta_g|| = 0 on nonzero groups,
    # ||grad_g M|| <= lam on zero groups.
    model_grad = grad + np.einsum("ikl,il->ik", hessian, shift)
    gradient = datafit.transpose_product(model_grad.reshape(z.shape))
    gradient += datafit.ridge * beta
    norms = groups.norms(beta)
    active = norms > 0
    assert np.all(groups.norms(gradient)[~active] <= lam * (1 + 1e-8))
    direction = groups.expand(np.where(active, lam / np.maximum(norms, 1e-300), 0.0))
    residual = groups.norms(gradient + direction * beta)[active]
    assert np.all(residual <= 1e-9 * lam)


@pytest.mark.parametrize("kind", DATAFIT_KINDS)
def test_model_lipschitz_is_the_top_eigenvalue_of_each_block(kind):
    datafit, groups = _scattered(_problem(kind, ridge=0.3, seed=8)[0], seed=9)
    layout = _layout(datafit, groups)
    beta = np.random.default_rng(10).standard_normal(datafit.n_features)
    z = datafit.linear_predictor(beta)
    hessian = datafit.hessian_blocks_from_predictor(z)
    columns, outputs = datafit.coordinate_layout()
    expected = []
    for g in range(groups.n_groups):
        c = groups[g]
        block = np.einsum(
            "ia,ib,iab->ab",
            datafit.X[:, columns[c]],
            datafit.X[:, columns[c]],
            hessian[:, outputs[c]][:, :, outputs[c]],
        )
        expected.append(np.linalg.eigvalsh(block)[-1] + datafit.ridge)
    bound = model_lipschitz(layout, hessian, datafit.ridge)
    if kind in ("least_squares", "multi_response"):
        # Isotropic H: the squared norm of the columns bounds the block.
        assert np.all(bound >= np.array(expected) * (1 - 1e-12))
    else:
        np.testing.assert_allclose(bound, expected, rtol=1e-10)
    if kind == "least_squares":
        np.testing.assert_allclose(bound, expected, rtol=1e-10)


def test_multinomial_without_ridge_converges_in_few_newton_steps():
    # The multinomial Hessian couples the classes; a model dropping the coupling
    # needs thousands of steps on this separable problem.
    problem = make_problem(
        "multinomial",
        n_samples=60,
        n_groups=6,
        group_size=3,
        n_active=2,
        ridge=0.0,
        seed=0,
    )
    datafit, groups = problem.datafit, problem.groups
    assert isinstance(datafit, Multinomial)
    lam = 0.005 * tau(datafit, groups)
    beta, n_epochs, done = solve_prox_newton(
        datafit,
        _layout(datafit, groups),
        lam,
        np.zeros(datafit.n_features),
        1e-10,
        10_000,
    )
    assert done and n_epochs < 500


def test_penalty_change_keeps_the_digits_of_tiny_steps():
    groups = Groups.equal(6, 2)
    rng = np.random.default_rng(11)
    beta = rng.standard_normal(6)
    beta[2:4] = 0.0
    direction = rng.standard_normal(6)
    direct = groups.norms(beta + direction).sum() - groups.norms(beta).sum()
    assert _penalty_change(groups, beta, direction, 1.0) == pytest.approx(direct)
    # Linear in t for tiny steps off a zero-free support.
    direction[2:4] = 0.0
    unit = groups.norms(beta)
    slope = sum(beta[groups[g]] @ direction[groups[g]] / unit[g] for g in (0, 2))
    assert _penalty_change(groups, beta, direction, 1e-12) == pytest.approx(
        1e-12 * slope, rel=1e-6
    )


@pytest.mark.parametrize("kind", DATAFIT_KINDS)
def test_hessian_blocks_differentiate_the_gradient_of_f(kind):
    datafit, _ = _problem(kind, seed=12)
    rng = np.random.default_rng(13)
    z = datafit.linear_predictor(rng.standard_normal(datafit.n_features))
    blocks = datafit.hessian_blocks_from_predictor(z)
    flat = z.reshape(z.shape[0], -1)
    assert blocks.shape == (flat.shape[0], flat.shape[1], flat.shape[1])
    step = 1e-6
    for k in range(flat.shape[1]):
        moved = np.zeros_like(flat)
        moved[:, k] = step
        # grad F(Z) = -theta(Z); each sample's gradient moves by H_i[:, k] * step.
        ahead = datafit.dual_point_from_predictor((flat + moved).reshape(z.shape))
        behind = datafit.dual_point_from_predictor((flat - moved).reshape(z.shape))
        derivative = -(ahead - behind).reshape(flat.shape) / (2 * step)
        np.testing.assert_allclose(derivative, blocks[:, :, k], atol=1e-8)


@pytest.mark.parametrize("kind", DATAFIT_KINDS)
def test_coordinate_layout_rebuilds_the_linear_predictor(kind):
    datafit, _ = _scattered(_problem(kind, seed=14)[0], seed=15)
    beta = np.random.default_rng(16).standard_normal(datafit.n_features)
    z = datafit.linear_predictor(beta).reshape(datafit.n_samples, -1)
    columns, outputs = datafit.coordinate_layout()
    rebuilt = np.zeros_like(z)
    for c in range(datafit.n_features):
        rebuilt[:, outputs[c]] += datafit.X[:, columns[c]] * beta[c]
    np.testing.assert_allclose(rebuilt, z, atol=1e-12)
