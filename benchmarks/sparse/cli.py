"""``sapp bench sparse``: its options, and the run that writes and prints results."""

from __future__ import annotations

import dataclasses

from ..results import add_output_arguments, print_record, progress_bar, write_results
from .report import sparse_markdown
from .runs import FULL, QUICK, SECTIONS, sparse_benchmark

__all__ = ["add_arguments", "run"]


def add_arguments(parser) -> None:
    """Add ``--quick``, ``--sections``, ``--abess-timeout``, ``--out``, ``--json``."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes, one repeat per timing (a few minutes on 2 cores); "
        "writes sparse.quick.{json,md}",
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=tuple(SECTIONS),
        default=list(SECTIONS),
        help="sections to run (default all)",
    )
    parser.add_argument(
        "--abess-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"kill abess after this long (default {FULL.abess_timeout:g}, "
        f"quick {QUICK.abess_timeout:g})",
    )
    add_output_arguments(parser, "sparse.{json,md}")


def run(args) -> int:
    """Run the benchmark for parsed ``args``, write the files, print the report."""
    scale = QUICK if args.quick else FULL
    if args.abess_timeout is not None:
        scale = dataclasses.replace(scale, abess_timeout=args.abess_timeout)
    with progress_bar("sapp bench sparse", "step", args.json) as progress:
        record = sparse_benchmark(
            scale=scale, sections=args.sections, progress=progress
        )
    text = sparse_markdown(record)
    stem = "sparse.quick" if args.quick else "sparse"
    paths = write_results(args.out, stem, record, text)
    print_record(record, text, paths, args.json)
    return 0
