r"""``sapp train`` as a ``torchrun`` rank of the check, observed, maybe killed.

    python -m torch.distributed.run --standalone --nproc_per_node 1 \
        -m benchmarks.gpu.train_child REPORT.json KILL_STEP -- train --recipe ...

runs :func:`neural.cli.main` on the arguments after ``--`` (a ``sapp train``
command line), with one callback added to the trainer it builds: after the
first step it runs (resumed or not) it writes ``REPORT.json`` (the process
group's backend, the world size, the device and whether bf16 autocast is on),
so the check knows what the rank ran; after step ``KILL_STEP`` (0: never) the
rank sends itself SIGKILL, a crash at a known point between two checkpoints.
Everything else is the plain ``sapp train``.
"""

from __future__ import annotations

import json
import os
import signal
import sys

__all__ = ["main"]


def _observer(trainer, report_path, kill_step):
    written = []

    def observe(step):
        if not written and trainer.context_.is_main:
            written.append(step)
            with open(report_path, "w") as handle:
                json.dump(
                    {
                        "backend": trainer.context_.backend,
                        "world_size": trainer.context_.world_size,
                        "device": str(trainer.device_),
                        "bf16_autocast": trainer.config.mixed_precision
                        and trainer.device_.type == "cuda",
                    },
                    handle,
                )
        if step == kill_step:
            os.kill(os.getpid(), signal.SIGKILL)

    return observe


def main(argv=None) -> int:
    """Run ``sapp train`` observed; returns its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) < 3 or argv[2] != "--":
        raise SystemExit(
            "usage: python -m benchmarks.gpu.train_child REPORT.json KILL_STEP -- "
            "train ..."
        )
    report_path, kill_step, command = argv[0], int(argv[1]), argv[3:]

    from neural.cli import main as sapp
    from neural.recipes import run

    class ObservedTrainer(run.Trainer):
        def __init__(self, *args, callbacks=(), **kwargs):
            observe = _observer(self, report_path, kill_step)
            super().__init__(*args, callbacks=(*callbacks, observe), **kwargs)

    run.Trainer = ObservedTrainer  # the class run_training builds
    return sapp(command)


if __name__ == "__main__":
    sys.exit(main())
