"""The ``sapp`` command: one entry point with verbs.

``sapp verify`` checks the paper's lemmas, Theorem 1.1, group OMP / OMPR,
Algorithm 2 and Theorem B.3 on seeded instances (one report);
``sapp demo`` is the main job: the same checks, then a block-pruning comparison of
every method on MNIST-1D (:mod:`benchmarks.pruning`: the paper's four and gradual
magnitude pruning, the strongest baseline; tables and plots);
``sapp bench VERB`` runs one of the benchmarks listed in
:data:`benchmarks.registry.VERBS`. Every verb has ``--help``; ``--json`` prints
the same ``to_dict()`` the Python API returns. Exit status: 0 when every check
matched the theory's expectation, 1 when one did not, 2 on bad arguments.

A verb imports its code only when it runs: building the parser imports neither
torch nor a benchmark (a bench verb's options are added only when that verb is
on the command line), so ``sapp --help`` starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .cli_types import non_negative_int, positive_int, sparsity

__all__ = ["main"]


def _verification(seed: int, quiet: bool):
    """The theorem checks of both packages, as one report."""
    # Imported here (not at module level) so that tests can replace either part.
    from tqdm import tqdm

    from nonconvex_reg.verify import VerificationReport, run_verification
    from omp.verify import run_omp_checks

    with tqdm(
        desc="verifying",
        unit="check",
        file=sys.stderr,
        disable=quiet or not sys.stderr.isatty(),
    ) as bar:
        report = run_verification(seed=seed, progress=lambda _check: bar.update())
        omp_checks = run_omp_checks(seed=seed, progress=lambda _check: bar.update())
    return VerificationReport(seed=seed, checks=[*report.checks, *omp_checks])


def _verify(args) -> int:
    report = _verification(args.seed, args.json)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.to_table())
    return 0 if report.all_ok else 1


def _demo(args) -> int:
    from benchmarks.pruning import report as pruning_report
    from benchmarks.pruning import runs
    from benchmarks.results import progress_bar

    if not args.json:
        print(
            "sapp demo: numerical checks of Lemmas 2.1-2.5, Theorem 1.1, group "
            "OMPR, Algorithm 2 and Theorem B.3 (arXiv:2402.17902), then "
            "block pruning of an MLP on MNIST-1D by every method\n"
        )
    report = _verification(args.seed, args.json)
    if not args.json:
        print(report.to_table(), "\n", flush=True)
    record = None
    if not args.no_pruning:
        grids = runs.default_grids("demo", seeds=range(args.seed, args.seed + 3))
        with progress_bar("training", "run", args.json) as progress:
            record = runs.pruning_benchmark(
                grids,
                methods=runs.METHODS,
                jobs=args.jobs,
                progress=progress,
            )
        written = pruning_report.write_pruning_results(record, args.out, "demo")
    if args.json:
        print(
            json.dumps({"verification": report.to_dict(), "pruning": record}, indent=2)
        )
    elif record is not None:
        print(pruning_report.pruning_markdown(record))
        print("wrote " + ", ".join(str(path) for path in written))
    return 0 if report.all_ok else 1


def _add_bench(verbs, selected: str | None) -> None:
    """``sapp bench``: every verb listed; only ``selected`` gets its options.

    The verbs come from a static table (:data:`benchmarks.registry.VERBS`), so
    listing them imports no benchmark; the selected verb's module is imported
    to add its options and run it.
    """
    from benchmarks.registry import VERBS

    text = f"benchmarks: {', '.join(VERBS)} (sapp bench VERB --help for each)"
    bench = verbs.add_parser("bench", help=text, description=text)
    kinds = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    for name, verb in VERBS.items():
        parser = kinds.add_parser(name, help=verb.help, description=verb.help)
        if name == selected:
            module = verb.load()
            module.add_arguments(parser)
            parser.set_defaults(handler=module.run)


_RECIPES = Path(__file__).resolve().parent / "recipes"


def _recipe_names() -> list[str]:
    return sorted(p.stem for p in _RECIPES.glob("*.toml") if p.name[0] != "_")


def _input_errors():
    """Exceptions that mean bad input (exit status 2), not a failed run."""
    from neural.train.checkpoint import CheckpointError

    return (ValueError, TypeError, FileNotFoundError, FileExistsError, CheckpointError)


def _fail(args, error) -> int:
    print(f"{args.prog}: error: {error}", file=sys.stderr)
    return 2


def _block(text: str):
    return int(text) if text.isdigit() else text


def _train(args) -> int:
    import time

    from neural.recipes import load_recipe, parse_assignment
    from neural.recipes.run import RECIPE_FILE, plan_training, run_training

    try:
        assignments = {}
        if args.sparsity is not None:
            assignments["prune.sparsity"] = args.sparsity
        if args.block is not None:
            assignments["prune.block"] = args.block
        assignments.update(parse_assignment(text) for text in args.set)
        spec = args.recipe
        if spec is None:
            if not (args.resume and args.run_dir):
                raise ValueError(
                    "--recipe is required (or --resume with --run-dir, which "
                    "reuses the run's recipe)."
                )
            spec = Path(args.run_dir) / RECIPE_FILE
            if not spec.is_file():
                raise FileNotFoundError(
                    f"`run_dir` {args.run_dir!r} holds no {RECIPE_FILE}: pass --recipe."
                )
        recipe = load_recipe(spec, method=args.method, assignments=assignments)
        if args.data is not None:
            recipe = recipe.with_data(args.data)
        plan = plan_training(
            recipe,
            run_dir=args.run_dir,
            resume=args.resume,
            steps=args.steps,
            rescale_warmup="train.warmup_steps" not in assignments,
        )
    except _input_errors() as error:
        return _fail(args, error)
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)
    if not args.json:
        print(f"sapp train: {plan.recipe} -> {plan.run_dir}", flush=True)
    start = time.perf_counter()
    result = run_training(plan)
    wall = time.perf_counter() - start
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    loss = "-" if result.train_loss is None else f"{result.train_loss:.4g}"
    print(
        f"trained {result.steps} steps ({result.epochs:.3g} epochs) in {wall:.1f} s; "
        f"last training loss {loss}"
    )
    if result.final_eval is not None:
        metrics = "  ".join(
            f"{key} {value:.4f}" if isinstance(value, float) else f"{key} {value}"
            for key, value in result.final_eval.items()
        )
        print(f"final eval: {metrics}")
    if result.report is not None:
        print(f"\n{result.report}\n")
    print(f"run folder: {result.run_dir} (model.pt, recipe.toml, metrics.csv)")
    return 0


def _eval(args) -> int:
    from neural.recipes import evaluate_checkpoint

    try:
        result = evaluate_checkpoint(args.checkpoint, data=args.data)
    except _input_errors() as error:
        return _fail(args, error)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result)
    return 0


def _export(args) -> int:
    from neural.recipes import export_checkpoint

    try:
        result = export_checkpoint(
            args.checkpoint,
            args.out,
            policy=args.policy,
            batch_size=args.batch_size,
            repeats=args.repeats,
        )
    except _input_errors() as error:
        return _fail(args, error)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result)
    return 0


def _add_train(verbs) -> None:
    text = "train (and block-prune) a model from a recipe"
    train = verbs.add_parser(
        "train",
        help=text,
        description=f"{text}; built-in recipes: {', '.join(_recipe_names())} "
        "(each also as NAME:quick, a small run on synthetic data).",
    )
    train.add_argument(
        "--recipe",
        metavar="R",
        help="a built-in recipe, optionally NAME:quick, or a path to a .toml file",
    )
    train.add_argument(
        "--data",
        metavar="PATH",
        help="the dataset folder; with a synthetic recipe, read this real data instead",
    )
    train.add_argument(
        "--method",
        choices=("magnitude", "powerprop", "acdc", "sapp"),
        help="the same experiment's recipe for this method (file recipes: "
        "prune.method)",
    )
    train.add_argument("--sparsity", type=sparsity, help="prune.sparsity, in [0, 1)")
    train.add_argument("--block", type=_block, help="prune.block: B or BrxBc")
    train.add_argument(
        "--steps",
        type=positive_int,
        help="train this many steps (the warm-up keeps its share)",
    )
    train.add_argument(
        "--run-dir",
        metavar="DIR",
        help="run folder (default runs/<recipe>-<method>-<time>)",
    )
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe key, e.g. train.lr=0.1 (VALUE read as TOML)",
    )
    train.add_argument(
        "--resume", action="store_true", help="continue the run in --run-dir"
    )
    train.add_argument(
        "--json", action="store_true", help="print the TrainResult as JSON"
    )
    train.set_defaults(handler=_train, prog=train.prog)


def _add_eval_export(verbs) -> None:
    text = "evaluate a trained run (folder, model.pt or checkpoint) on its eval split"
    evaluate = verbs.add_parser("eval", help=text, description=text)
    evaluate.add_argument("checkpoint", metavar="CHECKPOINT")
    evaluate.add_argument(
        "--data", metavar="PATH", help="read the eval split from this dataset"
    )
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    evaluate.set_defaults(handler=_eval, prog=evaluate.prog)
    text = (
        "export a trained run's pruned layers to block-sparse form and save it "
        "(neural.export)"
    )
    export = verbs.add_parser("export", help=text, description=text)
    export.add_argument("checkpoint", metavar="CHECKPOINT")
    export.add_argument("--out", required=True, metavar="FILE", help="file to write")
    export.add_argument(
        "--policy",
        choices=("measure", "sparse"),
        default="measure",
        help="measure: block-sparse only where timed faster; sparse: every layer",
    )
    export.add_argument(
        "--batch-size",
        type=positive_int,
        default=16,
        help="rows of the timing batch (default 16)",
    )
    export.add_argument(
        "--repeats", type=positive_int, default=15, help="timed calls per layer"
    )
    export.add_argument("--json", action="store_true", help="print JSON")
    export.set_defaults(handler=_export, prog=export.prog)


def build_parser(bench: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``sapp`` command.

    Parameters
    ----------
    bench : str, optional
        The ``sapp bench`` verb whose options to add (its module is imported);
        None adds none, so that building the parser stays light.
    """
    parser = argparse.ArgumentParser(
        prog="sapp",
        description="SequentialAttention++: theory checks and block pruning.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name, handler, text in (
        (
            "demo",
            _demo,
            "the main job: theorem checks, then a block-pruning comparison",
        ),
        ("verify", _verify, "check Lemmas 2.1-2.5, Theorems 1.1 and B.3 and OMPR"),
    ):
        sub = verbs.add_parser(name, help=text, description=text)
        sub.add_argument(
            "--seed",
            type=non_negative_int,
            default=0,
            help="seed of the random instances (default 0)",
        )
        sub.add_argument("--json", action="store_true", help="print the report as JSON")
        sub.set_defaults(handler=handler)
        if name == "demo":
            sub.add_argument(
                "--out",
                default="sapp_demo",
                metavar="DIR",
                help="where demo.{md,json}, demo_mnist1d.png and demo_swaps.png go "
                "(default sapp_demo)",
            )
            sub.add_argument(
                "--jobs", type=positive_int, default=2, help="training processes"
            )
            sub.add_argument(
                "--no-pruning", action="store_true", help="only the theorem checks"
            )
    _add_train(verbs)
    _add_eval_export(verbs)
    _add_bench(verbs, bench)
    return parser


def main(argv=None) -> int:
    """Run the ``sapp`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    bench = argv[1] if len(argv) > 1 and argv[0] == "bench" else None
    args = build_parser(bench).parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
