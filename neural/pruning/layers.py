"""Which layers a pruner prunes, with what block and sparsity.

Scope rules of Appendix C.1 of the paper (arXiv:2402.17902), as defaults:

* every ``nn.Linear`` and ``nn.Conv{1,2,3}d`` is a candidate unless ``layers``
  names them explicitly;
* a layer whose name fully matches one of the ``ignore`` patterns stays dense
  (:func:`edge_layers` names the first and last layer, a common choice);
* a layer with fewer than ``min_blocks`` blocks stays dense (trick 4, 100 by
  default), and so does a discovered layer smaller than the block;
* both are reported as skipped, never errors. A layer named explicitly that
  cannot be pruned is an error.

The per-layer config follows ``torch.ao.pruning``: a list whose entries are a
dotted name (``"fc1"`` or ``"fc1.weight"``) or a dict with ``"tensor_fqn"`` and
optional ``"sparsity"``, ``"block"``, ``"min_blocks"`` merged over the pruner's
defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from torch import nn
from torch.nn.utils import parametrize

from nonconvex_reg.validation import check_int, check_scalar

from ..blocks import PRUNABLE_TYPES, BlockGrid, parse_block

__all__ = [
    "LayerSpec",
    "SkippedLayer",
    "check_global_scope",
    "discover_layers",
    "edge_layers",
]

_CONFIG_KEYS = {"tensor_fqn", "sparsity", "block", "min_blocks"}


@dataclass
class LayerSpec:
    """A layer to prune: its dotted name, module, grid and target sparsity."""

    name: str
    module: nn.Module
    grid: BlockGrid
    sparsity: float


@dataclass(frozen=True)
class SkippedLayer:
    """A candidate layer left dense, and why."""

    name: str
    weight_shape: tuple[int, ...]
    reason: str


def check_sparsity(value, name="sparsity") -> float:
    """A target sparsity in ``[0, 1)``."""
    return check_scalar(value, name, low=0.0, high=1.0, high_inclusive=False)


def check_global_scope(specs, sparsity) -> None:
    """Refuse per-layer overrides that one top-k over all layers cannot honour.

    With ``scope="global"`` the target counts blocks over every pruned layer, so
    the layers must share the pruner's sparsity and one block shape (a 16 x 16
    block and a 4 x 4 block are not the same unit, and their norms do not
    compare).

    Raises
    ------
    ValueError
        If a layer overrides ``sparsity`` or the layers' blocks differ.
    """
    if any(spec.sparsity != sparsity for spec in specs):
        raise ValueError(
            "per-layer `sparsity` overrides need scope='layer'; got scope='global'."
        )
    shapes = sorted({spec.grid.block_shape for spec in specs})
    if len(shapes) > 1:
        raise ValueError(
            "per-layer `block` overrides need scope='layer'; got scope='global' "
            f"with blocks {shapes}."
        )


def edge_layers(model: nn.Module) -> list[str]:
    """Names of the first and last prunable layers (e.g. the stem conv and classifier).

    Pass them as ``ignore=edge_layers(model)`` to keep both dense.
    """
    names = [n for n, m in model.named_modules() if isinstance(m, PRUNABLE_TYPES)]
    return sorted({names[0], names[-1]}, key=names.index) if names else []


def _config_entries(layers):
    """``(name, overrides)`` pairs from the ``layers`` argument."""
    for entry in layers:
        if isinstance(entry, str):
            yield entry, {}
        elif isinstance(entry, dict):
            unknown = set(entry) - _CONFIG_KEYS
            if "tensor_fqn" not in entry or unknown:
                raise ValueError(
                    "`layers` dict entries need 'tensor_fqn' and may set "
                    f"{sorted(_CONFIG_KEYS - {'tensor_fqn'})}; got {entry!r}."
                )
            yield (
                entry["tensor_fqn"],
                {k: v for k, v in entry.items() if k != "tensor_fqn"},
            )
        else:
            raise TypeError(f"`layers` entries must be names or dicts; got {entry!r}.")


def _module_named(model, name):
    module_name = name.removesuffix(".weight")
    try:
        module = model.get_submodule(module_name)
    except AttributeError:
        raise ValueError(
            f"`layers` names {name!r}, which is not in the model."
        ) from None
    if not isinstance(module, PRUNABLE_TYPES):
        raise TypeError(
            f"`layers` names {module_name!r}, a {type(module).__name__}; prunable "
            f"types are {[t.__name__ for t in PRUNABLE_TYPES]}."
        )
    return module_name, module


def discover_layers(model, *, block, sparsity, min_blocks, ignore, layers):
    """Resolve the layers to prune; returns ``(specs, skipped)``.

    Raises
    ------
    TypeError
        If an explicitly named layer is not a prunable type.
    ValueError
        On a bad block, sparsity or ``min_blocks``, an explicitly named layer that
        does not exist, is already parametrized or is smaller than its block.
    """
    default_block = parse_block(block)
    patterns = [
        re.compile(p) for p in ([ignore] if isinstance(ignore, str) else ignore)
    ]
    if layers is None:
        explicit = False
        entries = [
            (name, module, {})
            for name, module in model.named_modules()
            if isinstance(module, PRUNABLE_TYPES)
        ]
    else:
        explicit = True
        entries = [
            (*_module_named(model, name), overrides)
            for name, overrides in _config_entries(layers)
        ]
    specs, skipped = [], []
    for name, module, overrides in entries:
        shape = tuple(module.weight.shape)
        if any(p.fullmatch(name) for p in patterns):
            skipped.append(SkippedLayer(name, shape, "ignored"))
            continue
        if parametrize.is_parametrized(module, "weight"):
            raise ValueError(
                f"layer {name!r} already has a parametrization on its weight; "
                "finalize() the previous pruner first."
            )
        layer_block = parse_block(overrides.get("block", default_block), "block")
        layer_sparsity = check_sparsity(overrides.get("sparsity", sparsity))
        layer_min = check_int(
            overrides.get("min_blocks", min_blocks), "min_blocks", low=1
        )
        fan_in = module.weight[0].numel()
        if layer_block[0] > fan_in or layer_block[1] > shape[0]:
            if explicit:
                BlockGrid(shape, layer_block)  # raises the block-size error
            skipped.append(
                SkippedLayer(
                    name, shape, "smaller than the {}x{} block".format(*layer_block)
                )
            )
            continue
        grid = BlockGrid(shape, layer_block)
        if grid.n_blocks < layer_min:
            skipped.append(
                SkippedLayer(
                    name, shape, f"{grid.n_blocks} blocks < min_blocks={layer_min}"
                )
            )
            continue
        specs.append(LayerSpec(name, module, grid, layer_sparsity))
    return specs, skipped
