"""``sapp bench solvers``: our solvers against their peers, as benchopt curves.

Three sections (issue 6, item 2), every row in benchopt's shape ``(solver_name,
dataset_name, time, objective_value, suboptimality)``:

* **Group LASSO and group logistic regression**, ``min_beta L(beta) + lam *
  sum_g ||beta_g||_2`` with ``lam = lam_max / 10`` (``lam_max = tau``, the
  smallest ``lam`` with solution 0), and for least squares also ``lam = 0.999
  lam_max`` and ``lam_max / 100`` on the same data (full mode; issue 2's four
  settings): ``solve_group_lasso`` against skglm
  (``GroupBCD``; ``GroupProxNewton`` for logistic), celer (``GroupLasso``, least
  squares only) and cvxpy with Clarabel and SCS. Each iterative solver runs at
  every tolerance of a ladder (benchopt's approach), each run timed from scratch,
  so a solver gives a curve of (time, objective) points. cvxpy runs Clarabel once
  at its defaults and SCS at its default ``eps`` and at ``eps = 1e-6``; its
  problem is written directly (vectorized group norms), without the KKT
  certification of :func:`nonconvex_reg.cvxpy_group_lasso`.
* **Group OMPR at equal k**: ``group_ompr`` and ``group_omp`` against abess
  (``group=``, ``support_size=k``) and scikit-learn's ``orthogonal_mp``, on
  planted equicorrelated (rho = 0.5) instances, and on a tiny ill-conditioned
  (rho = 0.9) instance of 16-20 groups of 2 where ``best_subset``'s exhaustive
  optimum is the reference. ``orthogonal_mp`` is not group-aware: its path is run
  to ``k * group_size`` coefficients and the last iterate touching at most ``k``
  groups is kept, so every row is feasible at equal ``k``. The objective is the
  loss ``L(beta)`` (logistic with ridge 1e-3, matched in abess by ``alpha = n
  ridge / 2``).
* **Nonconvex penalties** (no peer): ``solve_penalized`` with each penalty, both
  forms ``L + lam sum q`` and ``L + lam q^{-1}(sum q)`` (quick: sum only), at a
  tolerance ladder, against the enumeration oracle ``global_minimum`` (``2^t``
  restricted solves for ``t`` groups) on 6 groups of 2 (quick: 4), ``lam = 0.3
  tau``. Rows carry ``oracle_gap = (f - f_oracle) / |f_oracle|``, which is
  negative only within the oracle's own tolerance.

Method. Every objective is recomputed with *our* formula
(:func:`nonconvex_reg.solvers.objectives.objective_value`) from each solver's
coefficients, so scaling conventions cannot hide. The time of a run is its
wall-clock time from building the solver's inputs to its coefficients (median of 3
repeats in the full mode, 1 in the quick mode; cvxpy and the oracles run once);
numba and cvxpy are warmed up on a tiny instance first, untimed, and BLAS is
limited to one thread (threadpoolctl; as ``make bench``), so every solver runs
single-threaded: on a shared 2-core machine threaded BLAS made our solver 4x
slower and the oracle's many small solves 20x slower. ``f*`` is the best
objective over all runs on a dataset, and the suboptimality of a run is
``(f - f*) / |f*|`` (``|f*|`` replaced by 1 if ``f* = 0``), exact in the JSON; the
plot floors it at :data:`PLOT_FLOOR` so that exact zeros show on a log axis. "Time
to 1e-6" is the shortest run whose suboptimality is at most 1e-6. The tables and
the plot are written by :mod:`benchmarks.solvers.report`, which also checks issue
2's speed bar: at relative suboptimality 1e-8, ``solve_group_lasso`` at least
100x faster than cvxpy with Clarabel and at least as fast as skglm's
``GroupBCD``.

Datasets: Gaussian designs with planted groups; group LASSO n = 500, p = 5000
(500 groups of 10; quick: n = 200, p = 1000); OMPR the same sizes with k in {5,
10} (quick: k = 5); the exact instance n = 100 with 20 groups of 2 (quick 16),
k = 3; nonconvex n = 30 with 6 groups of 2 (quick 4). ``scale`` shrinks the
numbers of groups for smoke tests.

Run time on the 2-core development machine, shared (load average about 5): the
quick mode about 1 minute (38 s of CPU), the full mode about 5 minutes (190 s of
CPU; cvxpy takes about 2 minutes of it, the nonconvex oracle about 1.5). Timings
are wall-clock on whatever else the machine runs: compare solvers within one run.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
from threadpoolctl import threadpool_limits

from nonconvex_reg import (
    GroupLassoPenalty,
    Groups,
    LeastSquares,
    Logistic,
    tau,
)
from nonconvex_reg.penalties import penalty_examples
from nonconvex_reg.solvers.objectives import objective_value
from nonconvex_reg.validation import check_int, check_scalar

from ..results import json_ready, run_metadata
from .peers import LOSSES, OMP, ORACLE, SOLVER_NAMES, SOLVERS

__all__ = [
    "PENALTY_NAMES",
    "PLOT_FLOOR",
    "SOLVER_NAMES",
    "TARGETS",
    "planted_groups",
    "solver_benchmark",
]

#: Relative suboptimalities whose time-to-reach the Markdown reports.
TARGETS = (1e-6, 1e-8)

#: Plot-only floor of the relative suboptimality (the JSON keeps exact values).
PLOT_FLOOR = 1e-16

_PENALTIES = penalty_examples()  # every registered example, by label
#: Penalties of the nonconvex section, for ``penalties=``.
PENALTY_NAMES = tuple(_PENALTIES)

_LOGISTIC_RIDGE = 1e-3  # OMPR's logistic loss only; abess matches it by alpha
_PACKAGES = ("sapp", "numpy", "scipy", "numba", "cvxpy", "clarabel", "scs")
_PACKAGES += ("skglm", "celer", "abess", "scikit-learn", "matplotlib")

#: Sizes per mode, (full, quick).
_GROUP_LASSO = (  # n_samples, n_groups, group_size, lam / lam_max per datafit
    (500, 500, 10, {"least_squares": (0.1, 0.999, 0.01), "logistic": (0.1,)}),
    (200, 100, 10, {"least_squares": (0.1,), "logistic": (0.1,)}),
)
#: How dataset names spell ``lam`` for each fraction of ``lam_max``.
_LAM_NAMES = {0.1: "lam_max/10", 0.999: "0.999*lam_max", 0.01: "lam_max/100"}
_OMPR = ((500, 500, 10, (5, 10)), (200, 100, 10, (5,)))  # ... and the k's
_EXACT = ((100, 20, 2, 3), (100, 16, 2, 3))  # ... and k
_NONCONVEX = ((30, 6, 2, ("sum", "inverse")), (30, 4, 2, ("sum",)))  # ... forms
_REPEATS = (3, 1)
_BLAS_THREADS = 1  # every solver single-threaded, as `make bench` runs


# ---------------------------------------------------------------- datasets
@dataclass(frozen=True)
class _Dataset:
    """One problem: its section, datafit and sizes; built from the seed."""

    section: str  # "group_lasso", "ompr", "ompr_exact" or "nonconvex"
    datafit: str
    n_samples: int
    n_groups: int
    group_size: int
    index: int  # seed component, distinct per instance
    k: int = 0
    rho: float = 0.0
    penalty: str = ""
    form: str = "sum"
    lam_fraction: float = 0.1  # group LASSO: lam / lam_max

    @property
    def info(self) -> dict:
        """Parameters of the dataset (the fields of its name)."""
        info = {
            "datafit": self.datafit,
            "n_samples": self.n_samples,
            "n_features": self.n_groups * self.group_size,
            "group_size": self.group_size,
        }
        if self.section == "group_lasso":
            info["lam"] = _LAM_NAMES[self.lam_fraction]
        elif self.section == "nonconvex":
            info.update(penalty=self.penalty, form=self.form, lam="0.3*lam_max")
        else:
            info.update(k=self.k, rho=self.rho)
        return info

    @property
    def name(self) -> str:
        """benchopt-style ``section[key=value,...]``."""
        return f"{self.section}[{','.join(f'{k}={v}' for k, v in self.info.items())}]"

    def build(self, seed):
        """The instance: data, groups, ``lam``, penalty and planted groups."""
        level = {"least_squares": 10.0, "logistic": 3.0}[self.datafit]
        n_active = max(1, min(10, self.n_groups // 4))
        if self.section in ("ompr", "ompr_exact"):
            level, n_active = (1.0 if self.datafit == "least_squares" else 3.0), self.k
        elif self.section == "nonconvex":
            level, n_active = 2.0, min(2, self.n_groups)
        ridge = _LOGISTIC_RIDGE if self.section.startswith("ompr") else 0.0
        X, y, active = _planted(self, n_active, level, [seed, self.index])
        inst = _Instance(
            X,
            y,
            Groups.equal(X.shape[1], self.group_size),
            self.datafit,
            ridge,
            active,
            k=self.k,
            form=self.form,
        )
        if self.section == "group_lasso":
            inst.penalty = GroupLassoPenalty()
            inst.lam = self.lam_fraction * inst.tau()
        elif self.section == "nonconvex":
            inst.penalty, inst.lam = _PENALTIES[self.penalty], 0.3 * inst.tau()
        return inst


@dataclass
class _Instance:
    X: np.ndarray
    y: np.ndarray
    groups: Groups
    loss: str
    ridge: float
    active: np.ndarray
    k: int = 0
    form: str = "sum"
    penalty: object = None
    lam: float = 0.0

    def datafit(self):
        """A fresh datafit (cached constants are rebuilt inside the timed region)."""
        kind = LeastSquares if self.loss == "least_squares" else Logistic
        return kind(self.X, self.y, ridge=self.ridge)

    def tau(self):
        return tau(self.datafit(), self.groups)

    def objective(self, beta):
        """Our objective at ``beta``: the loss alone for OMPR (no penalty)."""
        if self.penalty is None:
            return float(self.datafit().value(beta))
        return objective_value(
            self.datafit(), self.groups, self.penalty, self.lam, beta, self.form
        )


def _planted(dataset, n_active, level, seed):
    """:func:`planted_groups` for one dataset of the benchmark."""
    return planted_groups(
        np.random.default_rng(seed),
        dataset.datafit,
        dataset.n_samples,
        dataset.n_groups,
        dataset.group_size,
        n_active,
        level,
        dataset.rho,
    )


def planted_groups(rng, datafit, n_samples, n_groups, group_size, n_active, level, rho):
    """Gaussian design (equicorrelated ``rho``) with ``n_active`` planted groups.

    Least squares: noise variance ``var(X beta) / level``; logistic: labels in
    {-1, +1} drawn from the model with ``std(X beta) = level``. The draws come
    from ``rng`` in a fixed order (:mod:`benchmarks.group_ompr` shares them).

    Returns
    -------
    X, y, active : ndarray
        Design, response and the sorted planted group ids.
    """
    n, size = n_samples, group_size
    X = rng.standard_normal((n, n_groups * size))
    if rho:
        X = np.sqrt(1 - rho) * X + np.sqrt(rho) * rng.standard_normal((n, 1))
    active = np.sort(rng.choice(n_groups, n_active, replace=False))
    beta = np.zeros(X.shape[1])
    for g in active:
        beta[g * size : (g + 1) * size] = rng.standard_normal(size)
    signal = X @ beta
    if datafit == "least_squares":
        y = signal + np.sqrt(np.var(signal) / level) * rng.standard_normal(n)
    else:
        signal *= level / np.std(signal)
        y = np.where(rng.random(n) < 1 / (1 + np.exp(-signal)), 1.0, -1.0)
    return X, y, active


def _datasets(quick, scale, penalties):
    """Every dataset of a mode; ``scale`` shrinks the numbers of groups."""
    mode = int(quick)

    def scaled(n_groups, minimum):
        return max(minimum, round(n_groups * scale))

    n, groups, size, fractions = _GROUP_LASSO[mode]
    out = [
        _Dataset("group_lasso", loss, n, scaled(groups, 4), size, i, lam_fraction=f)
        for i, loss in enumerate(LOSSES)
        for f in fractions[loss]
    ]
    n, groups, size, ks = _OMPR[mode]
    out += [
        _Dataset("ompr", loss, n, scaled(groups, 2 * max(ks)), size, 10 * i + k, k, 0.5)
        for i, loss in enumerate(LOSSES, start=1)
        for k in ks
    ]
    n, groups, size, k = _EXACT[mode]
    out += [
        _Dataset("ompr_exact", loss, n, scaled(groups, 2 * k), size, 40 + i, k, 0.9)
        for i, loss in enumerate(LOSSES)
    ]
    n, groups, size, forms = _NONCONVEX[mode]
    out += [
        _Dataset(
            "nonconvex", loss, n, scaled(groups, 2), size, 50 + i, penalty=p, form=f
        )
        for i, loss in enumerate(LOSSES)
        for p in penalties
        for f in forms
    ]
    return out


# ------------------------------------------------------------------ running
def _timed(fn, repeats):
    """Median wall-clock time of ``repeats`` calls, the last output, warnings seen."""
    times = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(repeats):
            start = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - start)
    return statistics.median(times), out, sorted({w.category.__name__ for w in caught})


def _support(groups, beta):
    return np.flatnonzero(groups.norms(beta))


def _f1(selected, truth):
    selected, truth = set(map(int, selected)), set(map(int, truth))
    if not selected and not truth:
        return 1.0
    return 2 * len(selected & truth) / (len(selected) + len(truth))


def _run_dataset(dataset, names, seed, repeats, warmed):
    """Rows of every applicable solver on ``dataset`` (``warmed``: keys done)."""
    inst = dataset.build(seed)
    tiny = replace(
        dataset, n_samples=30, n_groups=6, group_size=2, index=999, k=min(dataset.k, 2)
    ).build(seed)
    rows = []
    for name in names:
        solver = SOLVERS[name]
        if (
            dataset.section not in solver.sections
            or dataset.datafit not in solver.losses
        ):
            continue
        key = (name, dataset.datafit, dataset.penalty, dataset.form)
        if solver.warm and key not in warmed:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                solver.run(tiny, solver.ladder[0])
            warmed.add(key)
        repeat = 1 if solver.once else repeats
        for tol in solver.ladder:
            elapsed, (beta, extra), caught = _timed(
                partial(solver.run, inst, tol), repeat
            )
            selected = _support(inst.groups, beta)
            row = {
                "solver_name": name,
                "dataset_name": dataset.name,
                "time": elapsed,
                "objective_value": inst.objective(beta),
                "tol": tol,
                "support_size": int(selected.size),
                **extra,
                "n_repeats": repeat,
                "warnings": caught,
            }
            if dataset.section in OMP:
                row.update(k=dataset.k, support_f1=_f1(selected, inst.active))
            if dataset.section == "nonconvex":
                row["support"] = selected.tolist()
            rows.append(row)
    return _oracle_gaps(rows) if dataset.section == "nonconvex" else rows


def _oracle_gaps(rows):
    """``oracle_gap = (f - f_oracle) / |f_oracle|`` and support agreement."""
    oracle = next((r for r in rows if r["solver_name"] == ORACLE), None)
    if oracle is not None:
        for row in rows:
            gap = row["objective_value"] - oracle["objective_value"]
            row["oracle_gap"] = gap / _magnitude(oracle["objective_value"])
            row["same_support_as_oracle"] = row["support"] == oracle["support"]
    return rows


def _magnitude(f_star):
    return abs(f_star) if f_star != 0 else 1.0


def _add_suboptimality(rows):
    """``f*`` = best objective of the dataset; each row gets its gap to it."""
    best = min(rows, key=lambda r: r["objective_value"])
    f_star = best["objective_value"]
    for row in rows:
        row["absolute_suboptimality"] = row["objective_value"] - f_star
        row["suboptimality"] = row["absolute_suboptimality"] / _magnitude(f_star)
    return f_star, best["solver_name"]


def _check_names(values, name, choices):
    if values is None:
        return list(choices)
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise TypeError(
            f"`{name}` must be a list of names from {choices}; got {values!r}."
        )
    values = list(values)
    unknown = [v for v in values if v not in choices]
    if unknown or not values:
        raise ValueError(
            f"`{name}` must be a non-empty list of names from {choices}; got "
            f"{values!r}."
        )
    return [c for c in choices if c in values]


def _missing(name):
    """The first import name ``name`` needs that is not installed, or ``None``."""
    modules = SOLVERS[name].modules
    return next((m for m in modules if importlib.util.find_spec(m) is None), None)


def solver_benchmark(
    *, quick=False, seed=0, scale=1.0, solvers=None, penalties=None, progress=None
) -> dict:
    """Run every solver on every dataset; one benchopt-shaped row per run.

    For each dataset ``f*`` is the best objective over all its runs, and a run's
    ``suboptimality`` is ``(f - f*) / |f*|`` (the module docstring has the method).

    Parameters
    ----------
    quick : bool, default=False
        Smaller problems, one repeat per timing, the sum form only (about 1
        minute instead of about 5 on the 2-core development machine).
    seed : int, default=0
        Seed of every generated instance.
    scale : float, default=1.0
        Fraction in (0, 1] of the default numbers of groups (sample sizes are
        kept; each count keeps a small minimum): a knob for smoke tests.
    solvers : list of str, optional
        Names from :data:`SOLVER_NAMES`; default all. A solver whose package is
        not installed is skipped and listed in ``record["meta"]["skipped_solvers"]``.
    penalties : list of str, optional
        Names from :data:`PENALTY_NAMES` for the nonconvex section; default all.
    progress : callable, optional
        Called as ``progress(done, total, dataset_name)`` after each dataset.

    Returns
    -------
    dict
        ``meta`` (:func:`~benchmarks.results.run_metadata` plus the settings),
        ``datasets`` (parameters, ``f_star`` and ``best_solver`` of each) and
        ``rows``: ``solver_name``, ``dataset_name``, ``time`` (seconds),
        ``objective_value``, ``suboptimality``, ``absolute_suboptimality``,
        ``tol`` (``None``: the solver's default), ``support_size``, ``n_repeats``,
        ``warnings`` (category names), and where they apply ``status``,
        ``max_iter``, ``k`` and ``support_f1`` (OMPR), ``oracle_gap`` and
        ``same_support_as_oracle`` (nonconvex).

    Raises
    ------
    TypeError
        If ``quick`` is not a bool, ``seed`` not an integer, ``solvers`` or
        ``penalties`` not a list of names, or ``progress`` not callable.
    ValueError
        If ``seed`` is negative, ``scale`` outside (0, 1] or a name unknown.

    See Also
    --------
    solver_markdown, plot_suboptimality, save_solvers

    Examples
    --------
    >>> record = solver_benchmark(quick=True, scale=0.1, solvers=["sapp group_omp"])
    >>> sorted({d["section"] for d in record["datasets"]})
    ['ompr', 'ompr_exact']
    >>> min(r["suboptimality"] for r in record["rows"])
    0.0
    """
    if not isinstance(quick, bool):
        raise TypeError(f"`quick` must be a bool; got {quick!r}.")
    seed = check_int(seed, "seed", low=0)
    scale = check_scalar(scale, "scale", low=0.0, high=1.0, low_inclusive=False)
    solvers = _check_names(solvers, "solvers", SOLVER_NAMES)
    penalties = _check_names(penalties, "penalties", PENALTY_NAMES)
    if progress is not None and not callable(progress):
        raise TypeError(f"`progress` must be callable or None; got {progress!r}.")
    skipped = {s: f"{_missing(s)} is not installed" for s in solvers if _missing(s)}
    running = [s for s in solvers if s not in skipped]
    plan = [
        d
        for d in _datasets(quick, scale, penalties)
        if any(
            d.section in SOLVERS[s].sections and d.datafit in SOLVERS[s].losses
            for s in running
        )
    ]
    meta = run_metadata(
        _PACKAGES,
        benchmark="solvers",
        seed=seed,
        quick=quick,
        scale=scale,
        solvers=running,
        skipped_solvers=skipped,
        penalties=penalties,
        targets=list(TARGETS),
        blas_threads=_BLAS_THREADS,
        suboptimality="(f - f*) / |f*|, f* = best objective of all runs on a dataset",
    )
    datasets, rows, warmed = [], [], set()
    for done, dataset in enumerate(plan, start=1):
        with threadpool_limits(limits=_BLAS_THREADS):
            found = _run_dataset(dataset, running, seed, _REPEATS[int(quick)], warmed)
        f_star, best = _add_suboptimality(found)
        datasets.append(
            {
                "dataset_name": dataset.name,
                "section": dataset.section,
                **dataset.info,
                "f_star": f_star,
                "best_solver": best,
            }
        )
        rows += found
        if progress is not None:
            progress(done, len(plan), dataset.name)
    return json_ready({"meta": meta, "datasets": datasets, "rows": rows})
