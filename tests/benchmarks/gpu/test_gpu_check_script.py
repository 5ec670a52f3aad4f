"""``benchmarks/gpu_check.sh``, the device machine's one command (issue 20).

Without a GPU the script must get as far as ``sapp bench gpu`` (preflight,
``PYTHONPATH`` from the tree, the log in ``$OUT``) and pass on its exit status 2.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "gpu_check.sh"


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible")
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_script_runs_the_check_from_the_tree_and_keeps_the_log(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path)}
    done = subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 2, done.stdout + done.stderr
    log = (tmp_path / "gpu_check.log").read_text()
    assert f"torch {torch.__version__}" in log and "GPU visible: False" in log
    assert "sapp bench gpu: error: no CUDA GPU is visible" in log
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpu_check.log"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_a_missing_package_stops_the_script_with_status_3(tmp_path):
    blocker = tmp_path / "block" / "numba"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('not on this machine')\n")
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "OUT": str(tmp_path / "out"),
        "PYTHONPATH": str(tmp_path / "block"),
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 3
    log = (tmp_path / "out" / "gpu_check.log").read_text()
    assert "missing packages: numba (not on this machine)" in log
