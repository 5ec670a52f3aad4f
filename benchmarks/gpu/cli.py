"""``sapp bench gpu``: its options, the stages in order, the results written.

Stages, in order of what the bars need first: ``resnet50`` (training step
times, :mod:`benchmarks.gpu.training`), ``torchrun_resume``
(:mod:`benchmarks.gpu.resume`), ``criteo`` (training step times) and
``export`` (:mod:`benchmarks.gpu.export`), each under its budget and all under
the wall-clock guard (:mod:`benchmarks.gpu.stages`); ``--tiny`` on the CPU
runs them on one torch thread (its tiny operations only contend with more, and
the ``sapp train`` ranks get ``OMP_NUM_THREADS=1``). The results are written
after every stage (and by the guard if it fires), atomically, to
``gpu.{json,md}`` (``gpu_tiny.*`` with ``--tiny``).
"""

from __future__ import annotations

import functools
import sys
import time

from ..results import (
    add_output_arguments,
    print_record,
    progress_bar,
    run_metadata,
    write_results,
)

__all__ = ["add_arguments", "run"]


def add_arguments(parser) -> None:
    """The options of ``sapp bench gpu``."""
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="every code path at tiny sizes, in seconds on a CPU (writes gpu_tiny.*)",
    )
    parser.add_argument(
        "--device",
        metavar="D",
        help="cuda, cuda:N or cpu (default cuda when a GPU is visible, else cpu; "
        "cpu needs --tiny)",
    )
    add_output_arguments(parser, "gpu.{json,md}")


def _device(args):
    """The checked device, or None after printing why (exit status 2)."""
    import torch

    from neural.train import resolve_device

    try:
        device = resolve_device(args.device or "auto")
    except ValueError as error:
        print(f"sapp bench gpu: error: {error}", file=sys.stderr)
        return None
    if device.type != "cuda" and not args.tiny:
        reason = (
            "--device cpu runs only with --tiny"
            if torch.cuda.is_available()
            else f"no CUDA GPU is visible to torch {torch.__version__}"
        )
        print(
            f"sapp bench gpu: error: {reason}; the check needs a GPU (--tiny runs "
            "its code paths on the CPU).",
            file=sys.stderr,
        )
        return None
    return device


def _stages(settings, device):
    from .export import export_stage
    from .resume import resume_stage
    from .training import training_stage

    resnet, criteo = settings.training
    return [
        (
            "resnet50",
            resnet.budget_s,
            functools.partial(training_stage, resnet, device),
        ),
        (
            "torchrun_resume",
            settings.resume.budget_s,
            functools.partial(resume_stage, settings.resume, device),
        ),
        ("criteo", criteo.budget_s, functools.partial(training_stage, criteo, device)),
        (
            "export",
            settings.export.budget_s,
            functools.partial(export_stage, settings.export, device),
        ),
    ]


def run(args) -> int:
    """Run ``sapp bench gpu``; exit status 0, 1 (a stage or bar failed) or 2."""
    start = time.perf_counter()
    device = _device(args)
    if device is None:
        return 2
    import torch

    from .report import environment, gpu_markdown, gpu_record
    from .settings import settings_for
    from .stages import StageRunner

    settings = settings_for(args.tiny, device.type)
    stem = "gpu_tiny" if args.tiny else "gpu"
    meta = run_metadata(["sapp", "torch", "numpy"], tiny=args.tiny)
    env = environment(device)

    def write(stages):
        record = gpu_record(meta, env, settings, stages, device)
        text = gpu_markdown(record)
        return record, text, write_results(args.out, stem, record, text)

    stages = _stages(settings, device)
    threads = torch.get_num_threads()
    if args.tiny and device.type == "cpu":
        torch.set_num_threads(1)  # tiny ops: more threads only contend
    runner = StageRunner(settings.wall_s, on_guard=write, clock_start=start)
    try:
        with progress_bar("sapp bench gpu", "stage", args.json) as progress:
            for done, (name, budget_s, function) in enumerate(stages):
                progress(done, len(stages), name)
                runner.run(name, budget_s, function)
                write(runner.stages)
            progress(len(stages), len(stages), "done")
    finally:
        runner.finish()
        torch.set_num_threads(threads)
    record, text, paths = write(runner.stages)
    print_record(record, text, paths, args.json)
    return record["exit_status"]
