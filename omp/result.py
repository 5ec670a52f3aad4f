"""The one result type of the combinatorial searches: :class:`OMPResult`.

Group OMP, group OMPR, Algorithm 2 (arXiv:2402.17902, Appendix B) and the exhaustive
oracle all return a support ``S`` of groups and the coefficients
``beta_S = argmin {L(beta) : supp(beta) in S}`` fully re-optimized on it. The
result carries the loss ``L(beta_S)``, the per-round history of the search and a
status drawn from ``STATUS_MESSAGES``, so that a round budget spent before a
local optimum, or a restricted solve that missed its tolerance, is visible in the
result and never silent (a :class:`~nonconvex_reg.ConvergenceWarning` is also
emitted, by the status machinery the solvers' :class:`~nonconvex_reg.SolverResult`
uses).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nonconvex_reg.solvers import StatusResult

__all__ = ["STATUS_MESSAGES", "OMPResult"]

STATUS_MESSAGES = {
    "completed": "k groups selected greedily, each followed by a full refit",
    "converged": (
        "local optimum: no swap proposed by the rule lowers the loss by more than "
        "tol * L(0)"
    ),
    "max_iter": "round budget spent while swaps still lowered the loss",
    "enumerated": "global minimum over all supports of k groups, by enumeration",
    "inexact_refit": (
        "a restricted re-optimization stopped before its gradient tolerance; "
        "see info['refit_failures']"
    ),
}


@dataclass(frozen=True)
class OMPResult(StatusResult):
    """A support of groups, the refit coefficients on it, and how they were found.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
        ``beta_S``, the minimizer of the loss restricted to the groups in
        ``support`` (exactly zero elsewhere), flat in C order.
    support : ndarray of int
        Sorted ids of the selected groups; ``len(support)`` is the requested
        group sparsity (Definition B.1 counts the nonzero groups, which can be
        fewer if a refit group happens to be exactly zero).
    loss : float
        ``L(coef)``.
    n_iter : int
        Rounds of the search: groups added (OMP), swaps tried (OMPR and
        Algorithm 2) or supports enumerated (exhaustive).
    status : str
        A key of ``STATUS_MESSAGES``.
    history : tuple of float
        The loss after every accepted step, starting with the initial support.
    time : float
        Wall-clock seconds.
    info : dict
        Method-specific extras (swaps accepted, selection agreements, ...).
    """

    coef: np.ndarray
    support: np.ndarray
    loss: float
    n_iter: int
    status: str
    history: tuple = ()
    time: float = 0.0
    info: dict = field(default_factory=dict)

    _STATUS_MESSAGES = STATUS_MESSAGES
    #: The round budget ran out, or a restricted solve missed its tolerance.
    _GIVE_UPS = ("max_iter", "inexact_refit")

    @property
    def k(self) -> int:
        """Number of selected groups."""
        return int(self.support.size)

    def _evidence(self) -> str:
        return f"loss={self.loss:.6g}, n_iter={self.n_iter}"

    def to_dict(self) -> dict:
        """JSON-ready dict of every field."""
        return {
            "coef": self.coef.tolist(),
            "support": self.support.tolist(),
            "loss": self.loss,
            "n_iter": self.n_iter,
            "status": self.status,
            "message": self.message,
            "converged": self.converged,
            "history": list(self.history),
            "time": self.time,
            "info": self.info,
        }

    def _repr_markdown_(self) -> str:
        """``to_dict()`` as a field | value table; ``coef``, ``history`` summarized."""
        record = self.to_dict()
        record["coef"] = f"array of shape {self.coef.shape}"
        history = record["history"]
        record["history"] = (
            f"{len(history)} values, {history[0]:.6g} -> {history[-1]:.6g}"
            if history
            else "()"
        )
        return _field_table(record)

    def __repr__(self) -> str:
        shown = self.support.tolist()
        text = str(shown) if len(shown) <= 8 else f"{shown[:8]}"[:-1] + ", ...]"
        return (
            f"OMPResult(status={self.status!r}, loss={self.loss:.10g}, "
            f"k={self.k}, support={text}, n_iter={self.n_iter}, "
            f"time={self.time:.3g}s)"
        )


def _field_table(record: dict) -> str:
    """A ``to_dict()`` record as a two-column Markdown table (``_repr_markdown_``).

    Floats are shown to 6 significant digits, dicts as ``key: value`` lists; pipes
    inside values are escaped.
    """

    def text(value):
        if isinstance(value, float):
            return f"{value:.6g}"
        if isinstance(value, dict):
            return "; ".join(f"{k}: {text(v)}" for k, v in value.items())
        return str(value)

    lines = ["| field | value |", "|:---|:---|"]
    for key, value in record.items():
        escaped = text(value).replace("|", "\\|")
        lines.append(f"| {key} | {escaped} |")
    return "\n".join(lines)
