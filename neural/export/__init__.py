"""Export block-pruned models to block-sparse (BSR) inference layers.

``export_block_sparse(model)`` after ``pruner.finalize()`` swaps each pruned
``nn.Linear`` / ``nn.Conv2d`` for a block-sparse module where that is measured to
be faster, and reports every decision; ``save_exported`` / ``load_exported``
store the result.
"""

from .convert import ExportedLayer, ExportReport, export_block_sparse
from .modules import BlockSparseConv2d, BlockSparseLinear
from .serialize import load_exported, save_exported

__all__ = [
    "BlockSparseConv2d",
    "BlockSparseLinear",
    "ExportReport",
    "ExportedLayer",
    "export_block_sparse",
    "load_exported",
    "save_exported",
]
