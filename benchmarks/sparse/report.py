"""The Markdown report of ``sapp bench sparse``: one table per section, the bars."""

from __future__ import annotations

from ..results import markdown_table
from .runs import BAR_VECTORS, SPEED_BAR, TARGET

__all__ = ["large_bar", "lasso_speedups", "sparse_markdown"]

_MB = 1e6


def _mb(value) -> str:
    return f"{value / _MB:.0f}"


def lasso_speedups(section) -> dict:
    """The speed-up of sapp over skglm (time ratio), per thread setting."""
    times = {(r["solver_name"], r["threads"]): r["time"] for r in section["rows"]}
    return {
        threads: times[("skglm GroupBCD", threads)] / times[("sapp", threads)]
        for (name, threads) in times
        if name == "sapp" and ("skglm GroupBCD", threads) in times
    }


def large_bar(record, job) -> tuple[float, float]:
    """``(peak RSS above the RSS before the matrix, the bar)``, in bytes."""
    above = job["peak_rss"] - record["rss_before_matrix"]
    bar = 3 * record["matrix_bytes"] + BAR_VECTORS * 8 * (record["n"] + record["p"])
    return above, bar


def _lasso_lines(section) -> list[str]:
    rows = [
        [
            r["solver_name"],
            r["threads"],
            r["tol"],
            f"{r['time']:.3f}",
            f"{r['objective']:.12g}",
            f"{r['suboptimality']:.1e}",
            " ".join(f"{t:.2f}" for t in r["times"]),
        ]
        for r in section["rows"]
    ]
    speedups = lasso_speedups(section)
    verdict = ", ".join(
        f"{threads} threads: {ratio:.1f}x "
        f"({'met' if ratio >= SPEED_BAR else 'NOT met'})"
        for threads, ratio in speedups.items()
    )
    return [
        f"## 1. Group LASSO: n = {section['n']:,}, p = {section['p']:,}, density "
        f"{section['density']:g} (nnz {section['nnz']:,}), groups of 10, lam = "
        "lam_max / 20",
        "",
        "Objective of both: ||y - X b||^2 / (2 n) + lam sum_g ||b_g|| (skglm "
        "QuadraticGroup + WeightedGroupL2 with unit weights: the same scaling). "
        f"Time at the loosest tolerance reaching {TARGET:g} relative "
        "suboptimality, median of the listed runs, after a compilation warm-up; "
        f"reference support {section['reference_support']} groups "
        f"({section['reference_status']}). Load average {section['load'][0]} -> "
        f"{section['load'][1]}.",
        "",
        *markdown_table(
            [
                "solver",
                "threads",
                "tol",
                "time (s)",
                "objective",
                "suboptimality",
                "runs (s)",
            ],
            rows,
        ),
        "",
        f"Bar: sapp >= {SPEED_BAR:g}x faster than skglm GroupBCD at the same "
        f"objective: {verdict}.",
    ]


def _large_lines(section) -> list[str]:
    header = (
        f"## 2. Large problem: n = {section['n']:,}, p = {section['p']:,}, "
        f"density {section['density']:g}"
    )
    if "error" in section:
        return [header, "", f"Failed: {section['error']}."]
    rows, verdicts = [], []
    for job in section["jobs"]:
        above, bar = large_bar(section, job)
        verdicts.append(above <= bar)
        rows.append(
            [
                f"lam_max / {job['lam_ratio']}",
                f"{job['time']:.1f}",
                job["status"],
                f"{job['duality_gap']:.1e}",
                job["n_support"],
                job["n_uncertain"],
                _mb(job["peak_rss"]),
                _mb(above),
                f"{above / section['matrix_bytes']:.2f}",
                _mb(bar),
            ]
        )
    return [
        header,
        "",
        f"Matrix (values + indices): {_mb(section['matrix_bytes'])} MB, nnz "
        f"{section['nnz']:,}, built in {section['build_time']:.1f} s. RSS before "
        f"the matrix (interpreter, libraries, warm-up): "
        f"{_mb(section['rss_before_matrix'])} MB; with it: "
        f"{_mb(section['rss_with_matrix'])} MB. Peak RSS per solve "
        + (
            "(reset before each)."
            if section["peak_reset"]
            else "(process lifetime: reset not permitted)."
        )
        + f" Load average {section['load'][0]} -> {section['load'][1]}.",
        "",
        *markdown_table(
            [
                "lam",
                "time (s)",
                "status",
                "gap",
                "support",
                "uncertain",
                "peak RSS (MB)",
                "above pre-matrix (MB)",
                "/ matrix",
                "bar (MB)",
            ],
            rows,
        ),
        "",
        f"Bar: peak RSS above the pre-matrix RSS <= 3 x matrix + {BAR_VECTORS} "
        "float64 vectors of length n + p: "
        + ("met" if all(verdicts) else "NOT met")
        + "; certified (every group proven zero or nonzero) at "
        + (
            ", ".join(
                f"lam_max / {j['lam_ratio']}"
                for j in section["jobs"]
                if j["status"] == "converged"
            )
            or "no lam"
        )
        + ".",
    ]


def _ompr_lines(section) -> list[str]:
    rows = []
    for r in section["rows"]:
        if "error" in r:
            rows.append(
                [r["p"], r["solver_name"], r["threads"], r["error"], "-", "-", "-"]
            )
            continue
        job = r["jobs"][0]
        rows.append(
            [
                r["p"],
                r["solver_name"],
                r["threads"],
                f"{job['time']:.2f}",
                f"{job['loss']:.12g}",
                job["recovered"],
                _mb(job["peak_rss"]),
            ]
        )
    return [
        f"## 3. Group OMPR against abess: n = {section['n']:,}, density "
        f"{section['density']:g}, k = {section['k']}",
        "",
        "Loss ||y - X b||^2 / (2 n) of each one's coefficients (our datafit). "
        "abess: LinearRegression(support_size=k, group=..., fit_intercept=False) "
        "on the CSC matrix, single-threaded by default (one figure). Load "
        f"average {section['load'][0]} -> {section['load'][1]}.",
        "",
        *markdown_table(
            [
                "p",
                "solver",
                "threads",
                "time (s)",
                "loss",
                "planted support",
                "peak RSS (MB)",
            ],
            rows,
        ),
    ]


def _growth_lines(section) -> list[str]:
    rows = []
    for r in section["rows"]:
        size = [f"{r['n']:,}", f"{r['p']:,}", f"{r['density']:g}"]
        if "error" in r:
            rows.append([*size, "-", "-", r["error"], "-", "-", "-", "-"])
            continue
        lasso, ompr = r["jobs"]
        rows.append(
            [
                *size,
                f"{r['nnz']:,}",
                _mb(r["matrix_bytes"]),
                f"{lasso['time']:.2f}",
                _mb(lasso["peak_rss"] - r["rss_before_matrix"]),
                lasso["status"],
                f"{ompr['time']:.2f}",
                _mb(ompr["peak_rss"] - r["rss_before_matrix"]),
            ]
        )
    return [
        "## 4. Growth: solve_group_lasso (lam_max / 10) and group_ompr (k = 10)",
        "",
        "Every column holds max(1, round(density n)) values, so the smallest "
        "densities at n = 5,000 store one value per column. Peak RSS is above "
        "the RSS before the matrix existed (interpreter, libraries and warm-up "
        f"excluded). Load average {section['load'][0]} -> {section['load'][1]}.",
        "",
        *markdown_table(
            [
                "n",
                "p",
                "density",
                "nnz",
                "matrix (MB)",
                "group LASSO (s)",
                "peak (MB)",
                "status",
                "group OMPR (s)",
                "peak (MB)",
            ],
            rows,
        ),
    ]


_SECTION_LINES = {
    "lasso": _lasso_lines,
    "large": _large_lines,
    "ompr": _ompr_lines,
    "growth": _growth_lines,
}


def sparse_markdown(record) -> str:
    """The report of :func:`~benchmarks.sparse.runs.sparse_benchmark`."""
    meta = record["meta"]
    lines = [
        "# Sparse designs at scale (issue 18)",
        "",
        f"Command: `{meta['command']}`; machine: {meta['machine']}; Python "
        f"{meta['python']}; load average {meta['load_start']} at the start, "
        f"{meta.get('load_end')} at the end (a shared machine: timings are noisy).",
    ]
    for name, render in _SECTION_LINES.items():
        if name in record:
            lines += ["", *render(record[name])]
    return "\n".join(lines) + "\n"
