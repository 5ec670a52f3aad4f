r"""BLAS threads of each call, chosen from the problem's size and restored on exit.

The solvers of :mod:`nonconvex_reg` and the searches of :mod:`omp` spend their
time in many small, latency-bound BLAS calls: products with a few columns of
``X``, Cholesky factors of a support's Gram matrix, triangular solves, one
``X^T r`` per round. numpy and scipy each load their own OpenBLAS, each with one
thread per core by default; for products this small, waking those threads (and
the two pools spinning against each other) costs more than the product. So every
public entry point that runs such a loop takes ``n_threads`` and runs with

.. math::

    \min(\text{n\_threads, or the rule's choice},\;
    \text{the library's limit already in force})

BLAS threads in each library, restoring every library's limit on exit, also
after an exception.

**The rule** (``n_threads=None``, :func:`default_n_threads`): one thread per
:data:`WORK_PER_THREAD` = 1e8 stored entries of the design (``X.size``, or
``X.nnz`` for a sparse ``X``, times the number of outputs), at least one and at
most the number of cores. It is a fixed rule of the problem's shape, not a
timing taken at run time: the threads never depend on the load of the moment,
and the first call pays nothing. The measurements behind it
(``benchmarks/results/threads.md``, ``sapp bench threads``) are the time with
2 BLAS threads over the time with 1 on the 2-core development machine. Idle
(load average 1.8 to 1.5): ``group_ompr`` 1.1-11.6x at every size from 200 x
1000 to 4000 x 40000 (1.6e8 entries); ``solve_group_lasso`` 1.4x at 200 x 1000
but 0.64-0.84x from 500 x 2000 up; one ``X^T r`` 0.45-0.81x from 500 x 2000 up.
The first run, with the cores shared with other jobs (load average 8 to 5),
found 2 threads slower for every search and solve up to 4000 x 40000
(``group_ompr`` 2.5-47x, ``solve_group_lasso`` 1.07-5.4x), and 0.88x for
``X^T r`` at 1e8 entries and ``solve_group_lasso`` at 1.6e8 in an exploratory
run. A second thread never paid off for a search; the rule follows the searches
and a loaded machine: one thread per 1e8 entries, which first allows two at
2e8. It knows the machine only by its core count: where threads pay off earlier
(more cores; ``solve_group_lasso`` on an idle machine, 0.64-0.84x the
one-thread time with a second thread from 1e6 entries up), pass ``n_threads``.

**An outer limit wins.** Inside ``threadpoolctl.threadpool_limits(1)`` (or with
``OPENBLAS_NUM_THREADS=1``) every call runs on one thread whatever ``n_threads``
says: the library lowers limits, never raises one.

**Cost.** The libraries are found once (a cached
``threadpoolctl.ThreadpoolController``, about 20 ms on the first call); then a
call reads each library's thread count and sets it only where it must change:
6 us per call on the idle development machine, 2.0% of the smallest search
(``group_omp`` on 8 groups of 2, n = 40, 0.30 ms), against 1.2 ms for a fresh
``threadpoolctl.threadpool_limits``. A call nested in another limited call (a
solver inside a search) only reads a context variable (1.0 us).

**numba.** No kernel of the toolkit is compiled with ``parallel=True``, so
numba's own thread pool never runs; BLAS calls from compiled code go through
scipy's OpenBLAS, which the limit covers.

The limits are process-wide (OpenBLAS keeps one count per library), as with
``threadpoolctl``: Python threads that call the library concurrently share them.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# Loaded before the controller first scans the process: scipy's own OpenBLAS.
import scipy.linalg  # noqa: F401
from threadpoolctl import ThreadpoolController

from .validation import check_int

__all__ = [
    "WORK_PER_THREAD",
    "check_n_threads",
    "caller_stacklevel",
    "default_n_threads",
    "design_work",
    "thread_limit",
    "with_thread_limit",
]

#: Stored design entries (times outputs) per BLAS thread of :func:`default_n_threads`.
WORK_PER_THREAD = 100_000_000

#: Cores of the machine, read once (``os.cpu_count()`` costs about 9 us a call).
_CORES = os.cpu_count() or 1

#: Threads in force inside a limited call of this context (None: not inside one).
_IN_FORCE: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "sapp_blas_threads", default=None
)


@functools.cache
def _blas_libraries() -> tuple:
    """The BLAS libraries loaded in the process (numpy's, scipy's), found once."""
    controller = ThreadpoolController()
    return tuple(lib for lib in controller.lib_controllers if lib.user_api == "blas")


def check_n_threads(n_threads) -> int | None:
    """``n_threads`` validated: None or an integer ``>= 1``.

    Raises
    ------
    TypeError
        If ``n_threads`` is neither None nor an integer.
    ValueError
        If ``n_threads < 1``.
    """
    if n_threads is None:
        return None
    return check_int(n_threads, "n_threads", low=1)


def default_n_threads(work: int) -> int:
    """The rule's thread count for ``work`` stored design entries (module docstring).

    ``min(os.cpu_count(), max(1, work // WORK_PER_THREAD))``.

    Examples
    --------
    >>> default_n_threads(500 * 5000)
    1
    """
    return max(1, min(_CORES, int(work) // WORK_PER_THREAD))


def design_work(datafit) -> int:
    """Stored entries of ``datafit.X`` (``nnz`` if sparse) times its outputs.

    An object without a design counts as 0 (one thread); the caller's own
    validation then reports what is wrong with it.
    """
    X = getattr(datafit, "X", None)
    stored = getattr(X, "nnz", None)
    if stored is None:
        stored = getattr(X, "size", 0)
    shape = getattr(datafit, "coef_shape", ())
    outputs = shape[1] if len(shape) == 2 else 1
    return int(stored) * int(outputs)


@contextmanager
def thread_limit(n_threads=None, *, work=0) -> Iterator[int]:
    """Run the block with at most ``n_threads`` BLAS threads; restore them on exit.

    Parameters
    ----------
    n_threads : int or None, default=None
        Upper bound on the BLAS threads, ``>= 1``; None chooses
        :func:`default_n_threads` of ``work``, or inherits the bound of an
        enclosing limited call. A limit already in force that is lower wins.
    work : int, default=0
        Stored design entries (:func:`design_work`), for the rule.

    Yields
    ------
    int
        The bound applied (each library runs on at most that many threads).

    Raises
    ------
    TypeError, ValueError
        If ``n_threads`` is not None or an integer ``>= 1``.

    Examples
    --------
    >>> import numpy as np
    >>> with thread_limit(1) as n:
    ...     _ = np.ones((50, 50)) @ np.ones(50)
    >>> n
    1
    """
    n_threads = check_n_threads(n_threads)
    inherited = _IN_FORCE.get()
    if n_threads is None and inherited is not None:
        # Nested case: the enclosing limited call already set the threads.
        yield inherited
        return
    bound = default_n_threads(work) if n_threads is None else n_threads
    changed = []
    token = _IN_FORCE.set(bound)
    try:
        for lib in _blas_libraries():
            before = lib.get_num_threads()
            if before is not None and before > bound:
                changed.append((lib, before))
                lib.set_num_threads(bound)
        yield bound
    finally:
        for lib, before in reversed(changed):
            lib.set_num_threads(before)
        _IN_FORCE.reset(token)


def with_thread_limit(function: Callable) -> Callable:
    """Give ``function(datafit, ...)`` a keyword ``n_threads`` (:func:`thread_limit`).

    The wrapper runs ``function`` under ``thread_limit(n_threads,
    work=design_work(datafit))`` and advertises ``n_threads=None`` as a last
    keyword-only parameter of its signature; ``function`` itself never sees it.
    Its docstring documents the parameter.
    """
    signature = inspect.signature(function)
    if "n_threads" in signature.parameters:
        raise TypeError(f"{function.__qualname__} already has `n_threads`.")

    @functools.wraps(function)
    def limited(*args, n_threads=None, **kwargs):
        if n_threads is None and _IN_FORCE.get() is not None:
            return function(*args, **kwargs)  # nested: the threads are set
        datafit = args[0] if args else kwargs.get("datafit")
        with thread_limit(n_threads, work=design_work(datafit)):
            return function(*args, **kwargs)

    parameter = inspect.Parameter(
        "n_threads", inspect.Parameter.KEYWORD_ONLY, default=None
    )
    limited.__signature__ = signature.replace(
        parameters=[*signature.parameters.values(), parameter]
    )
    return limited


def caller_stacklevel(stacklevel: int) -> int:
    """``stacklevel`` for ``warnings.warn`` that skips the wrappers' frames.

    A warning raised ``stacklevel`` frames up from the function that calls this
    one would name :func:`with_thread_limit`'s wrapper when a limited function
    sits there; the frames of this module are skipped, so the warning names the
    same caller as without the limit.
    """
    frame = sys._getframe(stacklevel)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame, stacklevel = frame.f_back, stacklevel + 1
    return stacklevel
