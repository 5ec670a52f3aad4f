"""One measurement in a fresh process: its time and its peak resident memory.

The parent (:func:`measure`) starts ``python -c "...child.main()"`` with a JSON
spec on stdin and reads one JSON line back. The child imports what it needs,
warms up on a small instance of the same kind (numba specializations compile or
load from their cache, scipy and abess load their code), reads its resident
memory, builds the planted instance (:func:`planted_instance`), then runs each
job of the spec, resetting the peak (``VmHWM``) before each: writing ``5`` to
``/proc/self/clear_refs`` (Linux) resets it to the current RSS. Where that is
not allowed the peak is the process's lifetime maximum (``ru_maxrss``), which
includes the instance's construction, and the record says so.

Jobs: ``{"task": "group_lasso", "lam_ratio": r}`` (``solve_group_lasso`` at
``lam_max / r``), ``{"task": "group_ompr", "k": k}`` and ``{"task": "abess",
"k": k}`` (abess ``LinearRegression`` with ``group=``, sparse input). Losses are
``L(beta) = ||y - X beta||^2 / (2 n)`` for every contender, evaluated by our
datafit on each one's coefficients.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

__all__ = ["main", "measure", "memory_status", "planted_instance"]

#: Planted groups and noise of every instance.
N_ACTIVE = 20
NOISE = 0.5
GROUP_SIZE = 10
_WARMUP = {"n": 300, "p": 2000, "density": 0.01}


def planted_instance(n, p, density, seed, *, dtype=np.float64):
    """``(X, y, groups, true_groups)``: a CSC design and a planted response.

    X is :func:`~nonconvex_reg.datasets.make_sparse_design`; ``N_ACTIVE``
    groups of ``GROUP_SIZE`` consecutive columns carry standard Gaussian
    coefficients and ``y = X beta + NOISE * noise``.
    """
    from nonconvex_reg import Groups
    from nonconvex_reg.datasets import make_sparse_design
    from nonconvex_reg.design import matmul

    X = make_sparse_design(n, p, density, dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed + 1)
    groups = Groups.equal(p, GROUP_SIZE)
    true_groups = np.sort(
        rng.choice(groups.n_groups, min(N_ACTIVE, groups.n_groups), replace=False)
    )
    beta = np.zeros(p)
    for g in true_groups:
        beta[groups[g]] = rng.standard_normal(GROUP_SIZE)
    y = matmul(X, beta) + NOISE * rng.standard_normal(n)
    return X, y, groups, true_groups


def memory_status() -> dict:
    """``VmRSS`` and ``VmHWM`` of this process in bytes (Linux), else ru_maxrss."""
    values = {}
    try:
        with open("/proc/self/status") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    if "VmHWM" not in values:
        # Non-Linux case: the lifetime peak, in kB on Linux and bytes on macOS.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        values["VmHWM"] = peak if sys.platform == "darwin" else peak * 1024
        values.setdefault("VmRSS", values["VmHWM"])
    return values


def _reset_peak() -> bool:
    """Reset ``VmHWM`` to the current RSS; whether that was possible."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def _run_job(job, X, y, groups, true_groups):
    """Run one job; its result fields (time in seconds, loss, status...)."""
    from nonconvex_reg import LeastSquares, solve_group_lasso, tau
    from omp import group_ompr

    datafit = LeastSquares(X, y)
    task = job["task"]
    start = time.perf_counter()
    if task == "group_lasso":
        lam = tau(datafit, groups) / job["lam_ratio"]
        result = solve_group_lasso(datafit, groups, lam)
        elapsed = time.perf_counter() - start
        return {
            "time": elapsed,
            "objective": result.objective,
            "status": result.status,
            "duality_gap": result.duality_gap,
            "n_support": int(result.support.size),
            "n_uncertain": int(result.uncertain.size),
            "n_iter": result.n_iter,
        }
    if task == "group_ompr":
        result = group_ompr(datafit, groups, job["k"])
        elapsed = time.perf_counter() - start
        support = result.support
    else:
        from abess.linear import LinearRegression

        model = LinearRegression(
            support_size=job["k"], group=groups.group_of, fit_intercept=False
        )
        model.fit(X, y)
        elapsed = time.perf_counter() - start
        coef = np.asarray(model.coef_, dtype=float)
        support = np.flatnonzero(groups.norms(coef))
        result = None
    loss = result.loss if result is not None else datafit.value(coef)
    return {
        "time": elapsed,
        "loss": float(loss),
        "status": result.status if result is not None else "fitted",
        "recovered": bool(np.array_equal(np.sort(support), true_groups)),
    }


def main() -> None:
    """The child: read the spec on stdin, print the result as one JSON line."""
    from nonconvex_reg.design import nbytes

    spec = json.loads(sys.stdin.read())
    warm = planted_instance(**_WARMUP, seed=0)
    for job in spec["jobs"]:
        _run_job({**job, "k": min(job.get("k", 1), 5)}, *warm)
    before = memory_status()
    start = time.perf_counter()
    X, y, groups, true_groups = planted_instance(
        spec["n"], spec["p"], spec["density"], spec["seed"]
    )
    built = memory_status()
    record = {
        "build_time": time.perf_counter() - start,
        "matrix_bytes": nbytes(X),
        "nnz": int(X.nnz),
        "rss_before_matrix": before["VmRSS"],
        "rss_with_matrix": built["VmRSS"],
        "peak_reset": True,
        "jobs": [],
    }
    for job in spec["jobs"]:
        record["peak_reset"] &= _reset_peak()
        outcome = _run_job(job, X, y, groups, true_groups)
        outcome["peak_rss"] = memory_status()["VmHWM"]
        record["jobs"].append({**job, **outcome})
    print(json.dumps(record))


def measure(spec, *, timeout, threads=None) -> dict:
    """Run ``spec`` in a fresh process; its record, or ``{"error": ...}``.

    Parameters
    ----------
    spec : dict
        ``n``, ``p``, ``density``, ``seed`` and ``jobs`` (module docstring).
    timeout : float
        Seconds before the child is killed; the record then says so.
    threads : int, optional
        BLAS and OpenMP threads of the child (environment variables); None
        leaves the parent's environment.
    """
    env = dict(os.environ)
    if threads is not None:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(threads)
    code = "from benchmarks.sparse.child import main; main()"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(spec),
            text=True,
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:g} s"}
    if done.returncode != 0:
        return {
            "error": done.stderr.strip().splitlines()[-1]
            if done.stderr
            else f"exit status {done.returncode}"
        }
    return json.loads(done.stdout.strip().splitlines()[-1])
