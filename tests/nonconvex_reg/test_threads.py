"""nonconvex_reg/threads.py: BLAS threads chosen per call, never raised, restored.

Issue 17: the library's hot loops run under a thread limit chosen from the
problem's size, an outer ``threadpool_limits`` wins, and no limit leaks out of a
call, also when it raises.
"""

import inspect
import os
import re
import types
from pathlib import Path

import pytest
import scipy.sparse
from threadpoolctl import ThreadpoolController, threadpool_limits

from nonconvex_reg import (
    ConvergenceWarning,
    GroupLassoPenalty,
    LeastSquares,
    LqPenalty,
    global_minimum,
    make_problem,
    solve_group_lasso,
    solve_penalized,
)
from nonconvex_reg.threads import (
    WORK_PER_THREAD,
    check_n_threads,
    default_n_threads,
    design_work,
    thread_limit,
    with_thread_limit,
)
from omp import (
    best_subset,
    check_theorem_b3,
    group_omp,
    group_ompr,
    ompr_nonconvex,
    restricted_constants,
)

_BLAS = [
    lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"
]


def blas_threads():
    """The thread count of every BLAS library loaded (numpy's and scipy's)."""
    return [lib.get_num_threads() for lib in _BLAS]


class SpyLeastSquares(LeastSquares):
    """Least squares that records the BLAS threads when F or a capability is read."""

    seen: list = []
    fail = False

    @property
    def is_quadratic(self):
        SpyLeastSquares.seen.append(blas_threads())
        return True

    def loss_from_predictor(self, z):
        SpyLeastSquares.seen.append(blas_threads())
        if SpyLeastSquares.fail:
            raise FloatingPointError("planted failure")
        return super().loss_from_predictor(z)


@pytest.fixture
def spy():
    problem = make_problem(n_samples=30, n_groups=4, group_size=2, n_active=2, seed=0)
    SpyLeastSquares.seen, SpyLeastSquares.fail = [], False
    return SpyLeastSquares(problem.datafit.X, problem.datafit.y), problem.groups


#: Every public entry point that runs under a limit, called on (datafit, groups).
CALLS = {
    "group_omp": lambda d, g, **kw: group_omp(d, g, 2, **kw),
    "group_ompr": lambda d, g, **kw: group_ompr(d, g, 2, **kw),
    "ompr_nonconvex": lambda d, g, **kw: ompr_nonconvex(d, g, 2, **kw),
    "best_subset": lambda d, g, **kw: best_subset(d, g, 2, **kw),
    "restricted_constants": lambda d, g, **kw: restricted_constants(d, g, 2, **kw),
    "check_theorem_b3": lambda d, g, **kw: check_theorem_b3(d, g, 1, k_prime=2, **kw),
    "solve_group_lasso": lambda d, g, **kw: solve_group_lasso(d, g, 0.1, **kw),
    "solve_penalized": lambda d, g, **kw: solve_penalized(
        d, g, LqPenalty(0.5), 0.1, **kw
    ),
    "global_minimum": lambda d, g, **kw: global_minimum(
        d, g, GroupLassoPenalty(), 0.1, form="sum", **kw
    ),
}


@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize(("n_threads", "inside"), [(None, 1), (2, 2)])
def test_every_entry_point_limits_its_threads_and_restores_them(
    name, n_threads, inside, spy
):
    datafit, groups = spy
    with threadpool_limits(3, user_api="blas"):
        CALLS[name](datafit, groups, n_threads=n_threads)
        after = blas_threads()
    # None: the rule's one thread for a 30 x 8 design; 2: as asked (below 3).
    assert SpyLeastSquares.seen
    assert all(seen == [inside] * len(_BLAS) for seen in SpyLeastSquares.seen)
    assert after == [3] * len(_BLAS)


@pytest.mark.parametrize("name", ["group_ompr", "solve_group_lasso"])
def test_limits_are_restored_after_an_exception(name, spy):
    datafit, groups = spy
    SpyLeastSquares.fail = True
    with threadpool_limits(3, user_api="blas"):
        with pytest.raises(FloatingPointError, match="planted failure"):
            CALLS[name](datafit, groups, n_threads=2)
        assert blas_threads() == [3] * len(_BLAS)
    assert SpyLeastSquares.seen
    assert all(seen == [2] * len(_BLAS) for seen in SpyLeastSquares.seen)


@pytest.mark.parametrize("n_threads", [None, 1, 4])
def test_an_outer_limit_is_never_raised(n_threads, spy):
    datafit, groups = spy
    with threadpool_limits(1, user_api="blas"):
        group_ompr(datafit, groups, 2, n_threads=n_threads)
        assert blas_threads() == [1] * len(_BLAS)
    assert all(seen == [1] * len(_BLAS) for seen in SpyLeastSquares.seen)


def test_thread_limit_restores_after_an_exception_and_nests():
    with threadpool_limits(3, user_api="blas"):
        with pytest.raises(KeyError):
            with thread_limit(2) as bound:
                assert bound == 2 and blas_threads() == [2] * len(_BLAS)
                raise KeyError("inside")
        assert blas_threads() == [3] * len(_BLAS)
        with thread_limit(2):
            # Nested case: None inherits; an explicit count lowers, never raises.
            with thread_limit(None, work=10 * WORK_PER_THREAD) as bound:
                assert bound == 2 and blas_threads() == [2] * len(_BLAS)
            with thread_limit(1):
                assert blas_threads() == [1] * len(_BLAS)
            with thread_limit(5):
                assert blas_threads() == [2] * len(_BLAS)
            assert blas_threads() == [2] * len(_BLAS)
        assert blas_threads() == [3] * len(_BLAS)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (0, ValueError, r"`n_threads` must be an integer in \[1, inf\]; got 0\."),
        (-2, ValueError, r"`n_threads` must be an integer in \[1, inf\]; got -2\."),
        (1.5, TypeError, r"`n_threads` must be an integer; got 1\.5\."),
        (True, TypeError, r"`n_threads` must be an integer; got True\."),
        ("2", TypeError, r"`n_threads` must be an integer; got '2'\."),
    ],
)
def test_bad_n_threads_is_named_with_the_accepted_range(value, error, match, spy):
    datafit, groups = spy
    with pytest.raises(error, match=match):
        check_n_threads(value)
    with pytest.raises(error, match=match):
        group_ompr(datafit, groups, 2, n_threads=value)
    with pytest.raises(error, match=match):
        with thread_limit(value):
            pass  # pragma: no cover - never entered


def test_the_rule_counts_stored_entries_and_outputs():
    assert default_n_threads(0) == 1
    assert default_n_threads(WORK_PER_THREAD - 1) == 1
    assert default_n_threads(WORK_PER_THREAD * 10**6) == (os.cpu_count() or 1)
    multinomial = make_problem("multinomial", n_samples=20, n_groups=3, seed=0)
    X = multinomial.datafit.X
    n_classes = multinomial.datafit.coef_shape[1]
    assert design_work(multinomial.datafit) == X.size * n_classes
    sparse = types.SimpleNamespace(
        X=scipy.sparse.random(100, 50, density=0.1, random_state=0), coef_shape=(50,)
    )
    assert design_work(sparse) == sparse.X.nnz == 500
    assert design_work(object()) == 0


def test_the_decorator_advertises_n_threads_last_and_refuses_a_second_one():
    parameter = list(inspect.signature(group_ompr).parameters.values())[-1]
    assert (parameter.name, parameter.kind, parameter.default) == (
        "n_threads",
        inspect.Parameter.KEYWORD_ONLY,
        None,
    )

    def solver(datafit, *, n_threads=None):  # pragma: no cover - never called
        return datafit

    with pytest.raises(TypeError, match="already has `n_threads`"):
        with_thread_limit(solver)


def test_no_numba_kernel_is_parallel():
    # The limit covers BLAS only: a parallel kernel would need numba's threads too.
    root = Path(__file__).resolve().parents[2]
    sources = [
        p
        for package in ("nonconvex_reg", "omp")
        for p in sorted((root / package).rglob("*.py"))
    ]
    assert any("numba.njit" in p.read_text() for p in sources)
    parallel = re.compile(r"jit\([^)]*parallel\s*=\s*True|prange\(")
    assert not [p.name for p in sources if parallel.search(p.read_text())]


def test_a_limited_solver_warns_at_its_callers_line(spy):
    datafit, groups = spy
    with pytest.warns(ConvergenceWarning) as caught:
        solve_penalized(datafit, groups, LqPenalty(0.5), 0.1, max_iter=2)
    assert caught[0].filename == __file__
