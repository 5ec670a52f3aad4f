"""The block-sparse export timed against dense on the check's device.

Two parts, both inference (eval mode, no autograd), dense and block-sparse
timed in interleaved rounds of synchronized calls, each time the median over
rounds of a round's fastest call (:func:`neural.export.timing.interleaved_ms`):

* one ``n x n`` Linear layer keeping ``1 - s`` of its blocks (random ones,
  :func:`benchmarks.speed.block_sparse_linear`), dense against
  :class:`~neural.export.BlockSparseLinear`, in float32 for each block size and
  in bfloat16 for some; on CUDA each row says which product the layer chose
  (``cuda_path``: torch's BSR product, or the dense weight where torch has no
  BSR kernel for the dtype);
* ResNet-50 pruned by the ``imagenet_magnitude`` recipe's layer setup (one
  shot, finalized), exported by :func:`neural.export.export_block_sparse` with
  ``policy="measure"``: each pruned layer is timed dense and block-sparse on the
  input it sees and exported only where faster; then the whole model, dense
  against exported (:func:`benchmarks.speed.model_speed`).
"""

from __future__ import annotations

import statistics
import warnings

import torch

from neural.export import BlockSparseLinear, export_block_sparse
from neural.export.timing import interleaved_ms
from neural.recipes import load_recipe
from neural.recipes.build import build_model, pruner_factory

from ..speed import block_sparse_linear, model_speed

__all__ = ["export_stage"]


def _linear_row(case, block, dtype, device) -> dict:
    n = case.linear_size
    linear = block_sparse_linear(n, n, block, case.sparsity).to(device, dtype)
    sparse = BlockSparseLinear.from_linear(linear, (block, block))
    x = torch.randn(case.batch, n, device=device).to(dtype)
    with torch.no_grad():
        reference = linear(x).float()
        error = (sparse(x).float() - reference).abs().max() / reference.abs().max()
    dense_times, sparse_times = interleaved_ms(
        [lambda: linear(x), lambda: sparse(x)], repeats=case.repeats
    )
    dense_ms = statistics.median(dense_times)
    sparse_ms = statistics.median(sparse_times)
    return {
        "shape": [n, n],
        "block": block,
        "sparsity": case.sparsity,
        "dtype": str(dtype).removeprefix("torch."),
        "batch": case.batch,
        "dense_ms": dense_ms,
        "sparse_ms": sparse_ms,
        "speedup": dense_ms / sparse_ms,
        "max_relative_error": float(error),
        "cuda_path": sparse.cuda_path,
    }


def _pruned_resnet(case, device):
    recipe = load_recipe("imagenet_magnitude", assignments={**case.resnet_assignments})
    torch.manual_seed(0)
    model = build_model(recipe).to(device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no optimizer: nothing to reset
        pruner = pruner_factory(recipe)(model, None, 1)
    pruner.step()
    size = recipe.data["image_size"]
    example = torch.randn(case.resnet_batch, 3, size, size, device=device)
    return pruner.finalize().eval(), example


def export_stage(case, device: torch.device, budget) -> dict:
    """Time the Linear layer cases, then ResNet-50's export; the stage's record.

    Parameters
    ----------
    case : ExportCase
    device : torch.device
    budget : Budget
        Checked between the parts (a part is not cut short).

    Returns
    -------
    dict
        ``linear``: one row per (dtype, block); ``resnet50``: per-layer
        decisions, their totals and the whole model's speed (absent when the
        budget ran out first).
    """
    rows = [_linear_row(case, b, torch.float32, device) for b in case.blocks]
    if device.type == "cuda":
        rows += [_linear_row(case, b, torch.bfloat16, device) for b in case.bf16_blocks]
    record = {"linear": rows}
    if budget.expired():
        return record
    model, example = _pruned_resnet(case, device)
    exported, report = export_block_sparse(
        model, example_inputs=example, ragged="dense", repeats=case.repeats
    )
    layers = report.to_dict()["layers"]
    timed = [r for r in layers if r["dense_ms"] is not None]
    paths = [m.cuda_path for m in exported.modules() if hasattr(m, "cuda_path")]
    record["resnet50"] = {
        "overrides": dict(case.resnet_assignments),
        "batch": case.resnet_batch,
        "layers": layers,
        "n_pruned": len(layers),
        "n_block_sparse": report.n_sparse,
        "dense_ms_total": sum(r["dense_ms"] for r in timed),
        "chosen_ms_total": sum(min(r["dense_ms"], r["sparse_ms"]) for r in timed),
        "cuda_paths": {p: paths.count(p) for p in set(paths) if p is not None},
        "model": model_speed(
            "resnet50", model, exported, example, repeats=case.repeats
        ).to_dict(),
    }
    return record
