"""``sapp bench pruning``: its options, and the run that writes and prints the results.

The grid and the training runs are in :mod:`benchmarks.pruning.runs`; what is
written (tables, verdicts, plots) in :mod:`benchmarks.pruning.report`; the
``--compare`` check in :mod:`benchmarks.pruning.compare`.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from neural import cli_types

from ..results import add_output_arguments, print_record, progress_bar
from . import runs
from .compare import compare_records, comparison_markdown
from .report import pruning_markdown, write_pruning_results

__all__ = ["add_arguments", "add_seed_and_job_arguments", "run"]


def add_seed_and_job_arguments(parser, seeds_help: str) -> None:
    """``--seeds N`` (default 3) and ``--jobs`` (default 2), for every cell runner."""
    parser.add_argument(
        "--seeds",
        type=cli_types.positive_int,
        default=3,
        metavar="N",
        help=seeds_help,
    )
    parser.add_argument(
        "--jobs",
        type=cli_types.positive_int,
        default=2,
        help="worker processes, one torch thread each (default 2)",
    )


def add_arguments(parser) -> None:
    """The options of ``sapp bench pruning``."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the small grid (4 minutes on 2 idle cores) instead of the full "
        "one (36 minutes)",
    )
    parser.add_argument(
        "--tasks", nargs="+", choices=runs.TASKS, default=list(runs.TASKS)
    )
    parser.add_argument(
        "--blocks",
        nargs="+",
        type=cli_types.positive_int,
        metavar="B",
        help="only these block sizes of the mode's grid",
    )
    parser.add_argument(
        "--sparsities",
        nargs="+",
        type=cli_types.sparsity,
        metavar="S",
        help="only these sparsities of the mode's grid",
    )
    parser.add_argument(
        "--methods", nargs="+", choices=runs.METHODS, default=list(runs.METHODS)
    )
    add_seed_and_job_arguments(parser, "seeds 0..N-1 per cell (default 3)")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="REFERENCE.json",
        help="also compare this run with an earlier record (e.g. the committed "
        "benchmarks/results/pruning_quick.json): exit status 1 when a cell's mean "
        "differs by more than its std over seeds; with --json the comparison is "
        "printed under the key 'comparison'",
    )
    add_output_arguments(parser, "pruning.{json,md} and pruning_<task>.png")


def _restrict(grid: runs.PruningGrid, blocks, sparsities) -> runs.PruningGrid:
    """``grid`` cut to the given blocks and sparsities (each must be in it)."""
    for name, chosen, available in (
        ("--blocks", blocks, grid.blocks),
        ("--sparsities", sparsities, grid.sparsities),
    ):
        missing = sorted(set(chosen or ()) - set(available))
        if missing:
            raise ValueError(
                f"`{name}` must be among {list(available)} for {grid.task}; got "
                f"{missing}."
            )
    return dataclasses.replace(
        grid,
        blocks=tuple(b for b in grid.blocks if blocks is None or b in blocks),
        sparsities=tuple(
            s for s in grid.sparsities if sparsities is None or s in sparsities
        ),
    )


def _read_reference(path: Path) -> dict:
    """The record at ``path`` (``--compare``), checked to hold benchmark rows."""
    try:
        reference = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(
            f"`--compare` must name a readable JSON record: {error}"
        ) from None
    if not isinstance(reference, dict) or not isinstance(reference.get("rows"), list):
        raise ValueError(
            f"`--compare` must name a record of sapp bench pruning (a JSON object "
            f"with 'rows'); {path} is not one."
        )
    return reference


def run(args) -> int:
    """Run ``sapp bench pruning``; returns the exit status."""
    mode = "quick" if args.quick else "full"
    try:
        reference = None if args.compare is None else _read_reference(args.compare)
        grids = [
            _restrict(grid, args.blocks, args.sparsities)
            for grid in runs.default_grids(mode, range(args.seeds))
            if grid.task in args.tasks
        ]
    except ValueError as error:
        print(f"sapp bench pruning: error: {error}", file=sys.stderr)
        return 2
    with progress_bar("training", "run", args.json) as progress:
        record = runs.pruning_benchmark(
            grids, methods=args.methods, jobs=args.jobs, progress=progress
        )
    stem = "pruning_quick" if args.quick else "pruning"
    written = write_pruning_results(record, args.out, stem)
    if reference is None:
        print_record(record, pruning_markdown(record), written, args.json)
        return 0
    try:
        comparison = compare_records(reference, record)
    except ValueError as error:
        print_record(record, pruning_markdown(record), written, args.json)
        print(f"sapp bench pruning: error: {error}", file=sys.stderr)
        return 2
    text = (
        pruning_markdown(record)
        + "\n"
        + comparison_markdown(comparison, str(args.compare))
    )
    print_record({**record, "comparison": comparison}, text, written, args.json)
    return 0 if comparison["matches"] else 1
