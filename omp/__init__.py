"""Group OMP, group OMPR and Algorithm 2 of PAPER.md section 4 (issue 3).

:func:`~omp.select.top_k_groups` is the selection rule every method of the
project shares, from group OMP to the neural pruners.
"""

from .select import top_k_groups

__all__ = ["top_k_groups"]
