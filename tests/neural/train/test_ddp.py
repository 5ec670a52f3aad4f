"""DDP under torchrun (gloo, CPU, 2 processes) against one process (issue 5).

``python -m torch.distributed.run --standalone --nproc_per_node 2`` runs
``_ddp_script.py``: SA++ and ACDC pruning (MLP 20-64-64-3, global batch 16, so
8 per rank) and a BCE run whose evaluation gathers logits for the AUC. The
single-process reference runs the same jobs here with the same global batch.

Tolerances: the two ranks hold bit-identical weights and masks (DDP averages
the gradients, every rank applies the same update). Against one process only
the order of float32 sums differs (two per-rank means averaged instead of one
mean), so each logged loss (train every step, eval, final) agrees to a relative
1e-5, the final weights to 1e-5 absolute, and the supports (masks) are identical.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from neural.train import read_metrics

from .conftest import DDP_JOBS, ddp_job, same_state

SCRIPT = Path(__file__).with_name("_ddp_script.py")
TIMEOUT = 240
REL = 1e-5

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()),
    reason="torch.distributed with the gloo backend is not available",
)


def _tail(path):
    return path.read_text()[-4000:]


def _end(process, out):
    """Kill the launcher and the ranks it started (their ids are in pid files)."""
    process.kill()
    process.wait()
    for pid_file in out.glob("pid-rank*"):
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(SCRIPT),
        str(root / "ddp"),
    ]
    log = root / "torchrun.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        try:
            process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            _end(process, root / "ddp")
            pytest.fail(f"torchrun timed out after {TIMEOUT} s:\n{_tail(log)}")
    assert process.returncode == 0, _tail(log)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = {job: ddp_job(root / "single" / job, job) for job in DDP_JOBS}
    finally:
        torch.set_num_threads(threads)
    ranks = {
        job: [
            torch.load(root / "ddp" / f"{job}-rank{r}.pt", weights_only=True)
            for r in range(2)
        ]
        for job in DDP_JOBS
    }
    return root, ranks, single


@pytest.mark.parametrize("job", DDP_JOBS)
def test_ranks_hold_identical_weights_and_supports(runs, job):
    _, ranks, _ = runs
    assert same_state(ranks[job][0]["state"], ranks[job][1]["state"])
    assert len(ranks[job][0]["masks"]) == (0 if job == "bce" else 2)
    for a, b in zip(ranks[job][0]["masks"], ranks[job][1]["masks"], strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("job", ["sapp", "acdc"])
def test_support_matches_one_process(runs, job):
    _, ranks, single = runs
    masks = [m.mask for m in single[job].pruner.masks]
    assert all(not m.all() for m in masks)  # something was pruned
    for a, b in zip(ranks[job][0]["masks"], masks, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("job", DDP_JOBS)
def test_loss_curve_and_weights_match_one_process(runs, job):
    root, ranks, single = runs
    ddp = read_metrics(root / "ddp" / job)
    alone = read_metrics(root / "single" / job)
    key = [(r["split"], r["step"]) for r in ddp]
    assert key == [(r["split"], r["step"]) for r in alone]
    assert sum(split == "train" for split, _ in key) == 40  # logged every step
    for a, b in zip(ddp, alone, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=REL), (a, b)
        if "auc" in b:
            assert a["auc"] == pytest.approx(b["auc"], abs=1e-6)
            assert a["n_samples"] == b["n_samples"] == 32
    reference = single[job].model.state_dict()
    for name, value in ranks[job][0]["state"].items():
        torch.testing.assert_close(value, reference[name], rtol=0, atol=1e-5)


def test_only_rank_0_wrote_the_run_folder(runs):
    root, _, _ = runs
    names = sorted(p.name for p in (root / "ddp" / "sapp").iterdir())
    assert names == [
        "ckpt-00000020.pt",
        "ckpt-00000020.pt.sha256",
        "ckpt-00000030.pt",
        "ckpt-00000030.pt.sha256",
        "ckpt-00000040.pt",
        "ckpt-00000040.pt.sha256",
        "latest",
        "metrics.csv",
        "metrics.jsonl",
        "model.pt",
        "model.pt.sha256",
        "support.csv",
    ]
