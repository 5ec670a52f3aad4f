"""Report of ``sapp bench solvers``: benchopt-shaped tables and a suboptimality plot.

From a :func:`~neural.bench.solvers.solver_benchmark` record, whose rows carry the
relative suboptimality ``(f - f*) / |f*|`` of every run:

* :func:`solver_markdown`: per group LASSO dataset, each solver's time to reach the
  suboptimalities of :data:`~neural.bench.solvers.TARGETS` (1e-6 and 1e-8) and the
  best one it reached; per OMPR dataset, loss, suboptimality, groups used, support
  F1 and time at equal ``k``; the nonconvex penalties against the
  ``global_minimum`` oracle.
* :func:`plot_suboptimality`: suboptimality against time on log-log axes, one
  panel per dataset, floored at :data:`~neural.bench.solvers.PLOT_FLOOR`.
* :func:`save_solvers`: ``solvers.{json,md,png}`` (quick: ``solvers_quick.*``).
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

from .results import save_figure, write_results
from .solvers import PLOT_FLOOR, TARGETS
from .solvers_peers import GL, OMP, ORACLE

__all__ = ["plot_suboptimality", "save_solvers", "solver_markdown"]


def _check_record(record):
    if not isinstance(record, dict):
        raise TypeError(
            "`record` must be the dict solver_benchmark returns; got "
            f"{type(record).__name__}."
        )
    missing = [key for key in ("meta", "datasets", "rows") if key not in record]
    if missing:
        raise ValueError(
            f"`record` must have the keys 'meta', 'datasets' and 'rows'; missing "
            f"{missing}."
        )


def _table(header, body):
    """An aligned Markdown table."""
    cells = [[str(c) for c in row] for row in (header, *body)]
    widths = [max(len(row[j]) for row in cells) for j in range(len(header))]
    lines = ["| " + " | ".join(map(str.ljust, row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


def _by_dataset(record, sections):
    for dataset in record["datasets"]:
        if dataset["section"] in sections:
            name = dataset["dataset_name"]
            yield dataset, [r for r in record["rows"] if r["dataset_name"] == name]


def _per_solver(rows):
    solvers = dict.fromkeys(r["solver_name"] for r in rows)
    return {s: [r for r in rows if r["solver_name"] == s] for s in solvers}


def _time_to(runs, target):
    times = [r["time"] for r in runs if r["suboptimality"] <= target]
    return min(times) if times else "not reached"


def _columns(spec, rows):
    """Header and body of a table from ``"header:key:format"`` column specs."""
    columns = [c.split(":") for c in spec]
    return _table(
        [c[0] for c in columns],
        [[_cell(row.get(key), fmt) for _, key, fmt in columns] for row in rows],
    )


def _cell(value, fmt):
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return format(value, fmt) if isinstance(value, int | float) else str(value)


_OMPR_COLUMNS = (
    "solver:solver_name:",
    "loss:objective_value:.10g",
    "suboptimality:suboptimality:.1e",
    "groups:support_size:",
    "support F1:support_f1:.2f",
    "time (s):time:.4f",
)
_NONCONVEX_COLUMNS = (
    "datafit:datafit:",
    "penalty:penalty:",
    "form:form:",
    "oracle f:oracle:.10g",
    "solve_penalized f:objective_value:.10g",
    "gap to oracle:oracle_gap:.1e",
    "same support:same_support_as_oracle:",
    "status:status:",
    "time (s):time:.4f",
    "oracle time (s):oracle_time:.2f",
)


def solver_markdown(record) -> str:
    """Markdown report of a :func:`~neural.bench.solvers.solver_benchmark` record.

    Group LASSO datasets: per solver, the time of its fastest run reaching each
    relative suboptimality of :data:`~neural.bench.solvers.TARGETS`, and the best
    one it reached.
    OMPR datasets: loss at equal ``k``, suboptimality, groups used, support F1
    and time. Nonconvex penalties: ``solve_penalized`` at its tightest tolerance
    against the ``global_minimum`` oracle.

    Parameters
    ----------
    record : dict
        What :func:`~neural.bench.solvers.solver_benchmark` returns (or its JSON
        file, loaded).

    Returns
    -------
    str
        The report, ending with a newline.

    Raises
    ------
    TypeError
        If ``record`` is not a dict.
    ValueError
        If ``record`` lacks ``meta``, ``datasets`` or ``rows``.
    """
    _check_record(record)
    meta = record["meta"]
    versions = ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())
    lines = [
        f"# Solvers against their peers ({'quick' if meta.get('quick') else 'full'})",
        "",
        f"Command: `{meta.get('command')}`; machine: {meta.get('machine')}; Python "
        f"{meta.get('python')}; seed {meta.get('seed')}. Versions: {versions}.",
        "",
        "Objectives recomputed with our formula from each solver's coefficients; "
        "f* = best objective of all runs on the dataset; suboptimality = "
        "(f - f*) / |f*|. Times are wall-clock seconds on a shared machine: "
        "compare solvers within one run.",
    ]
    if meta.get("skipped_solvers"):
        lines += ["", f"Skipped (not installed): {meta['skipped_solvers']}."]
    lines += ["", "## Group LASSO and group logistic regression"]
    spec = ["solver:solver:", *(f"time to {t:.0e} (s):{t}:.4f" for t in TARGETS)]
    spec += ["best suboptimality:best:.1e", "runs:runs:"]
    for dataset, rows in _by_dataset(record, GL):
        summary = [
            {
                "solver": solver,
                "best": min(r["suboptimality"] for r in runs),
                "runs": len(runs),
                **{str(t): _time_to(runs, t) for t in TARGETS},
            }
            for solver, runs in _per_solver(rows).items()
        ]
        lines += [
            "",
            f"### {dataset['dataset_name']}",
            "",
            f"f* = {dataset['f_star']:.12g}",
            "",
            *_columns(spec, summary),
        ]
    lines += ["", "## Group OMPR at equal k (objective: the loss)"]
    for dataset, rows in _by_dataset(record, OMP):
        lines += [
            "",
            f"### {dataset['dataset_name']}",
            "",
            *_columns(_OMPR_COLUMNS, rows),
        ]
    summary = []
    for dataset, rows in _by_dataset(record, ("nonconvex",)):
        runs = _per_solver(rows)
        oracle = runs.get(ORACLE, [{}])[0]
        summary.append(
            {
                **dataset,
                **runs.get("sapp solve_penalized", [{}])[-1],
                "oracle": oracle.get("objective_value"),
                "oracle_time": oracle.get("time"),
            }
        )
    if summary:
        lines += [
            "",
            "## Nonconvex penalties against the global oracle",
            "",
            "solve_penalized at tol 1e-8; gap = (f - f_oracle) / |f_oracle|; "
            "oracle: global_minimum, by enumeration of supports.",
            "",
            *_columns(_NONCONVEX_COLUMNS, summary),
        ]
    return "\n".join(lines) + "\n"


def _panels(record):
    """(title, {label: runs}, [(label, oracle run)]) for each panel of the plot."""
    panels = [
        (dataset["dataset_name"], _per_solver(rows), [])
        for dataset, rows in _by_dataset(record, (*GL, *OMP))
    ]
    nonconvex = list(_by_dataset(record, ("nonconvex",)))
    for key in dict.fromkeys((d["datafit"], d["form"]) for d, _ in nonconvex):
        curves, oracles = {}, []
        for dataset, rows in nonconvex:
            if (dataset["datafit"], dataset["form"]) == key:
                runs = _per_solver(rows)
                if "sapp solve_penalized" in runs:
                    curves[dataset["penalty"]] = runs["sapp solve_penalized"]
                oracles += [(dataset["penalty"], r) for r in runs.get(ORACLE, [])]
        title = f"nonconvex[datafit={key[0]},form={key[1]}]: solve_penalized by penalty"
        panels.append((title, curves, oracles))
    return panels


def plot_suboptimality(record, path) -> Path:
    """Plot relative suboptimality against time, one panel per dataset.

    Log-log axes, one curve per solver through its runs in ladder order (loosest
    tolerance first); single-run solvers are single points. The nonconvex
    datasets share one panel per (datafit, form), one curve per penalty, the
    oracle's runs drawn as crosses. Suboptimalities below
    :data:`~neural.bench.solvers.PLOT_FLOOR` (exact zeros included) are drawn at
    the floor; the record keeps them exact.

    Parameters
    ----------
    record : dict
        What :func:`~neural.bench.solvers.solver_benchmark` returns.
    path : str or Path
        The PNG file to write.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    TypeError
        If ``record`` is not a dict.
    ValueError
        If ``record`` lacks ``meta``, ``datasets`` or ``rows``, or has no dataset.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    _check_record(record)
    panels = _panels(record)
    if not panels:
        raise ValueError("`record` must hold at least one dataset; got none.")
    n_cols = min(4, len(panels))
    n_rows = math.ceil(len(panels) / n_cols)
    figure, axes = plt.subplots(
        n_rows, n_cols, figsize=(4.6 * n_cols, 3.8 * n_rows), squeeze=False
    )
    for ax, (title, curves, oracles) in zip(axes.flat, panels, strict=False):
        colors = {}
        for label, runs in curves.items():
            values = [max(r["suboptimality"], PLOT_FLOOR) for r in runs]
            times = [r["time"] for r in runs]
            (line,) = ax.plot(times, values, marker="o", markersize=3.5, label=label)
            colors[label] = line.get_color()
        for label, run in oracles:
            ax.plot(
                run["time"],
                max(run["suboptimality"], PLOT_FLOOR),
                marker="x",
                linestyle="none",
                color=colors.get(label, "black"),
            )
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="time (s)",
            ylabel="relative suboptimality (f - f*)/f*",
        )
        ax.xaxis.set_minor_formatter(NullFormatter())  # crowded on short ranges
        ax.set_title("\n".join(textwrap.wrap(title, 50)), fontsize=7)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    figure.suptitle(
        f"sapp bench solvers: suboptimality vs time (floored at {PLOT_FLOOR:g}; "
        "x: global_minimum oracle)",
        fontsize=9,
    )
    figure.tight_layout()
    return save_figure(figure, path)


def save_solvers(record, folder) -> list[Path]:
    """Write ``solvers.{json,md,png}`` (quick: ``solvers_quick.*``) into ``folder``.

    Returns
    -------
    list of Path
        The three files written.
    """
    _check_record(record)
    stem = "solvers_quick" if record["meta"].get("quick") else "solvers"
    paths = write_results(folder, stem, record, solver_markdown(record))
    return [*paths, plot_suboptimality(record, Path(folder) / f"{stem}.png")]
