"""``sapp bench gpu``: one prepared check of every CUDA path (issue 20).

A GPU is lent to this project now and then, for minutes, so the check is one
command that runs whole in under 6 minutes and is exercised on the CPU by the
test suite (``--tiny``) in between. Its stages:

* :mod:`~benchmarks.gpu.training`: ResNet-50 (bf16 autocast, channels_last,
  batch 256) and the Criteo DNN (batch 32768) trained dense and with each
  pruner on its paper timeline: step times, throughput, ratio to dense, peak
  GPU memory, host synchronizations inside ``pruner.step()``;
* :mod:`~benchmarks.gpu.resume`: ``sapp train`` under ``torchrun
  --nproc_per_node 1`` (NCCL on CUDA), killed after a checkpoint, resumed, and
  compared with an uninterrupted run;
* :mod:`~benchmarks.gpu.export`: the block-sparse export timed against dense on
  the device;

under the budgets and the wall-clock guard of :mod:`~benchmarks.gpu.stages`,
with the sizes of :mod:`~benchmarks.gpu.settings`; :mod:`~benchmarks.gpu.report`
writes the bars and ``gpu.{json,md}``.

Running it on the device machine (read from the device tool's notes when the
check was written; ``benchmarks/gpu_check.sh`` checks the parts it relies on
before it starts): the machine has one H100 (80 GB) or H200 (139 GB), 16 cores,
an x86-64 processor and no network. Its ``python3`` is Python 3.12 with torch
2.11 built for CUDA 13, and numpy, scipy, scikit-learn, numba, tqdm, pillow and
threadpoolctl: every package this check imports. It lacks cvxpy, clarabel,
scs, mnist1d and this project; the check imports none of the former (the
``--tiny`` run passes with them made unimportable) and the project needs no
install: the working tree on ``PYTHONPATH`` and ``python3 -m neural.cli bench
gpu`` run it. So nothing is carried. (A virtual environment built here could
not be: the device tool carries at most 64 MiB, a CUDA build of torch is
gigabytes, and this machine's torch is a CPU build. A missing pure-Python
package would travel as a wheel named in ``carry``.) The project pins torch
2.13; an API that 2.11 lacks would show up as a stage's error in the results.

The one call, from the session's checkout::

    run(command="bash benchmarks/gpu_check.sh", timeout_s=420)

The check's guard ends it by 345 s (``timeout_s`` is a backstop), so with the
machine's start (one or two minutes) a second run still fits in the 15 minutes
of device time a session gets, if it follows while the machine is warm (30 s).

It writes ``gpu.json``, ``gpu.md`` and ``gpu_check.log`` into ``$OUT``; copy
the first two into ``benchmarks/results/`` and commit them.
"""
