"""Group OMP, group OMPR and Algorithm 2 of PAPER.md section 4 (issue 3)."""

__all__: list[str] = []
