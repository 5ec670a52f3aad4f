"""Group LASSO: sapp's solver against cvxpy+Clarabel, skglm and celer, in one run.

Issue 2's speed bar: on n=500, p=5000, 500 groups of 10, Gaussian design,
lam = lam_max/10, relative suboptimality <= 1e-8, sapp is >= 100x faster than
cvxpy+Clarabel and at least as fast as skglm's GroupBCD (numba; timed after its JIT
warm-up). The same ratios are reported at lam = 0.999 lam_max and lam_max/100, and
for group logistic regression (against skglm GroupBCD and GroupProxNewton).

Method (benchopt's row shape): every solver's objective is recomputed with *our*
formula from its coefficients, so scaling differences cannot hide; f* is the best
objective any run reached; suboptimality = (f - f*) / f*. Each iterative solver
walks a ladder of tolerances and is timed (median of 3 runs) at the loosest one
that reaches the target suboptimality: the "time to 1e-8". Clarabel runs once at
its defaults and reports the suboptimality it reached.

Run: ``python benchmarks/bench_group_lasso.py [--quick]``. Writes
benchmarks/results/group_lasso.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

from nonconvex_reg import (
    Groups,
    LeastSquares,
    Logistic,
    cvxpy_group_lasso,
    solve_group_lasso,
    tau,
)

TARGET = 1e-8
TOL_LADDER = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13)
RESULTS = Path(__file__).parent / "results"


def make_instance(loss, seed=0, n=500, p=5000, group_size=10, n_active=10):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = np.zeros(p)
    for g in rng.choice(p // group_size, n_active, replace=False):
        beta[g * group_size:(g + 1) * group_size] = rng.standard_normal(group_size)
    if loss == "least_squares":
        y = X @ beta + 0.5 * rng.standard_normal(n)
        datafit = LeastSquares(X, y)
    else:
        y = np.where(rng.random(n) < 1 / (1 + np.exp(-X @ beta)), 1.0, -1.0)
        datafit = Logistic(X, y)
    return datafit, Groups.equal(p, group_size)


def objective(datafit, groups, lam, beta):
    return datafit.value(beta) + lam * groups.norms(beta).sum()


# ----------------------------------------------------------------- solvers
def run_sapp(datafit, groups, lam, tol):
    # A fresh datafit: its cached constants (spectral norms) are built inside the
    # timed region, as a new user's first solve would.
    fresh = type(datafit)(datafit.X, datafit.y)
    return solve_group_lasso(fresh, groups, lam, tol=tol, max_iter=500).beta


def _skglm_parts(datafit, groups, lam):
    from skglm.datafits import LogisticGroup, QuadraticGroup
    from skglm.penalties import WeightedGroupL2

    ptr = groups.ptr.astype(np.int32)
    idx = groups.indices.astype(np.int32)
    fit = (QuadraticGroup if isinstance(datafit, LeastSquares) else LogisticGroup)(
        ptr, idx
    )
    pen = WeightedGroupL2(lam, np.ones(groups.n_groups), ptr, idx)
    return fit, pen


def run_skglm_bcd(datafit, groups, lam, tol):
    from skglm.solvers import GroupBCD

    fit, pen = _skglm_parts(datafit, groups, lam)
    solver = GroupBCD(tol=tol, max_iter=10_000, fit_intercept=False)
    return solver.solve(datafit.X, datafit.y, fit, pen)[0]


def run_skglm_prox_newton(datafit, groups, lam, tol):
    from skglm.solvers import GroupProxNewton

    fit, pen = _skglm_parts(datafit, groups, lam)
    solver = GroupProxNewton(tol=tol, max_iter=500, fit_intercept=False)
    return solver.solve(datafit.X, datafit.y, fit, pen)[0]


def run_celer(datafit, groups, lam, tol):
    from celer import GroupLasso

    size = int(groups.sizes[0])
    model = GroupLasso(groups=size, alpha=lam, tol=tol, fit_intercept=False,
                       max_iter=1000, weights=np.ones(groups.n_groups))
    return model.fit(datafit.X, datafit.y).coef_


def run_clarabel(datafit, groups, lam, tol):
    return cvxpy_group_lasso(datafit, groups, lam, solver="CLARABEL").beta


SOLVERS = {
    "sapp": run_sapp,
    "skglm GroupBCD": run_skglm_bcd,
    "skglm GroupProxNewton": run_skglm_prox_newton,
    "celer GroupLasso": run_celer,
    "cvxpy+Clarabel": run_clarabel,
}


def timed(fn, *args, repeats):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def time_to_target(name, datafit, groups, lam, f_star_guess, repeats):
    """Time at the loosest tolerance reaching TARGET (relative to the guess)."""
    fn = SOLVERS[name]
    ladder = (None,) if name == "cvxpy+Clarabel" else TOL_LADDER
    runs = []
    for tol in ladder:
        elapsed, beta = timed(fn, datafit, groups, lam, tol,
                              repeats=1 if name == "cvxpy+Clarabel" else repeats)
        value = objective(datafit, groups, lam, beta)
        runs.append({"tol": tol, "time": elapsed, "objective": value})
        if (value - f_star_guess) / f_star_guess <= TARGET * 0.5:
            break
    return runs


def benchmark(quick):
    rows = []
    cases = [("least_squares", 0.1), ("least_squares", 0.999), ("least_squares", 0.01),
             ("logistic", 0.1)]
    if quick:
        cases = cases[:2]
    repeats = 1 if quick else 3
    for loss, fraction in cases:
        datafit, groups = make_instance(loss)
        lam = fraction * tau(datafit, groups)
        # 1e-12 is about the smallest relative gap double precision can certify.
        reference = solve_group_lasso(datafit, groups, lam, tol=1e-12, max_iter=200)
        f_guess = reference.objective
        names = ["sapp", "skglm GroupBCD", "cvxpy+Clarabel"]
        names += ["celer GroupLasso"] if loss == "least_squares" else [
            "skglm GroupProxNewton"]
        # JIT warm-up of the numba solvers on the same instance (not timed).
        for name in names:
            if name.startswith("skglm"):
                SOLVERS[name](datafit, groups, lam, 1e-2)
        per_solver = {n: time_to_target(n, datafit, groups, lam, f_guess, repeats)
                      for n in names}
        f_star = min(min(r["objective"] for r in runs) for runs in per_solver.values())
        f_star = min(f_star, f_guess)
        dataset = f"{loss} n=500 p=5000 groups=500x10 lam={fraction:g}*lam_max"
        for name, runs in per_solver.items():
            final = runs[-1]
            subopt = (final["objective"] - f_star) / f_star
            rows.append({
                "solver_name": name,
                "dataset_name": dataset,
                "time": final["time"],
                "objective_value": final["objective"],
                # benchopt's column: f - f* + 1e-10 (absolute)
                "suboptimality": final["objective"] - f_star + 1e-10,
                "relative_suboptimality": subopt,
                "tol": final["tol"],
                "reached_target": bool(subopt <= TARGET),
            })
            print(f"{dataset:55s} {name:22s} {final['time']:8.4f}s  "
                  f"rel subopt {subopt:.1e}  tol {final['tol']}", flush=True)
    return rows


def ratios(rows):
    out = []
    for dataset in dict.fromkeys(r["dataset_name"] for r in rows):
        mine = next(r for r in rows
                    if r["dataset_name"] == dataset and r["solver_name"] == "sapp")
        for r in rows:
            if r["dataset_name"] == dataset and r["solver_name"] != "sapp":
                out.append({"dataset_name": dataset, "peer": r["solver_name"],
                            "peer_time_over_sapp_time": r["time"] / mine["time"],
                            "peer_reached_target": r["reached_target"],
                            "sapp_reached_target": mine["reached_target"]})
    return out


def write_results(rows, quick):
    meta = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "seed": 0,
        "target_relative_suboptimality": TARGET,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "python": platform.python_version(),
        "versions": {pkg: version(pkg) for pkg in
                     ("sapp", "numpy", "scipy", "cvxpy", "clarabel", "skglm", "celer")},
        "quick": quick,
    }
    speed = ratios(rows)
    payload = {"meta": meta, "rows": rows, "ratios": speed}
    lines = ["# Group LASSO: time to relative suboptimality 1e-8", "",
             f"Command: `{meta['command']}`; machine: {meta['machine']}; "
             f"versions: {meta['versions']}", "",
             "| dataset | solver | time (s) | rel. suboptimality | tol | reached |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['dataset_name']} | {r['solver_name']} | {r['time']:.4f} | "
              f"{r['relative_suboptimality']:.1e} | {r['tol']} | "
              f"{'yes' if r['reached_target'] else 'no'} |" for r in rows]
    lines += ["", "| dataset | peer | peer time / sapp time |", "|---|---|---|"]
    lines += [f"| {s['dataset_name']} | {s['peer']} | "
              f"{s['peer_time_over_sapp_time']:.1f}x |" for s in speed]
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "group_lasso_quick" if quick else "group_lasso"
    for suffix, text in ((".json", json.dumps(payload, indent=2)),
                         (".md", "\n".join(lines) + "\n")):
        target = RESULTS / f"{stem}{suffix}"
        with tempfile.NamedTemporaryFile("w", dir=RESULTS, delete=False) as tmp:
            tmp.write(text)
        os.replace(tmp.name, target)  # atomic: never a half-written result
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="two least-squares cases, one repeat")
    args = parser.parse_args()
    write_results(benchmark(args.quick), args.quick)


if __name__ == "__main__":
    main()
