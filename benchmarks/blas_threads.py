"""``sapp bench threads``: BLAS threads against problem size, and the cost of limiting.

The measurements behind the rule of :mod:`nonconvex_reg.threads` (issue 17):

1. **Threads by size.** On planted Gaussian designs ``n x p`` (groups of 10,
   equicorrelated rho = 0.5, 5 active groups; least squares with SNR 5 and
   logistic with signal 5), the wall time of one ``X^T r`` (numpy), of
   ``group_ompr`` (squared and logistic losses, k = 5) and of
   ``solve_group_lasso`` (squared, ``lam = lam_max / 10``), each with
   ``n_threads=1``, with ``n_threads=os.cpu_count()`` (every core) and with the
   library's choice (``n_threads=None``): per setting, one untimed run, then
   the median of ``repeats``.
2. **Cost of the limit.** Per call: :func:`~nonconvex_reg.threads.thread_limit`
   that changes the threads, one that only inherits them (nested), a cached
   ``ThreadpoolController.limit`` and a fresh ``threadpoolctl.threadpool_limits``;
   against the time of the smallest search (``group_omp``, 8 groups of 2, n = 40).

Run: ``sapp bench threads [--quick]`` (quick: the two smallest sizes, 3
repeats). Writes ``threads.{json,md}`` with the load average before and after:
thread effects are the first thing a busy machine distorts.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import warnings

import numpy as np
from threadpoolctl import ThreadpoolController, threadpool_limits

from neural.cli_types import positive_int
from nonconvex_reg import (
    Groups,
    LeastSquares,
    Logistic,
    make_problem,
    solve_group_lasso,
    tau,
)
from nonconvex_reg.threads import default_n_threads, design_work, thread_limit
from omp import group_omp, group_ompr

from .results import (
    add_output_arguments,
    markdown_table,
    print_record,
    run_metadata,
    settle,
    write_results,
)
from .solvers.runs import planted_groups

__all__ = ["SHAPES", "add_arguments", "run", "threads_benchmark", "threads_markdown"]

#: Design sizes ``(n_samples, n_features)`` of the full mode (quick: the first two).
SHAPES = ((200, 1000), (500, 2000), (500, 5000), (2000, 20000), (4000, 40000))
_SEED = 0


def _tasks(n, p):
    """The timed calls at size ``n x p``: name -> fn(n_threads)."""
    rng = np.random.default_rng([_SEED, n, p])
    X, y, _ = planted_groups(rng, "least_squares", n, p // 10, 10, 5, 5.0, 0.5)
    Xl, yl, _ = planted_groups(rng, "logistic", n, p // 10, 10, 5, 5.0, 0.5)
    groups = Groups.equal(p, 10)
    lam = 0.1 * tau(LeastSquares(X, y), groups)
    r = rng.standard_normal(n)

    def product(n_threads):
        with thread_limit(n_threads):
            return X.T @ r

    return {
        "X^T r": product,
        "group_ompr (squared)": lambda t: group_ompr(
            LeastSquares(X, y), groups, 5, n_threads=t
        ),
        "group_ompr (logistic)": lambda t: group_ompr(
            Logistic(Xl, yl, ridge=1e-3), groups, 5, n_threads=t
        ),
        "solve_group_lasso (squared)": lambda t: solve_group_lasso(
            LeastSquares(X, y), groups, lam, n_threads=t
        ),
    }


def _median_times(fn, settings, repeats):
    """Median seconds of ``fn(setting)`` per setting, in blocks of ``repeats`` runs.

    Each block starts after :func:`~benchmarks.results.settle` with an untimed
    run (OpenBLAS threads keep spinning for a while after a threaded call).
    """
    medians = {}
    for setting in settings:
        settle()
        fn(setting)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(setting)
            times.append(time.perf_counter() - start)
        medians[setting] = statistics.median(times)
    return medians


def size_section(shapes, repeats, progress=None):
    """Rows of section 1: one per size and call."""
    cores = os.cpu_count() or 1
    rows = []
    for n, p in shapes:
        design = LeastSquares(np.zeros((n, p)), np.zeros(n))
        chosen = default_n_threads(design_work(design))
        for name, fn in _tasks(n, p).items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                medians = _median_times(fn, (1, None, cores), repeats)
            rows.append(
                {
                    "n_samples": n,
                    "n_features": p,
                    "call": name,
                    "time_1_thread": medians[1],
                    "time_all_threads": medians[cores],
                    "time_library_choice": medians[None],
                    "all_over_1": medians[cores] / medians[1],
                    "library_threads": chosen,
                    "cores": cores,
                }
            )
            if progress is not None:
                progress(rows[-1])
    return rows


def _per_call(context, calls=2000):
    """Mean seconds of entering and leaving ``context()``."""
    start = time.perf_counter()
    for _ in range(calls):
        with context():
            pass
    return (time.perf_counter() - start) / calls


def overhead_section():
    """Section 2: per-call cost of each way to limit, and the smallest search."""
    controller = ThreadpoolController()
    problem = make_problem(n_samples=40, n_groups=8, group_size=2, n_active=2, seed=0)

    def nested():
        with thread_limit(1):
            return _per_call(thread_limit, 20_000)

    # Every core first, so that thread_limit(1) has a limit to set and restore.
    with threadpool_limits(os.cpu_count() or 1, user_api="blas"):
        search = _median_times(
            lambda _: group_omp(problem.datafit, problem.groups, 2), (0,), 200
        )[0]
        return {
            "thread_limit (sets and restores)": _per_call(lambda: thread_limit(1)),
            "thread_limit (nested, inherits)": nested(),
            "ThreadpoolController.limit (cached)": _per_call(
                lambda: controller.limit(limits=1, user_api="blas")
            ),
            "threadpool_limits (fresh)": _per_call(
                lambda: threadpool_limits(1, user_api="blas"), 50
            ),
            "group_omp, 8 groups of 2, n=40 (for scale)": search,
        }


def threads_benchmark(*, quick=False, repeats=None, progress=None) -> dict:
    """Both sections; the JSON record.

    Parameters
    ----------
    quick : bool, default=False
        The two smallest sizes only.
    repeats : int, optional
        Timings per setting (median); default 3 quick, 5 full.
    progress : callable, optional
        Called with each row of section 1 as it is measured.

    Returns
    -------
    dict
        ``meta`` (with ``load_average_start``/``_end``: 1, 5 and 15 minutes),
        ``sizes`` (section 1 rows) and ``overhead`` (seconds per call).
    """
    repeats = (3 if quick else 5) if repeats is None else repeats
    meta = run_metadata(
        ["sapp", "numpy", "scipy", "threadpoolctl"],
        seed=_SEED,
        quick=bool(quick),
        repeats=repeats,
        blas=[
            {k: lib.info()[k] for k in ("prefix", "version", "num_threads")}
            for lib in ThreadpoolController().lib_controllers
            if lib.user_api == "blas"
        ],
        load_average_start=list(os.getloadavg()),
    )
    sizes = size_section(SHAPES[:2] if quick else SHAPES, repeats, progress)
    overhead = overhead_section()
    meta["load_average_end"] = list(os.getloadavg())
    return {"meta": meta, "sizes": sizes, "overhead": overhead}


def threads_markdown(record: dict) -> str:
    """The report of :func:`threads_benchmark`."""
    meta = record["meta"]
    cores = record["sizes"][0]["cores"] if record["sizes"] else os.cpu_count()
    rows = [
        [
            f"{r['n_samples']} x {r['n_features']}",
            r["call"],
            f"{1e3 * r['time_1_thread']:.3f}",
            f"{1e3 * r['time_all_threads']:.3f}",
            f"{r['all_over_1']:.2f}",
            f"{r['library_threads']}",
            f"{1e3 * r['time_library_choice']:.3f}",
        ]
        for r in record["sizes"]
    ]
    header = ["n x p", "call", "1 thread (ms)", f"{cores} threads (ms)"]
    header += [f"{cores} / 1", "library's choice", "library's choice (ms)"]
    search = record["overhead"]["group_omp, 8 groups of 2, n=40 (for scale)"]
    overhead = [
        [name, f"{seconds * 1e6:.1f}", f"{seconds / search:.2%}"]
        for name, seconds in record["overhead"].items()
    ]
    return (
        "\n".join(
            [
                "# BLAS threads against problem size (issue 17)",
                "",
                f"Command: `{meta['command']}`; machine: {meta['machine']}; versions: "
                f"{meta['versions']}; BLAS: {meta['blas']}; median of "
                f"{meta['repeats']} runs after an untimed one.",
                "",
                f"Load average (1, 5, 15 min): {meta['load_average_start']} at the "
                f"start, {meta['load_average_end']} at the end.",
                "",
                "## 1. Wall time by design size and thread count",
                "",
                *markdown_table(header, rows),
                "",
                "## 2. Cost of one limited call",
                "",
                *markdown_table(
                    ["what", "us per call", "of the smallest search"], overhead
                ),
            ]
        )
        + "\n"
    )


def add_arguments(parser) -> None:
    """The options of ``sapp bench threads``."""
    parser.add_argument(
        "--quick", action="store_true", help="the two smallest sizes, 3 repeats"
    )
    parser.add_argument(
        "--repeats", type=positive_int, default=None, help="timings per setting"
    )
    add_output_arguments(parser, "threads.{json,md}")


def run(args) -> int:
    """Run ``sapp bench threads``: write ``threads.{json,md}``, print the report."""

    def progress(row):
        print(
            f"{row['n_samples']} x {row['n_features']} {row['call']}: "
            f"{row['all_over_1']:.2f}",
            file=sys.stderr,
            flush=True,
        )

    record = threads_benchmark(
        quick=args.quick, repeats=args.repeats, progress=progress
    )
    markdown = threads_markdown(record)
    stem = "threads.quick" if args.quick else "threads"
    paths = write_results(args.out, stem, record, markdown)
    print_record(record, markdown, paths, args.json)
    return 0
