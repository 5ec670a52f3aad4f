"""One page per benchmark report of ``benchmarks/results/``, written at build time.

Each ``NAME.md`` there is what a ``sapp bench`` (or ``sapp demo``) command
printed; its page includes that file as it is and shows the plots the same run
drew: ``NAME.png`` and ``NAME_*.png``, each plot going to the report with the
longest such name (``pruning_quick_criteo.png`` belongs to ``pruning_quick``).
The pages are generated, never edited, so a rerun of a benchmark shows in the
next build without a copy to update. A plot that belongs to no report is an
error of the build.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Where the generated pages go, relative to the documentation sources.
PAGES = Path("benchmarks") / "reports"


def plots_by_report(names, plots):
    """Map each report name to its plot file names; raise on an orphan plot.

    Parameters
    ----------
    names : iterable of str
        Report names (``pruning`` for ``pruning.md``).
    plots : iterable of str
        Plot file names (``pruning_criteo.png``).

    Returns
    -------
    dict of str to list of str
        Every report name, with its plots in sorted order.
    """
    owned = {name: [] for name in sorted(names)}
    for plot in sorted(plots):
        stem = Path(plot).stem
        owners = [n for n in owned if stem == n or stem.startswith(n + "_")]
        if not owners:
            raise ValueError(
                f"benchmarks/results/{plot} belongs to no report: name it after "
                f"one of {sorted(owned)} (NAME.png or NAME_*.png)"
            )
        owned[max(owners, key=len)].append(plot)
    return owned


def page_text(name: str, plots, results_from_page: str) -> str:
    """The MyST source of one report's page."""
    lines = [
        f"```{{include}} {results_from_page}/{name}.md",
        "```",
        "",
    ]
    if plots:
        lines += ["## Plots", ""]
        for plot in plots:
            lines += [
                f"```{{image}} {results_from_page}/{plot}",
                f":alt: {Path(plot).stem}",
                "```",
                "",
            ]
    lines.append(
        f"Files: `benchmarks/results/{name}.md`, `{name}.json`"
        + "".join(f", `{plot}`" for plot in plots)
        + "."
    )
    return "\n".join(lines) + "\n"


def write_pages(srcdir: Path, results: Path) -> list[str]:
    """Write (or rewrite) the generated pages; return the report names."""
    names = [p.stem for p in results.glob("*.md")]
    plots = [p.name for p in results.glob("*.png")]
    out = srcdir / PAGES
    out.mkdir(parents=True, exist_ok=True)
    results_from_page = Path(os.path.relpath(results, out)).as_posix()
    wanted = {}
    for name, owned in plots_by_report(names, plots).items():
        wanted[f"{name}.md"] = page_text(name, owned, results_from_page)
    for stale in out.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for file_name, text in wanted.items():
        path = out / file_name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")  # unchanged pages stay cached
    return sorted(names)


def _generate(app) -> None:
    srcdir = Path(app.srcdir)
    write_pages(srcdir, srcdir.parent / "benchmarks" / "results")


def setup(app):
    """Generate the report pages before Sphinx reads the sources."""
    app.connect("builder-inited", _generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
