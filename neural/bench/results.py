"""Run metadata and atomic result files shared by every benchmark.

Each JSON record carries the exact command line, the machine, the package
versions and any extra fields such as the seeds (STYLE.md, "CLI and results").
Files are written through :func:`neural._atomic.atomic_file`, so a killed run
never leaves a half-written result.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .._atomic import atomic_file

__all__ = [
    "DEFAULT_RESULTS",
    "add_output_arguments",
    "print_record",
    "progress_bar",
    "run_metadata",
    "save_figure",
    "write_results",
]

#: Where ``sapp bench`` writes unless told otherwise (relative to the working
#: folder: run it from the repository root to update the committed results).
DEFAULT_RESULTS = Path("benchmarks") / "results"


def run_metadata(packages, **extra) -> dict:
    """Command line, machine, Python and package versions, plus ``extra`` fields."""
    versions = {}
    for package in packages:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "python": platform.python_version(),
        "versions": versions,
        **extra,
    }


def write_results(folder, stem: str, payload: dict, markdown: str) -> list[Path]:
    """Write ``folder/<stem>.json`` and ``folder/<stem>.md`` atomically.

    Returns
    -------
    list of Path
        The two files written.
    """
    written = []
    for suffix, text in (
        (".json", json.dumps(payload, indent=2) + "\n"),
        (".md", markdown),
    ):
        path = Path(folder) / f"{stem}{suffix}"
        with atomic_file(path) as tmp:
            tmp.write_text(text)
        written.append(path)
    return written


def save_figure(figure, path) -> Path:
    """Save a matplotlib figure as PNG atomically (150 dpi) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_file(path) as tmp:
        figure.savefig(tmp, format="png", dpi=150, bbox_inches="tight")
    plt.close(figure)
    return path


def add_output_arguments(parser, files: str) -> None:
    """``--out DIR`` (default :data:`DEFAULT_RESULTS`) and ``--json``."""
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_RESULTS,
        metavar="DIR",
        help=f"folder for {files} (default {DEFAULT_RESULTS})",
    )
    parser.add_argument("--json", action="store_true", help="print the record as JSON")


@contextlib.contextmanager
def progress_bar(desc: str, unit: str, disable: bool):
    """A tqdm bar on stderr; yields ``progress(done, total, label)`` to advance it."""
    from tqdm import tqdm

    with tqdm(desc=desc, unit=unit, file=sys.stderr, disable=disable) as bar:

        def progress(done, total, label):
            bar.total = total
            bar.set_postfix_str(label[:60], refresh=False)
            bar.update(done - bar.n)

        yield progress


def print_record(record: dict, markdown: str, paths, as_json: bool) -> None:
    """Print the record as JSON, or its Markdown and the files written."""
    if as_json:
        print(json.dumps(record, indent=2))
    else:
        print(markdown)
        print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
