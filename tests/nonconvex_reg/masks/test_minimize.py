"""End-to-end equivalence: masked problem = sum-form problem (Lemmas 2.1-2.3).

``min_{w, beta} L(u(w, beta)) + lam P(w, beta)`` by multi-start L-BFGS-B must reach
the enumerated global minimum of ``L(u) + lam sum_T q(||u_T||)`` with the mask's
equivalent q, and its effective weights must be the global minimizer.

Tolerances, measured: on these four problems the objective agrees to
``<= 3.5e-16`` relative and ``u`` to ``<= 8e-9`` relative; on a sweep of 72 more
(2 datafits x {3, 4} groups x 3 seeds x 6 masks, default 20 starts) to
``<= 4e-16`` and ``<= 6.5e-8``. Both solvers stop at ``gtol = 1e-12``; the value
is second order in the point error, so it agrees to rounding, while ``u`` keeps
the first-order error of the slowly (linearly) vanishing groups. We assert
``VALUE_RTOL = 1e-9`` and ``U_RTOL = 1e-6``: over 10x margin on ``u``, and far
below the gap to a competing local minimum (the closest one seen was 4.6e-4
relative above the global value).

Multi-start is a heuristic. For the concave penalties (ℓ1 mask, powerprop
``alpha = 3``) 25% to 95% of the 20 starts reach the global minimum on these
problems. ``make_problem("logistic", n_groups=4, group_size=2, n_active=2,
seed=1)`` with ``PowerPropMask(3.0)`` is a hard case (two local minima 4.6e-4
apart, relative; 1 of the 20 default starts finds the better one), so it is not
used here.
"""

import json

import numpy as np
import pytest

from nonconvex_reg.datasets import make_problem
from nonconvex_reg.masks import (
    IdentityMask,
    L1Mask,
    MaskedResult,
    SoftmaxMask,
    minimize_masked,
)
from nonconvex_reg.masks import minimize as minimize_module
from nonconvex_reg.solvers import ConvergenceWarning, global_minimum, tau
from nonconvex_reg.testing import MASK_REGISTRY

VALUE_RTOL = 1e-9
U_RTOL = 1e-6

MASKS = list(MASK_REGISTRY)
PROBLEMS = {
    "least_squares-3": dict(kind="least_squares", n_groups=3, n_active=1, seed=0),
    "logistic-3": dict(kind="logistic", n_groups=3, n_active=1, seed=0),
    "least_squares-4": dict(kind="least_squares", n_groups=4, n_active=2, seed=4),
    "logistic-4": dict(kind="logistic", n_groups=4, n_active=2, seed=3),
}
_CACHE = {}


def problem(name):
    if name not in _CACHE:
        p = make_problem(group_size=2, ridge=1e-2, **PROBLEMS[name])
        _CACHE[name] = (p.datafit, p.groups, 0.3 * tau(p.datafit, p.groups))
    return _CACHE[name]


def reference(name, mask):
    key = (name, repr(mask.equivalent_penalty()))
    if key not in _CACHE:
        datafit, groups, lam = problem(name)
        _CACHE[key] = global_minimum(
            datafit, groups, mask.equivalent_penalty(), lam, form="sum"
        )
    return _CACHE[key]


@pytest.mark.parametrize("mask", MASKS, ids=repr)
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_masked_minimum_equals_sum_form_global_minimum(name, mask):
    datafit, groups, lam = problem(name)
    ref = reference(name, mask)
    res = minimize_masked(datafit, groups, mask, lam)
    np.testing.assert_allclose(res.objective, ref.objective, rtol=VALUE_RTOL)
    scale = max(np.linalg.norm(ref.beta), 1e-12)
    assert np.linalg.norm(res.u - ref.beta) <= U_RTOL * scale
    # the effective weights are the masked weights of the returned pair
    np.testing.assert_allclose(res.u, mask.effective(res.w, res.beta, groups))
    assert res.kkt_residual < 1e-6
    # the returned objective is the best start's
    np.testing.assert_allclose(res.objective, res.start_objectives.min(), rtol=1e-14)


def test_softmax_minimizer_is_dense_and_equivalent():
    """Lemma 2.1's sum-form q is ridge-like at 0: every group stays nonzero."""
    datafit, groups, lam = problem("least_squares-4")
    ref = reference("least_squares-4", SoftmaxMask())
    res = minimize_masked(datafit, groups, SoftmaxMask(), lam)
    assert np.all(groups.norms(ref.beta) > 0)
    assert np.all(groups.norms(res.u) > 0)


def test_l1_mask_prunes_exactly():
    """With the bound w >= 0, pruned groups of the ℓ1 mask end at w_T = 0 exactly."""
    datafit, groups, lam = problem("least_squares-4")
    ref = reference("least_squares-4", L1Mask())
    res = minimize_masked(datafit, groups, L1Mask(), lam)
    pruned = groups.norms(ref.beta) == 0
    assert pruned.any() and (~pruned).any()
    assert np.all(res.w[pruned] == 0) and np.all(res.u[groups.coords(pruned)] == 0)
    assert np.all(res.w[~pruned] > 0)


def test_result_is_seeded_and_serializable():
    datafit, groups, lam = problem("logistic-3")
    first = minimize_masked(datafit, groups, L1Mask(), lam, n_starts=3, seed=5)
    again = minimize_masked(datafit, groups, L1Mask(), lam, n_starts=3, seed=5)
    assert isinstance(first, MaskedResult)
    np.testing.assert_array_equal(first.start_objectives, again.start_objectives)
    np.testing.assert_array_equal(first.u, again.u)
    record = json.loads(json.dumps(first.to_dict()))
    assert record["n_starts"] == 3 and len(record["start_objectives"]) == 3
    assert record["objective"] == first.objective
    with pytest.raises(AttributeError):
        first.objective = 0.0


def test_iteration_limit_warns(monkeypatch):
    monkeypatch.setitem(minimize_module._LBFGS_OPTIONS, "maxiter", 1)
    datafit, groups, lam = problem("least_squares-3")
    with pytest.warns(ConvergenceWarning, match="iteration limit"):
        res = minimize_masked(datafit, groups, IdentityMask(), lam, n_starts=2)
    assert res.kkt_residual > 1e-6


def test_bad_input_names_the_argument():
    datafit, groups, lam = problem("least_squares-3")
    mask = IdentityMask()
    with pytest.raises(ValueError, match="`lam`"):
        minimize_masked(datafit, groups, mask, 0.0)
    with pytest.raises(ValueError, match="`lam`"):
        minimize_masked(datafit, groups, mask, -1.0)
    with pytest.raises(ValueError, match="`n_starts`"):
        minimize_masked(datafit, groups, mask, lam, n_starts=0)
    with pytest.raises(ValueError, match="`seed`"):
        minimize_masked(datafit, groups, mask, lam, seed=-1)
    other = make_problem(n_groups=4, group_size=2).groups
    with pytest.raises(ValueError, match="`groups`"):
        minimize_masked(datafit, other, mask, lam)
    with pytest.raises(TypeError, match="`mask`"):
        minimize_masked(datafit, groups, "identity", lam)
