"""``sapp bench sparse``: scipy.sparse designs at scale (issue 18).

:mod:`~benchmarks.sparse.runs` runs the four sections (group LASSO against
skglm, a large problem solved and certified, group OMPR against abess, the
growth table), :mod:`~benchmarks.sparse.child` measures time and peak RSS in
fresh processes, :mod:`~benchmarks.sparse.report` writes the tables and
:mod:`~benchmarks.sparse.cli` is the command.
"""

from .report import large_bar, lasso_speedups, sparse_markdown
from .runs import FULL, QUICK, SECTIONS, Scale, sparse_benchmark

__all__ = [
    "FULL",
    "QUICK",
    "SECTIONS",
    "Scale",
    "large_bar",
    "lasso_speedups",
    "sparse_benchmark",
    "sparse_markdown",
]
