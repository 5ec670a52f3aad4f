"""One BLAS thread while a solver works on a sparse design (issue 18)."""

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info, threadpool_limits

from nonconvex_reg import LeastSquares
from nonconvex_reg.blas import one_blas_thread_if_sparse, one_blas_thread_on_sparse


def _blas_threads():
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


@one_blas_thread_on_sparse
def _threads_inside(datafit):
    return _blas_threads()


@pytest.mark.parametrize("sparse", [True, False])
def test_sparse_designs_run_single_threaded_and_restore(sparse):
    X = np.eye(4)
    datafit = LeastSquares(sp.csc_matrix(X) if sparse else X, np.ones(4))
    with threadpool_limits(2, user_api="blas"):
        assert _threads_inside(datafit) == ({1} if sparse else {2})
        assert _blas_threads() == {2}
        with one_blas_thread_if_sparse(datafit):
            assert _blas_threads() == ({1} if sparse else {2})
        assert _blas_threads() == {2}


def test_objects_without_a_design_are_left_alone():
    with one_blas_thread_if_sparse(object()):
        pass
