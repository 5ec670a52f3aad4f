"""The one result type every solver of the toolkit returns.

A :class:`SolverResult` carries the solution, its objective value, the support read
from optimality conditions (never from a threshold), the certificate that stopped
the solver (duality gap or KKT residual) and a status drawn from
``STATUS_MESSAGES``, so that non-convergence is visible in the result and never
silent. The status machinery (the table check, ``message`` and the
:class:`ConvergenceWarning` of a give-up) is the public base ``StatusResult``,
for any result type with a status table of its own (``omp.OMPResult`` is one).
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

__all__ = ["STATUS_MESSAGES", "ConvergenceWarning", "SolverResult", "StatusResult"]


class ConvergenceWarning(UserWarning):
    """A solver stopped before meeting its tolerance."""


STATUS_MESSAGES = {
    "converged": "stopping criterion met; support certified by optimality conditions",
    "converged_uncertified": (
        "stopping criterion met, but some groups are too close to their KKT "
        "threshold to certify zero or nonzero at this tolerance"
    ),
    "max_iter": "maximum number of iterations reached before the tolerance",
    "stalled": (
        "no further decrease possible in double precision before the tolerance; "
        "see kkt_residual"
    ),
    "stationary": "first-order stationary point (local; nonconvex problem)",
    "enumerated": "global minimum over all supports by enumeration",
    "oracle": "interior-point solution from cvxpy; support certified by KKT",
}


class StatusResult(ABC):
    """A status drawn from a status-message table, and the warning of a give-up.

    Base of frozen result dataclasses with a ``status`` field. A subclass sets
    two class attributes, ``_STATUS_MESSAGES`` (the table ``status`` is drawn
    from, status to message) and ``_GIVE_UPS`` (its statuses that mean the method
    stopped before what it promises), and implements ``_evidence()``, the numbers
    a give-up warning quotes. It then gets the check of ``status`` at
    construction, :attr:`converged`, :attr:`message` and
    :meth:`warn_if_not_converged`.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Fit(StatusResult):
    ...     status: str
    ...     loss: float
    ...     _STATUS_MESSAGES = {"done": "converged", "budget": "ran out of steps"}
    ...     _GIVE_UPS = ("budget",)
    ...     def _evidence(self):
    ...         return f"loss={self.loss:.3g}"
    >>> Fit("budget", 0.5).converged, Fit("budget", 0.5).message
    (False, 'ran out of steps')
    """

    _STATUS_MESSAGES: ClassVar[dict[str, str]]
    _GIVE_UPS: ClassVar[tuple[str, ...]]

    def __post_init__(self):
        if self.status not in self._STATUS_MESSAGES:
            raise ValueError(
                f"`status` must be one of {tuple(self._STATUS_MESSAGES)}; "
                f"got {self.status!r}."
            )

    @property
    def converged(self) -> bool:
        """Whether ``status`` means the method did what it promises."""
        return self.status not in self._GIVE_UPS

    @property
    def message(self) -> str:
        """Human-readable meaning of ``status``."""
        return self._STATUS_MESSAGES[self.status]

    @abstractmethod
    def _evidence(self) -> str:
        """The numbers the warning quotes, as ``name=value, ...``."""

    def warn_if_not_converged(self, solver: str) -> None:
        """Emit a :class:`~nonconvex_reg.ConvergenceWarning` if ``solver`` gave up."""
        if not self.converged:
            warnings.warn(
                f"{solver}: {self.message} ({self._evidence()}).",
                ConvergenceWarning,
                stacklevel=3,
            )


@dataclass(frozen=True)
class SolverResult(StatusResult):
    """Solution of a regularized problem and the evidence that it is one.

    Attributes
    ----------
    beta : ndarray of shape (n_features,)
        The solution; groups outside ``support`` are exactly zero.
    objective : float
        Objective value at ``beta``.
    support : ndarray of int
        Ids of the nonzero groups, certified where ``status`` says so.
    status : str
        A key of ``STATUS_MESSAGES``.
    n_iter : int
        Iterations of the outermost loop.
    kkt_residual : float
        Largest violation of the first-order optimality conditions over groups.
    duality_gap : float or None
        Final duality gap (convex problems only).
    time : float
        Wall-clock seconds.
    uncertain : ndarray of int
        Groups whose zero/nonzero status could not be certified.
    info : dict
        Solver-specific extras (e.g. the working-set sizes).
    """

    beta: np.ndarray
    objective: float
    support: np.ndarray
    status: str
    n_iter: int
    kkt_residual: float
    duality_gap: float | None
    time: float
    uncertain: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    info: dict = field(default_factory=dict)

    _STATUS_MESSAGES = STATUS_MESSAGES
    #: The stopping criterion was not met.
    _GIVE_UPS = ("max_iter", "stalled")

    @property
    def group_sparsity(self) -> int:
        """Number of nonzero groups (Definition B.1)."""
        return int(self.support.size)

    def _evidence(self) -> str:
        return f"kkt_residual={self.kkt_residual:.3g}"

    def to_dict(self) -> dict:
        """JSON-ready dict of every field."""
        return {
            "beta": self.beta.tolist(),
            "objective": self.objective,
            "support": self.support.tolist(),
            "status": self.status,
            "message": self.message,
            "n_iter": self.n_iter,
            "kkt_residual": self.kkt_residual,
            "duality_gap": self.duality_gap,
            "time": self.time,
            "uncertain": self.uncertain.tolist(),
            "info": self.info,
        }

    def __repr__(self) -> str:
        gap = "n/a" if self.duality_gap is None else f"{self.duality_gap:.2e}"
        return (
            f"SolverResult(status={self.status!r}, objective={self.objective:.10g}, "
            f"group_sparsity={self.group_sparsity}, kkt_residual="
            f"{self.kkt_residual:.2e}, duality_gap={gap}, n_iter={self.n_iter}, "
            f"time={self.time:.3g}s)"
        )
