"""``sapp bench tune``: its options, their checks, and the run that writes results.

Bad input (an unknown or empty ``--methods``, ``--budget`` below 1, a
``--val-fraction`` outside (0, 1)) exits with status 2 and one line naming the
option, before anything is trained or written.
"""

from __future__ import annotations

import sys

from ..pruning import runs as pruning_runs
from ..results import add_output_arguments, print_record, progress_bar
from . import runs
from .report import tune_markdown, write_tune_results
from .spaces import TUNE_METHODS

__all__ = ["add_arguments", "run"]


def add_arguments(parser) -> None:
    """The options of ``sapp bench tune``."""
    from ..pruning.cli import add_seed_and_job_arguments

    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"budget {runs.BUDGETS['quick']} and MNIST-1D at 500 steps (minutes) "
        f"instead of budget {runs.BUDGETS['full']} and 3000 steps",
    )
    parser.add_argument(
        "--tasks", nargs="+", choices=pruning_runs.TASKS, default=pruning_runs.TASKS
    )
    parser.add_argument(
        "--methods",
        nargs="*",
        default=list(TUNE_METHODS),
        metavar="METHOD",
        help=f"methods to tune (default all: {', '.join(TUNE_METHODS)})",
    )
    parser.add_argument(
        "--budget",
        type=int,
        metavar="N",
        help="configurations per method and cell, the default among them "
        "(default: the mode's)",
    )
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.2,
        metavar="F",
        help="share of the training split held out for selection, in (0, 1) "
        "(default 0.2)",
    )
    add_seed_and_job_arguments(
        parser, "seeds 0..N-1 of the final runs; seed 0 selects (default 3)"
    )
    add_output_arguments(parser, "tune.{json,md}")


def _problem(args) -> str | None:
    """The one-line complaint about ``args``, or None."""
    unknown = [m for m in args.methods if m not in TUNE_METHODS]
    if unknown or not args.methods:
        got = ", ".join(unknown) if unknown else "none"
        return f"`--methods` must name some of {', '.join(TUNE_METHODS)}; got {got}."
    if args.budget is not None and args.budget < 1:
        return f"`--budget` must be a positive integer; got {args.budget}."
    if not 0.0 < args.val_fraction < 1.0:
        return f"`--val-fraction` must be in (0, 1); got {args.val_fraction}."
    return None


def run(args) -> int:
    """Run ``sapp bench tune``; returns the exit status."""
    mode = "quick" if args.quick else "full"
    problem = _problem(args)
    grids = [
        g for g in runs.tune_grids(mode, range(args.seeds)) if g.task in args.tasks
    ]
    if problem is None:
        try:
            runs.check_split(grids, args.val_fraction)
        except ValueError as error:
            problem = str(error).replace("`val_fraction`", "`--val-fraction`")
    if problem is not None:
        print(f"sapp bench tune: error: {problem}", file=sys.stderr)
        return 2
    budget = runs.BUDGETS[mode] if args.budget is None else args.budget
    with progress_bar("tuning", "run", args.json) as progress:
        record = runs.tune_benchmark(
            grids,
            methods=tuple(dict.fromkeys(args.methods)),
            budget=budget,
            val_fraction=args.val_fraction,
            jobs=args.jobs,
            progress=progress,
        )
    stem = "tune_quick" if args.quick else "tune"
    written = write_tune_results(record, args.out, stem)
    print_record(record, tune_markdown(record), written, args.json)
    return 0
