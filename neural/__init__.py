"""Block pruning of PyTorch models with SequentialAttention++ (arXiv:2402.17902).

``neural.prune(model, method, sparsity=..., block=..., total_steps=...)`` returns a
pruner with the ``torch.ao.pruning`` lifecycle: ``step()`` after every
``optimizer.step()``, ``finalize()`` at the end, ``report()`` at any time. The
command-line interface lives in :mod:`neural.cli`.
"""

from . import schedules
from .blocks import BlockGrid, parse_block
from .export import export_block_sparse
from .pruning import (
    ACDC,
    METHODS,
    BlockPruner,
    Magnitude,
    PowerProp,
    PrunerFinalizedError,
    PruningReport,
    SequentialAttentionPP,
    edge_layers,
    prune,
)

__all__ = [
    "ACDC",
    "METHODS",
    "BlockGrid",
    "BlockPruner",
    "Magnitude",
    "PowerProp",
    "PrunerFinalizedError",
    "PruningReport",
    "SequentialAttentionPP",
    "edge_layers",
    "export_block_sparse",
    "parse_block",
    "prune",
    "schedules",
]
