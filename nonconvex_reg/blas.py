"""BLAS threads for latency-bound work: one thread while a solver runs on sparse X.

On a scipy.sparse design every product with X is a compiled loop of ours; what
goes through BLAS and LAPACK is support-sized (a group's Gram matrix, the
Cholesky factor of a refit, Anderson's 5 x 5 system), microseconds per call.
Multi-threaded OpenBLAS turns each such call into a wake-up of its threads,
which on a busy 2-core machine measured 10-30x slower than one thread
(``benchmarks/results/sparse.md`` times both). :func:`one_blas_thread_if_sparse`
(a context) and :func:`one_blas_thread_on_sparse` (a decorator) make a solver run
with one BLAS thread when its datafit's design is sparse and restore the
caller's setting on exit; dense designs keep the caller's threads (their
products are BLAS calls that threads do speed up).

The limit goes through one cached :class:`threadpoolctl.ThreadpoolController`
(built on first use, about 10 ms; each limit then costs about 50 us).
"""

from __future__ import annotations

import contextlib
import functools

import scipy.sparse as sp

__all__ = ["one_blas_thread_if_sparse", "one_blas_thread_on_sparse"]

_CONTROLLER = []


def _controller():
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def one_blas_thread_if_sparse(datafit):
    """A context with one BLAS thread if ``datafit.X`` is sparse, else a no-op."""
    if sp.issparse(getattr(datafit, "X", None)):
        return _controller().limit(limits=1, user_api="blas")
    return contextlib.nullcontext()


def one_blas_thread_on_sparse(function):
    """Decorate ``function(datafit, ...)``: one BLAS thread if ``datafit.X`` is sparse.

    The wrapper adds a frame: a function that warns with a ``stacklevel``
    counted from its own frame uses :func:`one_blas_thread_if_sparse` instead.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from threadpoolctl import threadpool_info
    >>> from nonconvex_reg import LeastSquares
    >>> @one_blas_thread_on_sparse
    ... def threads(datafit):
    ...     return {info["num_threads"] for info in threadpool_info()
    ...             if info["user_api"] == "blas"}
    >>> threads(LeastSquares(sp.eye(3, format="csc"), np.ones(3)))
    {1}
    """

    @functools.wraps(function)
    def wrapper(datafit, *args, **kwargs):
        with one_blas_thread_if_sparse(datafit):
            return function(datafit, *args, **kwargs)

    return wrapper
