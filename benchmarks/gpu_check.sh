#!/usr/bin/env bash
# Issue 20's GPU check, run on the device machine from a fresh copy of the
# working tree, with nothing installed (benchmarks/gpu/__init__.py says why none
# is needed). The one call, from the session's checkout:
#
#     run(command="bash benchmarks/gpu_check.sh", timeout_s=420)
#
# It prints the GPU and the versions, checks that the packages the check imports
# are there, then runs `sapp bench gpu` with the machine's python3 (whose torch
# has CUDA) and this tree on PYTHONPATH, writing gpu.json, gpu.md and
# gpu_check.log into $OUT (which the device tool brings back; build/gpu_check
# elsewhere). Copy gpu.{json,md} into benchmarks/results/ and commit them.
# Extra arguments go to `sapp bench gpu` (e.g. --tiny for a CPU smoke run).
#
# Exit status: the check's (0: every stage ok and every bar met; 1: a stage
# failed or a bar is not met; 2: no GPU visible), 3 when a package is missing,
# 124 when the outer timeout ended it (the results of the stages done are in
# $OUT all the same: they are written after every stage).
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
OUT=${OUT:-build/gpu_check}
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
        2>/dev/null || echo "nvidia-smi: not available"
    "$PYTHON" - <<'EOF'
import importlib
import sys

missing = []
for name in ("torch", "numpy", "scipy", "sklearn", "numba", "tqdm", "PIL", "threadpoolctl"):
    try:
        importlib.import_module(name)
    except ImportError as error:
        missing.append(f"{name} ({error})")
if missing:
    sys.exit("missing packages: " + "; ".join(missing))
import torch

print(
    f"python {sys.version.split()[0]}, torch {torch.__version__}, "
    f"CUDA {torch.version.cuda}, GPU visible: {torch.cuda.is_available()}"
)
EOF
} 2>&1 | tee "$LOG"
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 3

# The check's own wall-clock guard ends it at 345 s; this outer limit is a
# backstop that still leaves the device call's timeout (420 s) some margin.
timeout 390 "$PYTHON" -m neural.cli bench gpu --out "$OUT" "$@" 2>&1 | tee -a "$LOG"
exit "${PIPESTATUS[0]}"
