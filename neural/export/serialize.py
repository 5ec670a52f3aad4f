"""Save and load exported (block-sparse) models.

A block-sparse layer's buffers have data-dependent shapes (the number of stored
blocks), so a ``state_dict`` alone cannot be loaded into a freshly built dense
model. The file therefore records, for each exported layer, how to rebuild an
empty block-sparse module of the right shape; :func:`load_exported` rebuilds them
on a fresh instance of the original architecture and then loads the
``state_dict`` strictly. Files hold tensors and plain containers only, so they
load with ``torch.load(weights_only=True)``; they are written atomically.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from ..atomic import atomic_file
from .convert import _replace, to_channels_last_if_sparse_conv
from .modules import BlockSparseConv2d, BlockSparseLinear

__all__ = ["FORMAT", "load_exported", "save_exported"]

FORMAT = "sapp-block-sparse/1"


def _layer_spec(module) -> dict:
    spec = {
        "kind": type(module).__name__,
        "block": list(module.block),
        "nnz": module.nnz_blocks,
        "bias": module.bias is not None,
        "dtype": str(module.values.dtype).removeprefix("torch."),
    }
    if isinstance(module, BlockSparseConv2d):
        spec["conv"] = [
            module.out_channels,
            module.in_channels,
            list(module.kernel_size),
            list(module.stride),
            list(module.padding),
            list(module.dilation),
        ]
    else:
        spec["features"] = [module.out_features, module.in_features]
    return spec


def save_exported(model: nn.Module, path) -> int:
    """Write ``model``'s state and its block-sparse layout to ``path``; returns bytes.

    A model whose layers all stayed dense is saved too (with no layout entry).
    """
    layers = {
        name: _layer_spec(module)
        for name, module in model.named_modules()
        if isinstance(module, BlockSparseLinear | BlockSparseConv2d)
    }
    payload = {"format": FORMAT, "layers": layers, "state_dict": model.state_dict()}
    with atomic_file(path) as tmp:
        torch.save(payload, tmp)
    return os.path.getsize(path)


def _empty_module(name, spec):
    dtype = getattr(torch, spec["dtype"], None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"layer {name!r}: unknown dtype {spec['dtype']!r} in file.")
    block = tuple(spec["block"])
    if spec["kind"] == "BlockSparseConv2d":
        return BlockSparseConv2d(spec["conv"], block, spec["nnz"], spec["bias"], dtype)
    if spec["kind"] == "BlockSparseLinear":
        out_features, in_features = spec["features"]
        return BlockSparseLinear(
            out_features, in_features, block, spec["nnz"], spec["bias"], dtype
        )
    raise ValueError(f"layer {name!r}: unknown kind {spec['kind']!r} in file.")


def load_exported(model: nn.Module, path, *, map_location="cpu") -> nn.Module:
    """Rebuild an exported model from ``path`` on ``model``, a fresh dense instance.

    ``model`` must be the architecture that was exported (e.g. a new
    ``resnet18()``); its layers named in the file are replaced by empty
    block-sparse modules, then the saved ``state_dict`` is loaded strictly.
    Returns the model in eval mode, its 4-D weights channels-last if it holds a
    block-sparse convolution (as :func:`~neural.export.export_block_sparse`
    leaves it).

    Raises
    ------
    ValueError
        If the file is not a sapp block-sparse export or does not match ``model``.
    """
    payload = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a {FORMAT} file.")
    known = dict(model.named_modules())
    for name, spec in payload["layers"].items():
        if name not in known:
            raise ValueError(f"layer {name!r} of {str(path)!r} is not in `model`.")
        model = _replace(model, name, _empty_module(name, spec))
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as error:
        raise ValueError(f"{str(path)!r} does not match `model`: {error}") from None
    return to_channels_last_if_sparse_conv(model)[0].eval()
