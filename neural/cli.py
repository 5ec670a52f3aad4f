"""The ``sapp`` command: one entry point with verbs.

``sapp verify`` checks the paper's lemmas, Theorem 1.1, group OMP / OMPR,
Algorithm 2 and Theorem B.3 on seeded instances (one report);
``sapp demo`` is the main job (for now the theorem checks; the pruning comparison
joins it with the neural issues). Every verb has ``--help``; ``--json`` prints the
same ``to_dict()`` the Python API returns. Exit status: 0 when every check matched
the theory's expectation, 1 when one did not, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

__all__ = ["main"]


def _run_checks(seed: int, as_json: bool) -> int:
    # Imported here (not at module level) so that tests can replace either part.
    from nonconvex_reg.verify import VerificationReport, run_verification
    from omp.verify import run_omp_checks

    with tqdm(
        desc="verifying",
        unit="check",
        file=sys.stderr,
        disable=as_json or not sys.stderr.isatty(),
    ) as bar:
        report = run_verification(seed=seed, progress=lambda _check: bar.update())
        omp_checks = run_omp_checks(seed=seed, progress=lambda _check: bar.update())
    report = VerificationReport(seed=seed, checks=[*report.checks, *omp_checks])
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.to_table())
    return 0 if report.all_ok else 1


def _verify(args) -> int:
    return _run_checks(args.seed, args.json)


def _demo(args) -> int:
    if not args.json:
        print(
            "sapp demo: numerical checks of Lemmas 2.1-2.5, Theorem 1.1, group "
            "OMPR, Algorithm 2 and Theorem B.3 (PAPER.md sections 2-4)\n"
        )
    return _run_checks(args.seed, args.json)


def _bench_speed(args) -> int:
    import torch

    from neural.export.speed import speed_report

    torch.set_num_threads(args.threads)
    record, decisions, tables = speed_report(
        args.model,
        args.sparsity,
        args.block,
        args.batch_sizes,
        repeats=args.repeats,
        image_size=args.image_size,
    )
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        print(
            f"sapp bench speed: {args.model}, block {args.block}, sparsity "
            f"{args.sparsity:g}, {args.threads} threads (fp32, CPU)\n"
        )
        print(decisions, tables, sep="\n\n")
    return 0


def _sparsity(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number in [0, 1); got {text!r}"
        ) from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1); got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be an integer >= 1; got 0")
    return value


def _add_bench(verbs) -> None:
    from neural.export.speed import SPEED_MODELS

    text = "benchmarks; `sapp bench speed`: dense vs block-sparse inference"
    bench = verbs.add_parser("bench", help=text, description=text)
    kinds = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    text = (
        "dense vs block-sparse latency and throughput of a pruned model, per "
        "exported layer and whole, for each batch size, in one run"
    )
    speed = kinds.add_parser("speed", help=text, description=text)
    speed.add_argument("--model", choices=SPEED_MODELS, default="criteo")
    speed.add_argument("--sparsity", type=_sparsity, default=0.9)
    speed.add_argument("--block", type=_positive_int, default=10)
    speed.add_argument(
        "--batch-sizes", type=_positive_int, nargs="+", default=[1, 64, 256]
    )
    speed.add_argument("--repeats", type=_positive_int, default=20)
    speed.add_argument("--threads", type=_positive_int, default=2)
    speed.add_argument(
        "--image-size", type=_positive_int, default=32, help="ResNet input side"
    )
    speed.add_argument("--json", action="store_true", help="print the record as JSON")
    speed.set_defaults(handler=_bench_speed)


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer >= 0; got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``sapp`` command."""
    parser = argparse.ArgumentParser(
        prog="sapp",
        description="SequentialAttention++: theory checks and block pruning.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name, handler, text in (
        ("demo", _demo, "the main job: run the theorem checks and print a table"),
        ("verify", _verify, "check Lemmas 2.1-2.5, Theorems 1.1 and B.3 and OMPR"),
    ):
        sub = verbs.add_parser(name, help=text, description=text)
        sub.add_argument(
            "--seed",
            type=_non_negative_int,
            default=0,
            help="seed of the random instances (default 0)",
        )
        sub.add_argument("--json", action="store_true", help="print the report as JSON")
        sub.set_defaults(handler=handler)
    _add_bench(verbs)
    return parser


def main(argv=None) -> int:
    """Run the ``sapp`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
