"""Block pruning of PyTorch models with SequentialAttention++ (arXiv:2402.17902).

``neural.prune(model, method, sparsity=..., block=..., total_steps=...)`` returns a
pruner with the ``torch.ao.pruning`` lifecycle: ``step()`` after every
``optimizer.step()``, ``finalize()`` at the end, ``report()`` at any time. The
command-line interface lives in :mod:`neural.cli`.

The names below load on first use (PEP 562, ``nonconvex_reg.lazy.lazy_exports``),
so ``import neural`` and the ``sapp`` command start without importing torch;
``from neural import prune`` and ``neural.prune`` work as with eager imports, and
so does ``neural.SUB`` for every subpackage or module ``SUB``.
"""

from typing import TYPE_CHECKING

from nonconvex_reg.lazy import lazy_exports

if TYPE_CHECKING:  # what readers and type checkers see; at run time, _EXPORTS
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

#: Public name -> the module that defines it (``None``: the name is a module).
_EXPORTS = {
    "ACDC": "neural.pruning",
    "METHODS": "neural.pruning",
    "BlockGrid": "neural.blocks",
    "BlockPruner": "neural.pruning",
    "Magnitude": "neural.pruning",
    "PowerProp": "neural.pruning",
    "PrunerFinalizedError": "neural.pruning",
    "PruningReport": "neural.pruning",
    "SequentialAttentionPP": "neural.pruning",
    "edge_layers": "neural.pruning",
    "export_block_sparse": "neural.export",
    "parse_block": "neural.blocks",
    "prune": "neural.pruning",
    "schedules": None,
}

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


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
