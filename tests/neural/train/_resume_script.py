"""One training run for test_resume.py, in its own process (so it can be killed).

    python _resume_script.py RUN_DIR OUT.pt [--num-workers N] [--resume]
        [--step-sleep S] [--hang-in-write STEP]

Prints ``step N`` after every step and writes the final state_dict to OUT.pt.
``--hang-in-write STEP`` makes the checkpoint write of STEP stop half-way (the
temporary file truncated to half its size) and sleep, for the test to kill it.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import torch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("out")
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--step-sleep", type=float, default=0.0)
    parser.add_argument("--hang-in-write", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from conftest import resume_run

    from neural.train import checkpoint

    if args.hang_in_write is not None:
        write = checkpoint._write_payload

        def hanging_write(state, path):
            write(state, path)
            if state.get("position", {}).get("step") == args.hang_in_write:
                with open(path, "r+b") as handle:
                    handle.truncate(os.path.getsize(path) // 2)
                print("hanging in write", flush=True)
                time.sleep(600)

        checkpoint._write_payload = hanging_write

    def report(step):
        print(f"step {step}", flush=True)
        time.sleep(args.step_sleep)

    result = resume_run(
        args.run_dir, args.num_workers, resume=args.resume, callbacks=[report]
    )
    torch.save(
        {"state": result.model.state_dict(), "resumed_from": result.resumed_from},
        args.out,
    )
    print("done", flush=True)


if __name__ == "__main__":
    main()
