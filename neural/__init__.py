"""Block pruning of PyTorch models with SequentialAttention++ (issues 4-7).

The command-line interface lives in :mod:`neural.cli`.
"""

__all__: list[str] = []
