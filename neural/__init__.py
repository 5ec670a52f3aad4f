"""Block pruning of PyTorch models with SequentialAttention++ (arXiv:2402.17902).

``neural.prune(model, method, sparsity=..., block=..., total_steps=...)`` returns a
pruner with the ``torch.ao.pruning`` lifecycle: ``step()`` after every
``optimizer.step()``, ``finalize()`` at the end, ``report()`` at any time. The
command-line interface lives in :mod:`neural.cli`.

The names below load on first use (PEP 562), so ``import neural`` and the
``sapp`` command start without importing torch; ``from neural import prune``
and ``neural.prune`` work as with eager imports, and so does ``neural.SUB`` for
every subpackage or module ``SUB``.
"""

import importlib
import importlib.util

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


def __getattr__(name: str):
    """Import a public name, or a submodule, on first access (PEP 562)."""
    if name in _EXPORTS:
        source = _EXPORTS[name]
        if source is None:
            value = importlib.import_module(f"{__name__}.{name}")
        else:
            value = getattr(importlib.import_module(source), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
