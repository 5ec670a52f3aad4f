"""Suite-wide settings: hypothesis profiles, torch threads, the xdist schedule.

Hypothesis runs derandomized by default, so CI is reproducible.
The examples are then a fixed function of each test; run
``pytest --hypothesis-profile=explore`` to search fresh random examples (how the
LogPenalty and a^4 prox rounding cases were found).

Every test starts with the torch thread count of the session's start (one under
``make test``): a count left by an earlier test, or set by numba's OpenMP layer
when it first starts (to ``NUMBA_NUM_THREADS``, for the whole process and so for
torch too), is undone. Two workers on two cores at two threads each spin.

Under ``pytest -n 2 --dist loadfile`` (``make test``) a worker runs a whole file,
so a module-scoped fixture is computed once, except for the files of
``EACH_TEST_ALONE``; the longest files start first, so that the many short ones
fill the end of the run on both workers.
"""

import sys

import pytest
from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("default")

#: Files whose tests share no fixture worth keeping on one worker: each test is
#: scheduled alone (each notebook runs in a kernel of its own).
EACH_TEST_ALONE = ("tests/test_notebooks.py",)

#: The longest scheduling units, longest first (about 3-30 s each on a 2-core
#: machine, from ``--durations``); the others follow in xdist's order (most
#: tests first). Only the wall time of the suite depends on this list.
LONGEST_FIRST = (
    "tests/neural/test_cli.py",
    "tests/benchmarks/gpu/test_cli.py",
    "tests/neural/train/test_resume.py",
    "tests/test_notebooks.py::test_notebook_runs_without_error[03_block_pruning]",
    "tests/test_notebooks.py::test_notebook_runs_without_error[02_ompr]",
    "tests/benchmarks/test_sparse.py",
    "tests/nonconvex_reg/test_theorem.py",
    "tests/test_notebooks.py::test_notebook_runs_without_error[01_regularizers]",
    "tests/neural/train/test_ddp.py",
    "tests/benchmarks/gpu/test_gpu_check_script.py",
    "tests/test_architecture.py",
    "tests/nonconvex_reg/masks/test_minimize.py",
    "tests/benchmarks/solvers/test_solvers.py",
    "tests/benchmarks/pruning/test_pruning.py",
    "tests/benchmarks/test_blas_threads.py",
    "tests/benchmarks/gpu/test_stages.py",
    "tests/benchmarks/test_startup.py",
)


# tryfirst: before xdist's own (the first answer wins); optionalhook: the suite
# also runs without xdist (-p no:xdist).
@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, longest units first and ``EACH_TEST_ALONE`` split."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    if not all(
        hasattr(LoadFileScheduling, name)
        for name in ("_split_scope", "_assign_work_unit")
    ):
        return None  # another xdist than constraints.txt pins: its own schedule
    rank = {unit: index for index, unit in enumerate(LONGEST_FIRST)}

    class LongestFirst(LoadFileScheduling):
        def _split_scope(self, nodeid):
            path = super()._split_scope(nodeid)
            return nodeid if path in EACH_TEST_ALONE else path

        def _assign_work_unit(self, node):
            # The first unit of the queue is the one assigned: bring the
            # longest one there (the queue's order breaks ties).
            unit = min(self.workqueue, key=lambda unit: rank.get(unit, len(rank)))
            self.workqueue.move_to_end(unit, last=False)
            super()._assign_work_unit(node)

    return LongestFirst(config, log)


_TORCH_THREADS = []  # torch's thread count at the first test that saw torch


@pytest.fixture(autouse=True)
def _torch_threads_of_the_session_start():
    torch = sys.modules.get("torch")
    if torch is not None:
        if not _TORCH_THREADS:
            _TORCH_THREADS.append(torch.get_num_threads())
        if torch.get_num_threads() != _TORCH_THREADS[0]:
            torch.set_num_threads(_TORCH_THREADS[0])
    yield
