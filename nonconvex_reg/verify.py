"""``sapp verify``: the paper's lemmas and Theorem 1.1 checked on seeded instances.

Each check compares an *observed* outcome with the outcome the theory *expects*,
and reports the figure that decided it. The checks are our numerical tests of the
statements of arXiv:2402.17902 (Section 2, Theorem 1.1):

* Lemmas 2.1-2.3 and the Hoff identity, per group and end to end (masks);
* the threshold tau: group LASSO is 0 at ``lam = (1 + 1e-3) tau`` and selects exactly
  the argmax-gradient group just below tau;
* Lemmas 2.4 and 2.5 for every penalty (2.4 is expected to fail exactly for the
  penalties that are not subadditive);
* Theorem 1.1 for every datafit and penalty: "confirmed" for the subadditive ones,
  and for the negative controls (``a^2`` and the Lemma 2.1 penalty, neither
  subadditive) an expected "outside theorem: conclusion fails";
* agreement of our group-LASSO solver with the cvxpy oracle.

Nothing is skipped: a check whose observation differs from the expectation is
reported with ``ok = False`` and makes ``sapp verify`` exit with status 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import numpy as np

from .datasets import DATAFIT_KINDS, make_problem
from .masks import (
    IdentityMask,
    L1Mask,
    PowerPropMask,
    SoftmaxMask,
    check_mask_identity,
    minimize_masked,
)
from .oracle import cvxpy_group_lasso
from .penalties import penalty_examples
from .solvers import global_minimum, solve_group_lasso, tau
from .theorem import check_lemma_2_4, check_lemma_2_5, check_theorem_1_1

__all__ = ["Check", "VerificationReport", "run_verification", "verification_penalties"]

IDENTITY_TOL = 1e-8
END_TO_END_TOL = 1e-6
LEMMA_TOL = 1e-10
ORACLE_TOL = 1e-6


def verification_penalties():
    """The penalties checked: every registered example, inside Theorem 1.1 first.

    The examples of :data:`~nonconvex_reg.penalties.PENALTY_REGISTRY` that
    declare ``is_subadditive``, then the negative controls that do not.
    """
    inside = penalty_examples(subadditive=True).values()
    return [*inside, *penalty_examples(subadditive=False).values()]


@dataclass(frozen=True)
class Check:
    """One verified statement: what was expected, what was observed, the figure."""

    check: str
    subject: str
    expected: str
    observed: str
    figure: str
    ok: bool


@dataclass(frozen=True)
class VerificationReport:
    """All checks of one ``sapp verify`` run."""

    seed: int
    checks: list

    @property
    def n_ok(self) -> int:
        """Number of checks whose observation matched the expectation."""
        return sum(c.ok for c in self.checks)

    @property
    def all_ok(self) -> bool:
        """Whether every check matched its expectation."""
        return self.n_ok == len(self.checks)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "seed": self.seed,
            "n_checks": len(self.checks),
            "n_ok": self.n_ok,
            "checks": [asdict(c) for c in self.checks],
        }

    def to_table(self) -> str:
        """Aligned plain-text table, one row per check."""
        header = ("check", "subject", "expected", "observed", "figure", "ok")
        rows = [header] + [
            (
                c.check,
                c.subject,
                c.expected,
                c.observed,
                c.figure,
                "yes" if c.ok else "NO",
            )
            for c in self.checks
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = [
            "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append(f"\n{self.n_ok}/{len(self.checks)} checks as the theory expects.")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        rows = [
            f"| {c.check} | {c.subject} | {c.expected} | {c.observed} | {c.figure} "
            f"| {'yes' if c.ok else 'NO'} |"
            for c in self.checks
        ]
        head = "| check | subject | expected | observed | figure | ok |\n|" + "---|" * 6
        return head + "\n" + "\n".join(rows)


def _mask_checks(seed) -> Iterator[Check]:
    norms = np.logspace(-4, 3, 29)
    problem = make_problem("least_squares", n_groups=3, group_size=2, seed=seed)
    datafit, groups = problem.datafit, problem.groups
    lam = 0.3 * tau(datafit, groups)
    for mask in (
        IdentityMask(),
        SoftmaxMask(),
        L1Mask(),
        PowerPropMask(2.0),
        PowerPropMask(3.0),
    ):
        error = check_mask_identity(mask, norms)
        yield Check(
            "mask identity, per group",
            repr(mask),
            f"rel err <= {IDENTITY_TOL:g}",
            f"rel err {error:.1e}",
            f"{error:.1e}",
            error <= IDENTITY_TOL,
        )
        masked = minimize_masked(datafit, groups, mask, lam, n_starts=10, seed=seed)
        direct = global_minimum(
            datafit, groups, mask.equivalent_penalty(), lam, form="sum"
        )
        gap = abs(masked.objective - direct.objective) / max(1.0, abs(direct.objective))
        yield Check(
            "mask = penalty, end to end",
            repr(mask),
            f"rel gap <= {END_TO_END_TOL:g}",
            f"rel gap {gap:.1e}",
            f"{gap:.1e}",
            gap <= END_TO_END_TOL,
        )


def _tau_checks(seed) -> Iterator[Check]:
    for kind in DATAFIT_KINDS:
        problem = make_problem(kind, n_groups=6, seed=seed)
        datafit, groups = problem.datafit, problem.groups
        threshold = tau(datafit, groups)
        above = solve_group_lasso(datafit, groups, (1 + 1e-3) * threshold)
        yield Check(
            "tau: lam >= tau gives 0",
            kind,
            "0 groups",
            f"{above.group_sparsity} groups",
            f"tau={threshold:.4g}",
            above.status == "converged" and above.group_sparsity == 0,
        )
        argmax = int(
            np.argmax(groups.norms(datafit.gradient(np.zeros(groups.n_features))))
        )
        below = solve_group_lasso(datafit, groups, (1 - 1e-3) * threshold)
        yield Check(
            "tau: just below selects argmax group",
            kind,
            f"support [{argmax}]",
            f"support {below.support.tolist()}",
            "lam=(1-1e-3)tau",
            below.status == "converged" and below.support.tolist() == [argmax],
        )


def _lemma_checks() -> Iterator[Check]:
    for penalty in verification_penalties():
        slack = check_lemma_2_4(penalty)
        expected = "holds" if penalty.is_subadditive else "fails (not subadditive)"
        observed = "holds" if slack >= -LEMMA_TOL else "fails"
        yield Check(
            "Lemma 2.4: sum a <= q^-1(sum q(a))",
            repr(penalty),
            expected,
            observed,
            f"min slack {slack:.2e}",
            observed == expected.split(" ")[0],
        )
        error = check_lemma_2_5(penalty)
        yield Check(
            "Lemma 2.5: equality on 1 group",
            repr(penalty),
            f"rel err <= {LEMMA_TOL:g}",
            f"rel err {error:.1e}",
            f"{error:.1e}",
            error <= LEMMA_TOL,
        )


def _theorem_checks(seed) -> Iterator[Check]:
    for kind in DATAFIT_KINDS:
        problem = make_problem(kind, n_groups=4, seed=seed)
        for penalty in verification_penalties():
            report = check_theorem_1_1(problem.datafit, problem.groups, penalty)
            expected = (
                "confirmed"
                if penalty.is_subadditive
                else "outside theorem: conclusion fails"
            )
            figure = (
                f"dist {report.distance_to_group_lasso:.1e}, "
                f"runner-up +{report.runner_up_gap:.1e}, "
                f"support {report.global_support}"
            )
            yield Check(
                "Theorem 1.1",
                f"{kind}, {penalty!r}",
                expected,
                report.verdict,
                figure,
                report.verdict == expected,
            )


def _oracle_checks(seed) -> Iterator[Check]:
    for kind in DATAFIT_KINDS:
        problem = make_problem(kind, n_groups=10, n_active=3, seed=seed)
        datafit, groups = problem.datafit, problem.groups
        lam = 0.1 * tau(datafit, groups)
        ours = solve_group_lasso(datafit, groups, lam)
        oracle = cvxpy_group_lasso(datafit, groups, lam)
        gap = (oracle.objective - ours.objective) / max(abs(ours.objective), 1e-300)
        same_support = ours.support.tolist() == oracle.support.tolist()
        yield Check(
            "solver vs cvxpy oracle",
            kind,
            f"same support, rel obj diff <= {ORACLE_TOL:g}",
            f"support {'same' if same_support else 'differs'}",
            f"oracle - ours = {gap:.1e} (rel)",
            same_support and abs(gap) <= ORACLE_TOL,
        )


def run_verification(seed=0, progress: Callable | None = None) -> VerificationReport:
    """Run every check on instances drawn with ``seed``.

    Parameters
    ----------
    seed : int, default=0
    progress : callable, optional
        Called with each :class:`Check` as it completes (e.g. to advance a bar).

    Returns
    -------
    VerificationReport
    """
    checks = []
    sections = (
        _mask_checks(seed),
        _tau_checks(seed),
        _lemma_checks(),
        _theorem_checks(seed),
        _oracle_checks(seed),
    )
    for section in sections:
        for check in section:
            checks.append(check)
            if progress is not None:
                progress(check)
    return VerificationReport(seed=seed, checks=checks)
