"""Block pruning methods sharing one lifecycle (arXiv:2402.17902, Sections 3-4)."""

from .base import BlockPruner, PrunerFinalizedError, n_kept_blocks
from .history import SupportRecord, SupportSummary
from .layers import edge_layers
from .methods import ACDC, METHODS, Magnitude, PowerProp, SequentialAttentionPP, prune
from .plot import plot_attention, plot_block_mask
from .report import LayerReport, PruningReport

__all__ = [
    "ACDC",
    "METHODS",
    "BlockPruner",
    "LayerReport",
    "Magnitude",
    "PowerProp",
    "PrunerFinalizedError",
    "PruningReport",
    "SequentialAttentionPP",
    "SupportRecord",
    "SupportSummary",
    "edge_layers",
    "n_kept_blocks",
    "plot_attention",
    "plot_block_mask",
    "prune",
]
