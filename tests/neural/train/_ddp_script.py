"""The runs of test_ddp.py, under ``torchrun`` (or alone): python _ddp_script.py OUT.

Writes ``OUT/<job>-rank<r>.pt`` (final state_dict and pruner masks) per job;
rank 0 also writes the run folders ``OUT/<job>/`` (metrics, checkpoints). Each
rank writes its process id to ``OUT/pid-rank<r>`` first, so that a test that
times out can end the ranks (torchrun starts them in sessions of their own).
"""

import os
import sys
from pathlib import Path

import torch


def main():
    out = Path(sys.argv[1])
    torch.set_num_threads(1)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from conftest import DDP_JOBS, ddp_job

    rank = int(os.environ.get("RANK", "0"))
    out.mkdir(parents=True, exist_ok=True)
    (out / f"pid-rank{rank}").write_text(str(os.getpid()))  # for the test's cleanup
    for job in DDP_JOBS:
        result = ddp_job(out / job, job)
        masks = [] if result.pruner is None else [m.mask for m in result.pruner.masks]
        torch.save(
            {"state": result.model.state_dict(), "masks": masks},
            out / f"{job}-rank{rank}.pt",
        )


if __name__ == "__main__":
    main()
