"""Suite-wide settings: hypothesis profiles and torch threads.

Hypothesis runs derandomized by default, so CI is reproducible.
The examples are then a fixed function of each test; run
``pytest --hypothesis-profile=explore`` to search fresh random examples (how the
LogPenalty and a^4 prox rounding cases were found).

Every test starts with the torch thread count of the session's start (one under
``make test``): a count left by an earlier test, or set by numba's OpenMP layer
when it first starts (to ``NUMBA_NUM_THREADS``, for the whole process and so for
torch too), is undone. Two workers on two cores at two threads each spin.
"""

import sys

import pytest
from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("default")

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
