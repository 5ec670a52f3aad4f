"""What every benchmark shares: run metadata, result files and Markdown tables.

Each JSON record carries the exact command line, the machine, the Python and
package versions and any extra fields such as the seeds
(:class:`RunMetadata`). Files are written through :func:`neural.atomic.atomic_file`
(JSON and Markdown by :func:`write_results`, PNG by :func:`save_figure`), so a
killed run never leaves a half-written result. :func:`markdown_table` builds
every table of every report.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from neural.atomic import atomic_file

__all__ = [
    "DEFAULT_RESULTS",
    "RunMetadata",
    "add_output_arguments",
    "json_ready",
    "markdown_table",
    "print_record",
    "progress_bar",
    "run_metadata",
    "save_figure",
    "write_results",
]

#: Where ``sapp bench`` writes unless told otherwise (relative to the working
#: folder: run it from the repository root to update the committed results).
DEFAULT_RESULTS = Path("benchmarks") / "results"


@dataclasses.dataclass(frozen=True)
class RunMetadata:
    """Where and how a benchmark ran.

    Attributes
    ----------
    command : str
        The command line: the program's file name, then its arguments.
    machine : str
        Architecture, core count and operating system.
    python : str
        Python version.
    versions : dict of str to str or None
        Installed version of each package asked for (None: not installed).
    extra : dict
        Further fields, e.g. the seed and the settings; :meth:`to_dict` puts
        them after the others, at the same level.
    """

    command: str
    machine: str
    python: str
    versions: dict
    extra: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def collect(cls, packages, **extra) -> RunMetadata:
        """The metadata of this process, with the versions of ``packages``."""
        versions = {}
        for package in packages:
            try:
                versions[package] = version(package)
            except PackageNotFoundError:
                versions[package] = None
        return cls(
            command=" ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            machine=(
                f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}"
            ),
            python=platform.python_version(),
            versions=versions,
            extra=dict(extra),
        )

    def to_dict(self) -> dict:
        """``command``, ``machine``, ``python``, ``versions``, then the extras."""
        fields = {k: getattr(self, k) for k in ("command", "machine", "python")}
        return {**fields, "versions": dict(self.versions), **self.extra}


def run_metadata(packages, **extra) -> dict:
    """:meth:`RunMetadata.collect` as the dictionary the JSON records hold."""
    return RunMetadata.collect(packages, **extra).to_dict()


def json_ready(value):
    """``value`` as plain JSON types: records by ``to_dict()``, numpy by ``item()``.

    Examples
    --------
    >>> json_ready({"n": np.int64(3), "xs": (np.float64(0.5), None)})
    {'n': 3, 'xs': [0.5, None]}
    """
    if hasattr(value, "to_dict"):
        return json_ready(value.to_dict())
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def markdown_table(header, rows, *, aligned: bool = False) -> list[str]:
    r"""The lines of a Markdown table; every cell is ``str()``-ed.

    Parameters
    ----------
    header : sequence
        Column titles.
    rows : iterable of sequence
        One sequence of cells per row, as long as ``header``.
    aligned : bool, default=False
        Pad every column to its widest cell (readable as plain text) instead of
        the compact ``| a | b |`` with a ``|---|---|`` rule.

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        If a row's length differs from the header's.

    Examples
    --------
    >>> print("\n".join(markdown_table(["solver", "time"], [["sapp", 0.5]])))
    | solver | time |
    |---|---|
    | sapp | 0.5 |
    >>> print("\n".join(markdown_table(["a", "bb"], [["ccc", 1]], aligned=True)))
    | a   | bb |
    |-----|----|
    | ccc | 1  |
    """
    cells = [[str(c) for c in header]]
    for row in rows:
        cells.append([str(c) for c in row])
        if len(cells[-1]) != len(header):
            raise ValueError(
                f"`rows` must have {len(header)} cells each, as `header`; got "
                f"{len(cells[-1])} in {list(row)!r}."
            )
    if not aligned:
        lines = ["| " + " | ".join(row) + " |" for row in cells]
        lines.insert(1, "|---" * len(header) + "|")
        return lines
    widths = [max(len(row[j]) for row in cells) for j in range(len(header))]
    lines = ["| " + " | ".join(map(str.ljust, row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


def write_results(folder, stem: str, payload, markdown: str) -> list[Path]:
    """Write ``folder/<stem>.json`` and ``folder/<stem>.md`` atomically.

    ``payload`` is a dict or a record with ``to_dict()``; numpy scalars become
    Python numbers (:func:`json_ready`).

    Returns
    -------
    list of Path
        The two files written.
    """
    written = []
    for suffix, text in (
        (".json", json.dumps(json_ready(payload), indent=2) + "\n"),
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


def print_record(record, markdown: str, paths, as_json: bool) -> None:
    """Print the record as JSON, or its Markdown and the files written."""
    if as_json:
        print(json.dumps(json_ready(record), indent=2))
    else:
        print(markdown)
        print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
