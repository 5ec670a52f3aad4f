"""Datafits L(beta) = F(X B) + ridge/2 ||beta||^2 (the loss L of arXiv:2402.17902)."""

from .base import Datafit
from .least_squares import LeastSquares, MultiResponse
from .logistic import Logistic, Multinomial

__all__ = ["Datafit", "LeastSquares", "Logistic", "MultiResponse", "Multinomial"]
