"""``sapp train`` under ``torchrun``: killed after a checkpoint, resumed, compared.

Three launches of ``python -m torch.distributed.run --standalone
--nproc_per_node 1`` (one rank; the trainer joins a process group even so, NCCL
on CUDA and gloo on the CPU, :mod:`neural.train.distributed`), each a
``sapp train`` of the case's recipe through :mod:`benchmarks.gpu.train_child`:

1. the uninterrupted run, to the end;
2. the same run in another folder, which SIGKILLs itself after
   ``kill_step``, between two checkpoints (1 and 2 run side by side);
3. ``sapp train --run-dir <2> --resume``, from the last checkpoint to the end.

The final weights (``model.pt`` of runs 1 and 3) are compared tensor by tensor:
bit-identical is the bar (the recipe runs with ``train.deterministic=true``,
which makes CUDA kernels deterministic), and the largest absolute difference is
reported either way, as is whether the logged training losses agree.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import torch

from neural.train import load_checkpoint, read_metrics

from . import processes

__all__ = ["resume_stage"]

_LAUNCH = ("-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1")


def _command(case, run_dir: Path, report: Path, kill_step: int, resume: bool):
    train = ["train", "--run-dir", str(run_dir)]
    if resume:
        train.append("--resume")  # the recipe comes from the run folder
    else:
        train += ["--recipe", case.recipe]
        if case.steps is not None:
            train += ["--steps", str(case.steps)]
        for option in case.options:
            train += ["--set", option]
    child = ["-m", "benchmarks.gpu.train_child", str(report), str(kill_step), "--"]
    return [sys.executable, *_LAUNCH, *child, *train]


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else ""


def _finish(process, log: Path, budget, what: str) -> int:
    code = processes.wait(process, budget.left())
    if code is None:
        raise TimeoutError(f"{what} outlived the stage budget:\n{_tail(log)}")
    return code


def _latest_step(run_dir: Path) -> int | None:
    pointer = run_dir / "latest"
    if not pointer.is_file():
        return None
    return int(pointer.read_text().strip().split("-")[1].split(".")[0])


def _compare(straight: Path, resumed: Path) -> dict:
    a = load_checkpoint(straight / "model.pt")["model"]
    b = load_checkpoint(resumed / "model.pt")["model"]
    if a.keys() != b.keys():
        raise ValueError(f"the two runs saved different tensors: {a.keys() ^ b.keys()}")
    identical = all(torch.equal(a[k], b[k]) for k in a)
    max_diff = max(
        (
            float((a[k].double() - b[k].double()).abs().max())
            for k in a
            if a[k].is_floating_point() and a[k].numel()
        ),
        default=0.0,
    )
    losses = [
        [(r["step"], r["loss"]) for r in read_metrics(run) if r["split"] == "train"]
        for run in (straight, resumed)
    ]
    return {
        "bit_identical": identical,
        "max_abs_diff": max_diff,
        "n_tensors": len(a),
        "train_losses_equal": losses[0] == losses[1],
    }


def resume_stage(case, device: torch.device, budget) -> dict:
    """Run, kill, resume and compare (see the module docstring).

    Parameters
    ----------
    case : ResumeCase
    device : torch.device
        Only its type matters: the runs are told the device in ``case.options``.
    budget : Budget
        Every launch is ended when it runs out.

    Returns
    -------
    dict

    Raises
    ------
    RuntimeError, TimeoutError, ValueError
        When a run fails, outlives the budget, or was not killed where planned;
        the message holds the end of its log.
    """
    root = Path(tempfile.mkdtemp(prefix="sapp-bench-gpu-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if device.type == "cpu":
        env.setdefault("OMP_NUM_THREADS", "1")
    straight, resumed = root / "straight", root / "resumed"
    logs = {name: root / f"{name}.log" for name in ("straight", "killed", "resume")}
    reports = {name: root / f"{name}.json" for name in logs}
    try:
        first = processes.start(
            _command(case, straight, reports["straight"], 0, False),
            logs["straight"],
            env,
        )
        killed = processes.start(
            _command(case, resumed, reports["killed"], case.kill_step, False),
            logs["killed"],
            env,
        )
        killed_code = _finish(killed, logs["killed"], budget, "the run to be killed")
        checkpoint = _latest_step(resumed)
        if killed_code == 0 or (resumed / "model.pt").exists():
            raise RuntimeError(
                f"the run to be killed at step {case.kill_step} ended normally:\n"
                f"{_tail(logs['killed'])}"
            )
        if checkpoint != case.checkpoint_step:
            raise RuntimeError(
                f"the killed run's last checkpoint is step {checkpoint}, expected "
                f"{case.checkpoint_step}:\n{_tail(logs['killed'])}"
            )
        second = processes.start(
            _command(case, resumed, reports["resume"], 0, True), logs["resume"], env
        )
        for process, name in ((first, "straight"), (second, "resume")):
            code = _finish(process, logs[name], budget, f"the {name} run")
            if code != 0:
                raise RuntimeError(
                    f"the {name} run exited with status {code}:\n{_tail(logs[name])}"
                )
        seen = {
            name: json.loads(path.read_text())
            for name, path in reports.items()
            if path.is_file()
        }
        return {
            "recipe": case.recipe,
            "options": list(case.options),
            "steps": case.steps,
            "killed_at_step": case.kill_step,
            "killed_exit_status": killed_code,
            "resumed_from_step": checkpoint,
            "ranks": seen,
            "backend": seen.get("resume", {}).get("backend"),
            **_compare(straight, resumed),
        }
    finally:
        for process in list(processes.LIVE):
            processes.kill_tree(process)
        shutil.rmtree(root, ignore_errors=True)
