"""SIGKILL a training run anywhere, resume it, get the same weights (issue 5).

The run (``conftest.resume_run``): SA++ whose sparsify phase (steps 8-20)
crosses the checkpoints at steps 10 and 15, then sparse, dense and sparse
phases; dropout; a dataset with random augmentation; deterministic algorithms;
one thread; a checkpoint every 5 steps. The reference runs without interruption
in this process with ``num_workers=0``. One run folder then goes through four
processes (``_resume_script.py``; each process costs seconds of imports, so the
kills are chained rather than run side by side):

1. ``num_workers=0``, SIGKILL at a random step of the sparsify phase (11-14);
2. resumed with ``num_workers=2`` (from step 10), SIGKILL at a random step 16-19;
3. resumed with ``num_workers=0`` (from 15), SIGKILL while the checkpoint of
   step 25 is half written (its temporary file truncated, the process asleep);
4. resumed with ``num_workers=2`` (from 20) to the end.

The last one must end with a ``state_dict`` bit-identical to the reference's,
and the run folder must hold exactly the reference's logged losses.
"""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from neural.train import read_metrics

from .conftest import resume_run, same_state

SCRIPT = Path(__file__).with_name("_resume_script.py")
TIMEOUT = 180
PICK = random.Random(5)  # issue 5: reproducible "random" kill points
FIRST_KILL = PICK.randint(11, 14)
SECOND_KILL = PICK.randint(16, 19)


def _command(run_dir, out, options):
    return [sys.executable, str(SCRIPT), str(run_dir), str(out), *options]


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _kill_when(run_dir, out, kill_line, options, delay=0.0):
    """Start a run and SIGKILL it once it prints ``kill_line``."""
    process = subprocess.Popen(
        _command(run_dir, out, options),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    deadline = time.monotonic() + TIMEOUT
    reached = False
    try:
        for line in process.stdout:
            if line.strip() == kill_line:
                time.sleep(delay)
                process.send_signal(signal.SIGKILL)
                reached = True
                break
            if time.monotonic() > deadline:
                break
    finally:
        if process.poll() is None and not reached:
            process.kill()
        process.wait(timeout=60)
        stderr = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert reached, f"the run never printed {kill_line!r}:\n{stderr[-3000:]}"
    assert process.returncode == -signal.SIGKILL, stderr[-3000:]
    assert not out.exists()


def _losses(run_dir):
    return [(r["split"], r["step"], r["loss"]) for r in read_metrics(run_dir)]


def _reference(folder):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = resume_run(folder)
    finally:
        torch.set_num_threads(threads)
    return result.model.state_dict(), _losses(folder)


def test_killed_three_times_then_resumed_is_bit_identical(tmp_path):
    reference_state, reference_losses = _reference(tmp_path / "reference")
    run_dir, out = tmp_path / "run", tmp_path / "out.pt"
    sleep = ["--step-sleep", "0.01"]

    # 1. a random step inside the sparsify phase, no loader workers
    _kill_when(
        run_dir,
        out,
        f"step {FIRST_KILL}",
        ["--num-workers", "0", *sleep],
        delay=PICK.uniform(0.0, 0.01),
    )
    assert (run_dir / "latest").read_text().strip() == "ckpt-00000010.pt"

    # 2. resumed with two workers, killed again at a random step
    _kill_when(
        run_dir,
        out,
        f"step {SECOND_KILL}",
        ["--num-workers", "2", "--resume", *sleep],
        delay=PICK.uniform(0.0, 0.01),
    )
    assert (run_dir / "latest").read_text().strip() == "ckpt-00000015.pt"

    # 3. resumed, killed in the middle of writing the checkpoint of step 25
    _kill_when(
        run_dir,
        out,
        "hanging in write",
        ["--num-workers", "0", "--resume", "--hang-in-write", "25"],
    )
    files = sorted(p.name for p in run_dir.iterdir())
    assert any(f.startswith(".ckpt-00000025.pt.") and f.endswith(".tmp") for f in files)
    assert "ckpt-00000025.pt" not in files
    assert (run_dir / "latest").read_text().strip() == "ckpt-00000020.pt"

    # 4. resumed with two workers to the end
    done = subprocess.run(
        _command(run_dir, out, ["--num-workers", "2", "--resume"]),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = torch.load(out, weights_only=True)
    assert result["resumed_from"] == str(run_dir / "ckpt-00000020.pt")
    assert same_state(result["state"], reference_state), (
        f"kills at steps {FIRST_KILL}, {SECOND_KILL} and in the write of step 25"
    )
    assert _losses(run_dir) == reference_losses
    assert not list(run_dir.glob(".ckpt-*.tmp"))  # the half-written file is gone
    assert sorted(p.name for p in run_dir.glob("ckpt-*.pt")) == [
        "ckpt-00000030.pt",
        "ckpt-00000035.pt",
        "ckpt-00000040.pt",
    ]
