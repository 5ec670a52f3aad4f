"""``sapp bench startup``: how long ``sapp`` and each package take to start.

Every case is a fresh Python process, timed from spawn to exit by the parent
(``time.perf_counter`` around :func:`subprocess.run`), ``repeats`` times; the
reported time is the best run (on a shared machine other tenants only add time)
with the median beside it, and the baseline ``python -c pass`` is subtracted to
give what our code costs. The cases: ``sapp --help`` and ``sapp verify --help``
(the ``sapp`` script next to this Python, else ``python -m neural.cli``), and
``import nonconvex_reg``, ``import omp`` and ``import neural``. The bar (issue
16): both ``sapp`` cases within :data:`BAR_SECONDS`. A separate, untimed run of
each case lists which heavy libraries (:data:`HEAVY`) it imported: a verb's
code loads only when the verb runs, ``import nonconvex_reg`` loads cvxpy only
when the oracle is called, and ``import neural`` loads torch only when a name
that needs it is used. Writes ``startup.{json,md}``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from neural.cli_types import positive_int

from .results import (
    add_output_arguments,
    markdown_table,
    print_record,
    run_metadata,
    write_results,
)

__all__ = [
    "BAR_SECONDS",
    "HEAVY",
    "StartupTiming",
    "add_arguments",
    "run",
    "startup_benchmark",
    "startup_markdown",
]

#: Issue 16's bar on ``sapp --help`` and ``sapp verify --help``, in seconds.
BAR_SECONDS = 0.5
#: Libraries whose import alone takes a large share of a second or more.
HEAVY = ("cvxpy", "matplotlib", "numba", "sklearn", "torch")
_BARRED = ("sapp --help", "sapp verify --help")


@dataclass(frozen=True)
class StartupTiming:
    """Wall time of one case, in seconds.

    Attributes
    ----------
    name : str
        What runs, e.g. ``"sapp --help"``.
    command : str
        The process started (the program's file name, then its arguments).
    best_s, median_s : float
        Smallest and median of ``runs_s``.
    over_baseline_s : float
        ``best_s`` minus the best time of ``python -c pass``.
    heavy_modules : list of str
        The libraries of :data:`HEAVY` the case imported.
    runs_s : list of float
        Every run, in order.
    """

    name: str
    command: str
    best_s: float
    median_s: float
    over_baseline_s: float
    heavy_modules: list
    runs_s: list

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        return asdict(self)


def _sapp_command() -> list[str]:
    script = Path(sys.executable).with_name("sapp")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "neural.cli"]


def _cli_probe(argv) -> str:
    """Python code that runs ``sapp ARGV`` in-process, its output discarded."""
    return (
        "import contextlib, io\n"
        "from neural.cli import main\n"
        "with contextlib.suppress(SystemExit), "
        "contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main({argv!r})"
    )


def _cases() -> dict[str, tuple[list[str], str]]:
    """Name -> (the timed command, the same work as Python code for the probe)."""
    python, sapp = [sys.executable, "-c"], _sapp_command()
    imports = {f"import {p}": f"import {p}" for p in ("nonconvex_reg", "omp", "neural")}
    return {
        "python -c pass": ([*python, "pass"], "pass"),
        "sapp --help": ([*sapp, "--help"], _cli_probe(["--help"])),
        "sapp verify --help": (
            [*sapp, "verify", "--help"],
            _cli_probe(["verify", "--help"]),
        ),
        **{name: ([*python, code], code) for name, code in imports.items()},
    }


def _seconds(command) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _heavy_modules(code: str) -> list[str]:
    """The :data:`HEAVY` libraries in ``sys.modules`` after ``code`` ran."""
    probe = (
        f"{code}\nimport sys\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    return [m for m in out.strip().split(",") if m]


def startup_benchmark(*, repeats=7, progress=None) -> dict:
    """Time every case ``repeats`` times, interleaved; the JSON record.

    Parameters
    ----------
    repeats : int, default=7
        Runs per case; the cases take turns, so a burst of load hits all alike.
    progress : callable, optional
        Called as ``progress(done, total, label)`` after each run.

    Returns
    -------
    dict
        ``meta`` (run metadata with ``repeats`` and the bar) and ``rows``
        (:class:`StartupTiming` dictionaries, the baseline first).

    Raises
    ------
    ValueError
        If ``repeats`` is below 1.
    """
    from nonconvex_reg.validation import check_int

    repeats = check_int(repeats, "repeats", low=1)
    cases = _cases()
    runs = {name: [] for name in cases}
    done, total = 0, repeats * len(cases)
    for _ in range(repeats):
        for name, (command, _code) in cases.items():
            runs[name].append(_seconds(command))
            done += 1
            if progress is not None:
                progress(done, total, name)
    baseline = min(runs["python -c pass"])
    rows = [
        StartupTiming(
            name=name,
            command=" ".join([Path(command[0]).name, *command[1:]]),
            best_s=min(runs[name]),
            median_s=statistics.median(runs[name]),
            over_baseline_s=min(runs[name]) - baseline,
            heavy_modules=_heavy_modules(code),
            runs_s=runs[name],
        ).to_dict()
        for name, (command, code) in cases.items()
    ]
    meta = run_metadata(["sapp"], repeats=repeats, bar_seconds=BAR_SECONDS)
    return {"meta": meta, "rows": rows}


def startup_markdown(record: dict) -> str:
    """The report of :func:`startup_benchmark`: one table and the bar."""
    meta, rows = record["meta"], record["rows"]
    barred = [r for r in rows if r["name"] in _BARRED]
    met = all(r["best_s"] <= BAR_SECONDS for r in barred)
    body = [
        [
            f"`{r['name']}`",
            f"{r['best_s']:.3f}",
            f"{r['median_s']:.3f}",
            f"{r['over_baseline_s']:+.3f}",
            ", ".join(r["heavy_modules"]) or "-",
        ]
        for r in rows
    ]
    header = ["case", "best (s)", "median (s)", "best - python -c pass (s)"]
    lines = [
        "# Start-up time of sapp and of each package",
        "",
        f"Command: `{meta['command']}`; machine: {meta['machine']}; Python "
        f"{meta['python']}; best and median of {meta['repeats']} fresh processes "
        "per case, taken in turns.",
        "",
        *markdown_table([*header, "heavy libraries imported"], body),
        "",
        f"Bar: `sapp --help` and `sapp verify --help` within {BAR_SECONDS} s: "
        + ("met." if met else "NOT met."),
    ]
    return "\n".join(lines) + "\n"


def add_arguments(parser) -> None:
    """The options of ``sapp bench startup``."""
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=7,
        help="fresh processes per case (default 7)",
    )
    add_output_arguments(parser, "startup.{json,md}")


def run(args) -> int:
    """Run ``sapp bench startup``: write ``startup.{json,md}``, print the table."""
    from .results import progress_bar

    with progress_bar("sapp bench startup", "run", args.json) as progress:
        record = startup_benchmark(repeats=args.repeats, progress=progress)
    text = startup_markdown(record)
    paths = write_results(args.out, "startup", record, text)
    print_record(record, text, paths, args.json)
    return 0
