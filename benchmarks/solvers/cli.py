"""``sapp bench solvers``: its options, and the run that writes and prints the results.

The datasets and timed runs are in :mod:`benchmarks.solvers.runs`, the solvers in
:mod:`benchmarks.solvers.peers`, the tables and the plot in
:mod:`benchmarks.solvers.report`.
"""

from __future__ import annotations

from neural.cli_types import non_negative_int

from ..results import add_output_arguments, print_record, progress_bar
from . import runs
from .report import save_solvers, solver_markdown

__all__ = ["add_arguments", "run"]


def add_arguments(parser) -> None:
    """Add ``--quick``, ``--seed``, ``--out`` and ``--json`` to ``parser``."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller problems, one repeat per timing (about 1 minute on 2 cores)",
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="instance seed (default 0)"
    )
    add_output_arguments(parser, "solvers.{json,md,png}")


def run(args) -> int:
    """Run the benchmark for parsed ``args``, write the files, print the report."""
    with progress_bar("sapp bench solvers", "dataset", args.json) as progress:
        record = runs.solver_benchmark(
            quick=args.quick, seed=args.seed, progress=progress
        )
    paths = save_solvers(record, args.out)
    print_record(record, solver_markdown(record), paths, args.json)
    return 0
