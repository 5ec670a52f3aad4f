"""The four sections of ``sapp bench sparse`` and the record they make.

1. **Group LASSO against skglm** (in this process, both warmed up): planted
   instance of :func:`~benchmarks.sparse.child.planted_instance`, ``lam =
   lam_max / 20``. Both minimize ``||y - X b||^2 / (2 n) + lam sum_g ||b_g||``:
   skglm's ``QuadraticGroup`` is ``||y - Xw||^2 / (2 n)`` and
   ``WeightedGroupL2(lam, weights=1)`` is ``lam sum_g ||w_g||``, so no
   conversion is needed; every objective is evaluated by our datafit. Each
   solver walks its tolerance ladder until its objective is within
   ``TARGET`` (relative) of the best objective of the section (a sapp solve at
   ``tol=1e-12`` included), then that tolerance is timed ``repeats`` times
   (median).
2. **Large problem** (a child process): ``solve_group_lasso`` at ``lam_max /
   20`` and ``lam_max / 5``; time, status, duality gap and the peak RSS
   against the bar ``3 * nnz bytes + BAR_VECTORS * 8 * (n + p)`` above the
   process's RSS before the matrix existed.
3. **Group OMPR against abess** (child processes): ``group_ompr`` (defaults)
   and abess with sparse input, ``k = 20``, at the section's ``p`` and on a
   sweep of smaller ``p`` (abess's time grows fast with ``p``); abess is killed
   after ``abess_timeout`` seconds.
4. **Growth**: ``solve_group_lasso`` (``lam_max / 10``) and ``group_ompr``
   (``k = 10``) in one child per ``(n, p, density)``, with peak RSS.

Sections 1 and 3 time sapp with the default threads and with one BLAS thread
(threadpoolctl, or the child's environment); skglm is timed both ways, abess
once (its ``thread`` parameter defaults to 1 and it calls no BLAS). The load
average is recorded at the start and end of every section.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from ..results import run_metadata
from .child import measure, planted_instance

__all__ = ["FULL", "QUICK", "BAR_VECTORS", "TARGET", "Scale", "sparse_benchmark"]

#: Relative suboptimality both solvers must reach in section 1.
TARGET = 1e-8
#: Bar of section 1: sapp at least this many times faster than skglm.
SPEED_BAR = 3.0
#: Length-(n + p) float64 vectors allowed besides 3 copies of the matrix.
BAR_VECTORS = 16
SAPP_LADDER = (1e-6, 1e-8, 1e-10)
SKGLM_LADDER = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9)
SEED = 0


@dataclasses.dataclass(frozen=True)
class Scale:
    """Sizes of one run: full (the issue's), quick, or a test's."""

    lasso: tuple  # (n, p, density) of sections 1 and 3
    large: tuple  # (n, p, density) of section 2
    abess_sweep: tuple  # smaller p of section 3
    growth: tuple  # ((n, p, density), ...) of section 4
    repeats: int
    abess_timeout: float
    child_timeout: float

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return dataclasses.asdict(self)


FULL = Scale(
    lasso=(5_000, 100_000, 2e-3),
    large=(100_000, 1_000_000, 1e-4),
    abess_sweep=(10_000, 20_000, 40_000),
    growth=tuple(
        (n, p, d)
        for n in (5_000, 20_000, 100_000)
        for p in (100_000, 1_000_000)
        for d in (1e-4, 1e-3, 1e-2)
        if n * p * d <= 1e8
    ),
    repeats=3,
    abess_timeout=1200.0,
    child_timeout=1800.0,
)
QUICK = Scale(
    lasso=(2_000, 20_000, 2e-3),
    large=(20_000, 200_000, 2.5e-4),
    abess_sweep=(5_000,),
    growth=((2_000, 20_000, 1e-3), (2_000, 20_000, 1e-2), (10_000, 100_000, 1e-3)),
    repeats=1,
    abess_timeout=300.0,
    child_timeout=600.0,
)


def _load() -> list:
    return [round(v, 2) for v in os.getloadavg()]


def _objective(datafit, groups, lam, beta) -> float:
    return float(datafit.value(beta) + lam * groups.norms(beta).sum())


def _sapp(X, y, groups, lam, tol):
    from nonconvex_reg import LeastSquares, solve_group_lasso

    # A fresh datafit: its constants are computed inside the timed region.
    return solve_group_lasso(
        LeastSquares(X, y), groups, lam, tol=tol, max_iter=500
    ).beta


def _skglm(X, y, groups, lam, tol):
    from skglm.datafits import QuadraticGroup
    from skglm.penalties import WeightedGroupL2
    from skglm.solvers import GroupBCD

    ptr, idx = groups.ptr.astype(np.int32), groups.indices.astype(np.int32)
    penalty = WeightedGroupL2(lam, np.ones(groups.n_groups), ptr, idx)
    solver = GroupBCD(tol=tol, max_iter=10_000, fit_intercept=False)
    return solver.solve(X, y, QuadraticGroup(ptr, idx), penalty)[0]


_LASSO_SOLVERS = {
    "sapp": (_sapp, SAPP_LADDER),
    "skglm GroupBCD": (_skglm, SKGLM_LADDER),
}


def _time_to_target(fn, ladder, args, objective, best, repeats):
    """Walk the ladder to the first tolerance within TARGET of ``best``; time it."""
    runs = []
    for tol in ladder:
        start = time.perf_counter()
        beta = fn(*args, tol)
        runs.append(
            {
                "tol": tol,
                "time": time.perf_counter() - start,
                "objective": objective(beta),
            }
        )
        if (runs[-1]["objective"] - best) / abs(best) <= TARGET:
            break
    final = runs[-1]
    times = [final["time"]]
    for _ in range(repeats - 1):
        start = time.perf_counter()
        fn(*args, final["tol"])
        times.append(time.perf_counter() - start)
    return {**final, "time": statistics.median(times), "times": times, "ladder": runs}


def lasso_section(scale, progress) -> dict:
    """Section 1: group LASSO, sapp against skglm's GroupBCD."""
    from nonconvex_reg import LeastSquares, solve_group_lasso, tau

    load = _load()
    n, p, density = scale.lasso
    X, y, groups, _ = planted_instance(n, p, density, SEED)
    datafit = LeastSquares(X, y)
    lam = tau(datafit, groups) / 20

    def objective(beta):
        return _objective(datafit, groups, lam, beta)

    # Warm-up: compile both solvers' kernels for this storage and dtype.
    wX, wy, wgroups, _ = planted_instance(300, 2000, density, SEED)
    wlam = tau(LeastSquares(wX, wy), wgroups) / 20
    for fn, _ in _LASSO_SOLVERS.values():
        fn(wX, wy, wgroups, wlam, 1e-6)
    reference = solve_group_lasso(datafit, groups, lam, tol=1e-12, max_iter=500)
    best = reference.objective
    rows = []
    for threads in (None, 1):
        for name, (fn, ladder) in _LASSO_SOLVERS.items():
            progress(f"lasso {name} threads={threads or 'default'}")
            with threadpool_limits(threads):
                row = _time_to_target(
                    fn, ladder, (X, y, groups, lam), objective, best, scale.repeats
                )
            rows.append({"solver_name": name, "threads": threads or "default", **row})
            best = min(best, row["objective"], *(r["objective"] for r in row["ladder"]))
    for row in rows:
        row["suboptimality"] = (row["objective"] - best) / abs(best) + 1e-10
    return {
        "n": n,
        "p": p,
        "density": density,
        "nnz": int(X.nnz),
        "lam": lam,
        "lam_ratio": 20,
        "best_objective": best,
        "reference_status": reference.status,
        "reference_support": int(reference.support.size),
        "rows": rows,
        "load": [load, _load()],
    }


def large_section(scale, progress) -> dict:
    """Section 2: the large problem, solved and certified in a child process."""
    load = _load()
    n, p, density = scale.large
    progress(f"large n={n} p={p}")
    jobs = [{"task": "group_lasso", "lam_ratio": r} for r in (20, 5)]
    record = measure(
        {"n": n, "p": p, "density": density, "seed": SEED, "jobs": jobs},
        timeout=scale.child_timeout,
    )
    return {
        "n": n,
        "p": p,
        "density": density,
        "bar_vectors": BAR_VECTORS,
        **record,
        "load": [load, _load()],
    }


def ompr_section(scale, progress) -> dict:
    """Section 3: group OMPR against abess, at the section's p and a sweep."""
    load = _load()
    n, p, density = scale.lasso
    rows = []
    for width in (*scale.abess_sweep, p):
        spec = {"n": n, "p": width, "density": density, "seed": SEED}
        for threads in (None, 1):
            progress(f"ompr p={width} threads={threads or 'default'}")
            record = measure(
                {**spec, "jobs": [{"task": "group_ompr", "k": 20}]},
                timeout=scale.child_timeout,
                threads=threads,
            )
            rows.append(
                {
                    "solver_name": "sapp group_ompr",
                    "p": width,
                    "threads": threads or "default",
                    **record,
                }
            )
        progress(f"abess p={width}")
        record = measure(
            {**spec, "jobs": [{"task": "abess", "k": 20}]}, timeout=scale.abess_timeout
        )
        rows.append(
            {
                "solver_name": "abess (sparse)",
                "p": width,
                "threads": "abess default (1)",
                **record,
            }
        )
    return {"n": n, "density": density, "k": 20, "rows": rows, "load": [load, _load()]}


def growth_section(scale, progress) -> dict:
    """Section 4: time and peak RSS of both solvers across sizes and densities."""
    load = _load()
    rows = []
    for n, p, density in scale.growth:
        progress(f"growth n={n} p={p} density={density:g}")
        jobs = [
            {"task": "group_lasso", "lam_ratio": 10},
            {"task": "group_ompr", "k": 10},
        ]
        record = measure(
            {"n": n, "p": p, "density": density, "seed": SEED, "jobs": jobs},
            timeout=scale.child_timeout,
        )
        rows.append({"n": n, "p": p, "density": density, **record})
    return {"rows": rows, "load": [load, _load()]}


SECTIONS = {
    "lasso": lasso_section,
    "large": large_section,
    "ompr": ompr_section,
    "growth": growth_section,
}


def sparse_benchmark(*, scale=FULL, sections=tuple(SECTIONS), progress=None) -> dict:
    """Run the chosen sections at ``scale``; the JSON record.

    Parameters
    ----------
    scale : Scale, default=FULL
    sections : sequence of str, default=all of SECTIONS
    progress : callable, optional
        Called as ``progress(done, total, label)`` before each step.

    Returns
    -------
    dict
        ``meta`` and one entry per section run.
    """
    steps = {"count": 0}

    def step(label):
        steps["count"] += 1
        if progress is not None:
            progress(steps["count"], None, label)

    meta = run_metadata(
        ["sapp", "numpy", "scipy", "numba", "skglm", "abess"],
        seed=SEED,
        scale=scale.to_dict(),
        target=TARGET,
        speed_bar=SPEED_BAR,
        blas=[
            {k: info.get(k) for k in ("internal_api", "num_threads")}
            for info in threadpool_info()
        ],
        load_start=_load(),
    )
    record = {"meta": meta}
    for name in sections:
        record[name] = SECTIONS[name](scale, step)
    meta["load_end"] = _load()
    return record
