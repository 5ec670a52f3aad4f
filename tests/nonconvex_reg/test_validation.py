import numpy as np
import pytest

from nonconvex_reg.validation import (
    check_array,
    check_choice,
    check_int,
    check_scalar,
    check_subset,
)


def test_check_scalar_names_argument_and_range():
    with pytest.raises(ValueError, match=r"`lam` must be in \(0, inf\); got -1.0"):
        check_scalar(-1, "lam", low=0.0, low_inclusive=False)
    with pytest.raises(ValueError, match="finite"):
        check_scalar(np.nan, "lam", low=0.0)
    with pytest.raises(TypeError, match="`lam` must be a real number"):
        check_scalar("1", "lam")
    with pytest.raises(TypeError):
        check_scalar(True, "lam")
    assert check_scalar(2, "x", low=0.0, high=2.0) == 2.0


def test_check_int_rejects_floats_and_range():
    with pytest.raises(TypeError, match="`k`"):
        check_int(1.0, "k")
    with pytest.raises(ValueError, match=r"`k` must be an integer in \[1, 3\]"):
        check_int(4, "k", low=1, high=3)


def test_check_array_never_coerces_silently():
    with pytest.raises(ValueError, match="NaN or inf"):
        check_array([1.0, np.inf], "X")
    with pytest.raises(TypeError, match="real-valued"):
        check_array(np.array([1 + 1j]), "X")
    with pytest.raises(ValueError, match="shape"):
        check_array(np.zeros((2, 3)), "X", shape=(2, 2))
    with pytest.raises(ValueError, match="nonnegative"):
        check_array([-1.0], "a", nonnegative=True)


def test_check_choice_lists_valid_options():
    with pytest.raises(ValueError, match=r"\('sum', 'inverse'\)"):
        check_choice("other", "form", ("sum", "inverse"))


def test_check_subset_accepts_a_subset_and_names_the_argument_otherwise():
    assert check_subset(["b", "a"], "methods", ("a", "b", "c")) == ("b", "a")
    for bad in ([], ["a", "z"]):
        with pytest.raises(ValueError, match=r"`methods` must be a non-empty subset"):
            check_subset(bad, "methods", ("a", "b", "c"))
