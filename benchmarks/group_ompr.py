"""``sapp bench omp``: group OMPR against abess and scikit-learn OMP (issue 3).

Sections (all seeded; every loss is recomputed with *our* formula from each
solver's coefficients, so scaling differences cannot hide):

1. **Planted instances**: n=500, p=5000, 500 groups of 10, k in {5, 10, 20}, two
   signal levels, independent or equicorrelated (rho=0.5) Gaussian designs;
   least squares ``||y - X b||^2 / (2n)`` (SNR = var(X b*) / sigma^2 in {0.5, 5})
   and logistic ``mean log(1 + exp(-y x^T b)) + ridge/2 ||b||^2`` with ridge 1e-3
   (labels drawn from the model; signal std(X b*) in {1, 5}; the ridge keeps
   near-separable supports bounded). Solvers at equal k: sapp group OMPR
   (defaults), sapp group OMP, abess ``LinearRegression`` / ``LogisticRegression``
   with ``group=``, ``support_size=k``, ``fit_intercept=False`` (ridge matched:
   ``alpha = n ridge / 2`` for logistic, checked against our exact refit), and
   scikit-learn ``orthogonal_mp`` with ``k * 10`` nonzero coefficients (least
   squares only; it is not group-aware, so it may touch more than k groups).
   Columns: time (fresh datafit inside the timed region), loss, support F1 against
   the planted groups. "abess support, exact refit" re-solves abess's support with
   our exact refit, to separate the choice of support from abess's inner solver.
   Bar: OMPR loss <= abess loss (relative slack 1e-9 for rounding) on >= 95% of
   instances, and OMPR's total time <= abess's.
2. **Small instances** (20 groups of 2, n=100): how often group OMPR (and OMP,
   abess) reach the exhaustive optimum of ``best_subset``, on well-conditioned
   (independent) and ill-conditioned (equicorrelated rho=0.9) designs.
3. **Algorithm 2 agreement**: selections of Algorithm 2 (nonconvex subproblem,
   cycling through the registry's subadditive examples) against the gradient-norm rule
   on random instances of all four datafits.
4. **Theorem B.3 sweep**: k'/k in {1, 1.5, 2, 3, 4}, Algorithm 2 from random
   supports with R rounds, on a block-orthogonal design (kappa = 1) and on
   equicorrelated designs; success = ``L(out) <= L(b*) + eps``.

Run: ``sapp bench omp [--quick] [--blas-threads N]``. Writes ``omp.{json,md}``
(``--quick``: ``omp.quick.{json,md}``, a smoke run).
Timings are wall-clock on whatever else the machine is running: compare the
solvers' ratios inside one run, not absolute seconds across runs.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
from abess.linear import LinearRegression, LogisticRegression
from sklearn.linear_model import orthogonal_mp
from threadpoolctl import threadpool_limits

from neural.cli_types import positive_int
from nonconvex_reg import (
    ConvergenceWarning,
    Groups,
    LeastSquares,
    Logistic,
    make_problem,
)
from nonconvex_reg.datasets import DATAFIT_KINDS
from nonconvex_reg.penalties import penalty_examples
from omp import best_subset, check_theorem_b3, group_omp, group_ompr, ompr_nonconvex
from omp.refit import make_refit

from .results import (
    add_output_arguments,
    markdown_table,
    print_record,
    run_metadata,
    write_results,
)
from .solvers.runs import planted_groups

__all__ = ["add_arguments", "omp_benchmark", "omp_markdown", "run"]

SEED = 0
LOGISTIC_RIDGE = 1e-3
TIE = 1e-9  # relative slack for "loss <= abess's loss" (rounding)


# --------------------------------------------------------------- instances
def planted(loss, k, level, rho, seed, n=500, p=5000, size=10):
    """X, y (y in {-1, +1} for logistic) and the planted groups."""
    rng = np.random.default_rng([SEED, seed, k, int(10 * level), int(10 * rho)])
    return planted_groups(rng, loss, n, p // size, size, k, level, rho)


def datafit_for(loss, X, y):
    if loss == "least_squares":
        return LeastSquares(X, y)
    return Logistic(X, y, ridge=LOGISTIC_RIDGE)


def f1(selected, truth):
    selected, truth = set(map(int, selected)), set(map(int, truth))
    if not selected and not truth:
        return 1.0
    return 2 * len(selected & truth) / (len(selected) + len(truth))


# ----------------------------------------------------------------- solvers
def run_sapp(search, loss, X, y, groups, k):
    result = search(datafit_for(loss, X, y), groups, k)
    return result.coef


def run_abess(loss, X, y, groups, k):
    labels = groups.group_of
    if loss == "least_squares":
        model = LinearRegression(support_size=k, group=labels, fit_intercept=False)
        model.fit(X, y)
    else:
        model = LogisticRegression(
            support_size=k,
            group=labels,
            fit_intercept=False,
            alpha=len(y) * LOGISTIC_RIDGE / 2,
        )
        model.fit(X, (y + 1) / 2)
    return np.asarray(model.coef_, dtype=float)


def run_sklearn(loss, X, y, groups, k):
    size = int(groups.sizes[0])
    return orthogonal_mp(X, y, n_nonzero_coefs=k * size)


SOLVERS = {
    "sapp group OMPR": lambda *a: run_sapp(group_ompr, *a),
    "sapp group OMP": lambda *a: run_sapp(group_omp, *a),
    "abess (group splicing)": run_abess,
    "sklearn OMP (coefficients)": run_sklearn,
}


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def planted_section(quick):
    seeds = range(1 if quick else 5)
    ks = (5, 10) if quick else (5, 10, 20)
    groups = Groups.equal(5000, 10)
    # Warm-up (imports, first BLAS calls), not timed.
    X, y, _ = planted("least_squares", 5, 5.0, 0.0, 99)
    for fn in SOLVERS.values():
        fn("least_squares", X, y, groups, 2)
    rows, instances = [], []
    for loss, levels in (("least_squares", (0.5, 5.0)), ("logistic", (1.0, 5.0))):
        for k in ks:
            for level in levels:
                for rho in (0.0, 0.5):
                    for seed in seeds:
                        X, y, active = planted(loss, k, level, rho, seed)
                        level_name = "snr" if loss == "least_squares" else "signal"
                        dataset = (
                            f"{loss} n=500 p=5000 groups=500x10 k={k} "
                            f"{level_name}={level:g} rho={rho:g} seed={seed}"
                        )
                        datafit = datafit_for(loss, X, y)
                        record = {
                            "dataset_name": dataset,
                            "loss_kind": loss,
                            "k": k,
                            "level": level,
                            "rho": rho,
                            "seed": seed,
                        }
                        coefs = {}
                        for name, fn in SOLVERS.items():
                            if name.startswith("sklearn") and loss != "least_squares":
                                continue
                            elapsed, coefs[name] = timed(fn, loss, X, y, groups, k)
                            selected = np.flatnonzero(groups.norms(coefs[name]))
                            row = {
                                "solver_name": name,
                                "dataset_name": dataset,
                                "time": elapsed,
                                "objective_value": datafit.value(coefs[name]),
                                "support_f1": f1(selected, active),
                                "n_groups_selected": int(selected.size),
                            }
                            rows.append(row)
                            record[name] = row
                        abess_support = np.flatnonzero(
                            groups.norms(coefs["abess (group splicing)"])
                        )
                        refit = make_refit(datafit, groups, tol=1e-10)
                        refit.fit(abess_support.tolist())
                        record["abess_support_refit_loss"] = datafit.value(refit.coef())
                        instances.append(record)
                        ours = record["sapp group OMPR"]["objective_value"]
                        theirs = record["abess (group splicing)"]["objective_value"]
                        print(
                            f"{dataset:70s} OMPR {ours:.6g} abess {theirs:.6g} "
                            f"({record['sapp group OMPR']['time']:.3f}s vs "
                            f"{record['abess (group splicing)']['time']:.3f}s)",
                            file=sys.stderr,
                            flush=True,
                        )
    return rows, instances


def planted_summary(rows, instances):
    summary = {}
    for loss in ("least_squares", "logistic", "all"):
        chosen = [r for r in instances if loss in ("all", r["loss_kind"])]
        if not chosen:
            continue
        ours = np.array([r["sapp group OMPR"]["objective_value"] for r in chosen])
        theirs = np.array(
            [r["abess (group splicing)"]["objective_value"] for r in chosen]
        )
        refit = np.array([r["abess_support_refit_loss"] for r in chosen])
        totals = {}
        for name in SOLVERS:
            times = [r[name]["time"] for r in chosen if name in r]
            if times:
                totals[name] = float(np.sum(times))
        summary[loss] = {
            "instances": len(chosen),
            "ompr_le_abess": int(np.sum(ours <= theirs * (1 + TIE))),
            "ompr_lt_abess": int(np.sum(ours < theirs * (1 - TIE))),
            "ompr_gt_abess": int(np.sum(ours > theirs * (1 + TIE))),
            "ompr_le_abess_support_refit": int(np.sum(ours <= refit * (1 + TIE))),
            "ompr_lt_abess_support_refit": int(np.sum(ours < refit * (1 - TIE))),
            "mean_f1": {
                name: float(
                    np.mean([r[name]["support_f1"] for r in chosen if name in r])
                )
                for name in SOLVERS
                if name in chosen[0]
            },
            "total_time": totals,
        }
        summary[loss]["ompr_le_abess_rate"] = (
            summary[loss]["ompr_le_abess"] / summary[loss]["instances"]
        )
    return summary


# ---------------------------------------------------------- small instances
def small_section(quick):
    seeds = range(4 if quick else 40)
    groups = Groups.equal(40, 2)
    out = {}
    for condition, rho in (
        ("well-conditioned (rho=0)", 0.0),
        ("ill-conditioned (rho=0.9)", 0.9),
    ):
        counts = {
            "instances": 0,
            "sapp group OMPR": 0,
            "sapp group OMP": 0,
            "abess (group splicing)": 0,
        }
        for seed in seeds:
            k = 2 + seed % 4
            problem = make_problem(
                "least_squares",
                n_samples=100,
                n_groups=20,
                group_size=2,
                n_active=k,
                correlation=rho,
                noise=1.0,
                ridge=0.0,
                seed=seed,
            )
            datafit = problem.datafit
            best = best_subset(datafit, groups, k).loss
            losses = {
                "sapp group OMPR": group_ompr(datafit, groups, k).loss,
                "sapp group OMP": group_omp(datafit, groups, k).loss,
                "abess (group splicing)": datafit.value(
                    run_abess("least_squares", datafit.X, datafit.y, groups, k)
                ),
            }
            counts["instances"] += 1
            for name, value in losses.items():
                counts[name] += bool(value <= best * (1 + TIE))
        out[condition] = counts
        print(condition, counts, file=sys.stderr, flush=True)
    return out


# ------------------------------------------------------ Algorithm 2 agreement
def agreement_section(quick):
    penalties = tuple(penalty_examples(subadditive=True).values())
    totals = {"instances": 0, "selections": 0, "disagreements": [], "uncertified": 0}
    for seed in range(5 if quick else 50):
        for kind in DATAFIT_KINDS:
            problem = make_problem(
                kind,
                n_samples=60,
                n_groups=10,
                group_size=2,
                n_active=3,
                correlation=0.5,
                seed=1000 + seed,
            )
            result = ompr_nonconvex(
                problem.datafit,
                problem.groups,
                3,
                penalty=penalties[seed % len(penalties)],
            )
            totals["instances"] += 1
            totals["selections"] += result.info["n_selections"]
            totals["uncertified"] += result.info["n_uncertified"]
            totals["disagreements"] += [
                {"kind": kind, "seed": 1000 + seed, **d}
                for d in result.info["disagreements"]
            ]
    print(
        "Algorithm 2:",
        {k: v for k, v in totals.items() if k != "disagreements"},
        len(totals["disagreements"]),
        "disagreements",
        file=sys.stderr,
        flush=True,
    )
    return totals


# ---------------------------------------------------------- Theorem B.3 sweep
def orthogonal_design(seed, n=80, n_groups=20, size=2, k=3):
    rng = np.random.default_rng([SEED, seed])
    X = np.sqrt(n) * np.linalg.qr(rng.standard_normal((n, n_groups * size)))[0]
    beta = np.zeros(n_groups * size)
    beta[: k * size] = rng.standard_normal(k * size)
    y = X @ beta + rng.standard_normal(n)
    return LeastSquares(X, y), Groups.equal(n_groups * size, size)


def equicorrelated(seed, rho, k):
    problem = make_problem(
        "least_squares",
        n_samples=80,
        n_groups=20,
        group_size=2,
        n_active=k,
        correlation=rho,
        noise=1.0,
        ridge=0.0,
        seed=2000 + seed,
    )
    return problem.datafit, problem.groups


def sweep_section(quick):
    k = 3
    ratios = (1, 1.5, 2) if quick else (1, 1.5, 2, 3, 4)
    seeds = range(2 if quick else 8)
    designs = {
        "block-orthogonal (kappa=1)": orthogonal_design,
        "equicorrelated rho=0.5": lambda seed: equicorrelated(seed, 0.5, k),
        "equicorrelated rho=0.8": lambda seed: equicorrelated(seed, 0.8, k),
    }
    out = []
    for design, build in designs.items():
        for ratio in ratios:
            k_prime = int(round(ratio * k))
            reports = []
            for seed in seeds:
                datafit, groups = build(seed)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    reports.append(
                        check_theorem_b3(
                            datafit,
                            groups,
                            k,
                            k_prime=k_prime,
                            seed=seed,
                            max_supports=200_000,
                        )
                    )
            kappas = [r.kappa for r in reports]
            row = {
                "design": design,
                "k": k,
                "k_prime": k_prime,
                "ratio": ratio,
                "kappa_median": float(np.median(kappas)),
                "required_k_prime_median": float(
                    np.median([r.required_k_prime for r in reports])
                ),
                "hypothesis_holds": int(
                    sum(all(r.hypotheses.values()) for r in reports)
                ),
                "success": int(sum(r.conclusion_holds for r in reports)),
                "instances": len(reports),
                "max_excess": float(max(r.excess for r in reports)),
                "eps_median": float(np.median([r.eps for r in reports])),
                "rounds_median": float(
                    np.median(
                        [r.rounds if r.rounds is not None else np.nan for r in reports]
                    )
                ),
                "rounds_used_max": int(max(r.rounds_used for r in reports)),
                "exact_constants": bool(all(r.exact_constants for r in reports)),
            }
            out.append(row)
            print(row, file=sys.stderr, flush=True)
    return out


# ----------------------------------------------------------------- output
def _planted_summary_row(loss, summ) -> list[str]:
    t, f = summ["total_time"], summ["mean_f1"]

    def fmt(d, name, spec):
        return format(d[name], spec) if name in d else "n/a"

    names = (_OMPR, _ABESS, "sapp group OMP", _SKLEARN)
    return [
        loss,
        str(summ["instances"]),
        f"{summ['ompr_le_abess']} ({summ['ompr_le_abess_rate']:.1%})",
        str(summ["ompr_lt_abess"]),
        str(summ["ompr_gt_abess"]),
        str(summ["ompr_le_abess_support_refit"]),
        *(fmt(t, name, ".2f") for name in names),
        " / ".join(fmt(f, name, ".3f") for name in names),
    ]


def _instance_row(r) -> list[str]:
    sk = r.get(_SKLEARN)
    return [
        r["dataset_name"],
        f"{r[_OMPR]['objective_value']:.6g}",
        f"{r[_ABESS]['objective_value']:.6g}",
        f"{r['abess_support_refit_loss']:.6g}",
        f"{r['sapp group OMP']['objective_value']:.6g}",
        "n/a" if sk is None else format(sk["objective_value"], ".6g"),
        f"{r[_OMPR]['time']:.3f}",
        f"{r[_ABESS]['time']:.3f}",
    ]


def _sweep_row(r) -> list[str]:
    return [
        r["design"],
        f"{r['ratio']:g}",
        str(r["k_prime"]),
        f"{r['kappa_median']:.3g}",
        f"{r['required_k_prime_median']:.3g}",
        f"{r['hypothesis_holds']}/{r['instances']}",
        f"{r['success']}/{r['instances']}",
        f"{r['max_excess']:.2e}",
        f"{r['rounds_median']:g}",
        str(r["rounds_used_max"]),
        "yes" if r["exact_constants"] else "bounds",
    ]


_OMPR, _ABESS = "sapp group OMPR", "abess (group splicing)"
_SKLEARN = "sklearn OMP (coefficients)"
_PLANTED_HEADER = [
    "losses",
    "instances",
    "OMPR <= abess",
    "OMPR < abess",
    "OMPR > abess",
    "OMPR <= abess support refit exactly",
    "time OMPR (s)",
    "time abess (s)",
    "time OMP (s)",
    "time sklearn OMP (s)",
    "mean F1 OMPR / abess / OMP / sklearn",
]
_INSTANCE_HEADER = ["dataset", "OMPR", "abess", "abess support, exact refit"]
_INSTANCE_HEADER += ["OMP", "sklearn OMP", "t OMPR", "t abess"]
_SWEEP_HEADER = ["design", "k'/k", "k'", "median kappa", "median k(kappa^2+1)"]
_SWEEP_HEADER += ["hypothesis holds", "L(out) <= L* + eps", "max excess"]
_SWEEP_HEADER += ["median R", "max rounds used", "exact constants"]


def omp_markdown(payload: dict) -> str:
    """The report of :func:`omp_benchmark`: one section per part of the benchmark."""
    meta, a = payload["meta"], payload["agreement"]
    small = [
        [
            condition,
            str(c["instances"]),
            *(
                f"{c[name]} ({c[name] / c['instances']:.0%})"
                for name in (_OMPR, "sapp group OMP", _ABESS)
            ),
        ]
        for condition, c in payload["small"].items()
    ]
    lines = [
        "# Group OMPR vs abess vs scikit-learn OMP (issue 3)",
        "",
        f"Command: `{meta['command']}`; machine: {meta['machine']}; "
        f"seed {meta['seed']}; versions: {meta['versions']}",
        "",
        "Timings are wall-clock in one run with whatever else the machine was "
        "running; compare ratios within this run.",
        "",
        "## 1. Planted instances (n=500, p=5000, 500 groups of 10)",
        "",
        *markdown_table(
            _PLANTED_HEADER,
            [_planted_summary_row(*i) for i in payload["planted_summary"].items()],
        ),
        "",
        "Per instance (loss; time in s):",
        "",
        *markdown_table(
            _INSTANCE_HEADER, [_instance_row(r) for r in payload["planted_instances"]]
        ),
        "",
        "## 2. Small instances: exhaustive optimum reached",
        "",
        *markdown_table(
            ["design", "instances", "group OMPR", "group OMP", "abess"], small
        ),
        "",
        "## 3. Algorithm 2 selection vs the gradient-norm rule",
        "",
        f"{a['instances']} instances (all four datafits), {a['selections']} "
        f"selections: {len(a['disagreements'])} disagreements, "
        f"{a['uncertified']} uncertified selections.",
        "",
        "## 4. Theorem B.3 sweep (k = 3, 20 groups of 2, n = 80)",
        "",
        *markdown_table(_SWEEP_HEADER, [_sweep_row(r) for r in payload["sweep"]]),
    ]
    return "\n".join(lines) + "\n"


def omp_benchmark(*, quick=False, blas_threads=1) -> dict:
    """Run the four sections with ``blas_threads`` BLAS threads; the JSON record.

    Parameters
    ----------
    quick : bool, default=False
        A small smoke run of every section.
    blas_threads : int, default=1
        BLAS threads for every solver (threadpoolctl).

    Returns
    -------
    dict
        ``meta``, ``rows`` (one per solver and planted instance),
        ``planted_instances``, ``planted_summary``, ``small``, ``agreement``
        and ``sweep`` (module docstring).
    """
    meta = run_metadata(
        ["sapp", "numpy", "scipy", "scikit-learn", "abess"],
        seed=SEED,
        blas_threads=blas_threads,
        quick=bool(quick),
    )
    with threadpool_limits(blas_threads):
        rows, instances = planted_section(quick)
        return {
            "meta": meta,
            "rows": rows,
            "planted_instances": instances,
            "planted_summary": planted_summary(rows, instances),
            "small": small_section(quick),
            "agreement": agreement_section(quick),
            "sweep": sweep_section(quick),
        }


def add_arguments(parser) -> None:
    """The options of ``sapp bench omp``."""
    parser.add_argument(
        "--quick", action="store_true", help="a small smoke run of every section"
    )
    parser.add_argument(
        "--blas-threads",
        type=positive_int,
        default=1,
        help="BLAS threads for every solver (default 1: on a shared 2-core "
        "machine more threads slow the small dense products 15-50x)",
    )
    add_output_arguments(parser, "omp.{json,md}")


def run(args) -> int:
    """Run ``sapp bench omp``: write ``omp.{json,md}``, print the summary."""
    payload = omp_benchmark(quick=args.quick, blas_threads=args.blas_threads)
    markdown = omp_markdown(payload)
    stem = "omp.quick" if args.quick else "omp"
    paths = write_results(args.out, stem, payload, markdown)
    # The summary only: the per-instance table runs to 120 rows.
    summary = "\n".join(markdown.splitlines()[:16])
    print_record(payload, summary, paths, args.json)
    return 0
