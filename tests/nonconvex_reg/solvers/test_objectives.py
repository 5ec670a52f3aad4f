"""The two objectives' penalty terms and first-order weights (solvers/objectives.py)."""

import numpy as np
import pytest

from nonconvex_reg.penalties import PENALTY_REGISTRY
from nonconvex_reg.solvers.objectives import (
    effective_weight,
    penalty_value,
    penalty_value_and_weight,
)

PENALTIES = [p for family in PENALTY_REGISTRY for p in family.penalties()]
NORMS = np.array([0.0, 0.4, 1.7, 3.0])
LAM = 0.3


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
def test_sum_form_is_lam_times_the_sum_with_weight_lam(penalty):
    value, weight = penalty_value_and_weight(penalty, NORMS, LAM, "sum")
    assert value == pytest.approx(LAM * penalty.value(NORMS).sum(), rel=1e-15)
    assert weight == LAM == effective_weight(penalty, NORMS, LAM, "sum")


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
def test_inverse_form_value_and_weight_match_their_definitions(penalty):
    value, weight = penalty_value_and_weight(penalty, NORMS, LAM, "inverse")
    root = penalty.inverse(np.array([penalty.value(NORMS).sum()]))
    assert value == pytest.approx(LAM * root[0], rel=1e-15)
    # (q^{-1})'(v) = 1 / q'(q^{-1}(v)): the chain rule's weight on q'(a_g).
    assert weight == pytest.approx(LAM / penalty.derivative(root)[0], rel=1e-15)
    # The same value as the single-purpose function (its own code).
    assert value == penalty_value(penalty, NORMS, LAM, "inverse")


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
def test_inverse_form_weight_is_the_derivative_of_the_penalty_term(penalty):
    # d/da_g [lam q^{-1}(sum q(a))] = w q'(a_g), by central differences.
    _, weight = penalty_value_and_weight(penalty, NORMS, LAM, "inverse")
    step = 1e-6
    up, down = NORMS.copy(), NORMS.copy()
    up[2] += step
    down[2] -= step
    slope = (
        penalty_value(penalty, up, LAM, "inverse")
        - penalty_value(penalty, down, LAM, "inverse")
    ) / (2 * step)
    expected = weight * penalty.derivative(NORMS[2:3])[0]
    assert slope == pytest.approx(expected, rel=1e-6)
