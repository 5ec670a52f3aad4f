"""Dense vs block-sparse inference speed, measured side by side in one run.

Used by ``sapp bench speed`` and ``benchmarks/bench_export.py``. For a layer the
contenders are the dense product, torch's two BSR paths (``F.linear(x, W_bsr)``
and ``torch.mm(W_bsr, x^T)^T``) and the exported :class:`BlockSparseLinear`; for
a whole model, the dense finalized model against its export. The ideal speedup at
block sparsity ``s`` is ``1 / (1 - s)``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .modules import BlockSparseLinear
from .timing import median_latency_ms

__all__ = [
    "LayerSpeed",
    "ModelSpeed",
    "block_sparse_linear",
    "layer_speed",
    "model_speed",
]


@dataclass(frozen=True)
class LayerSpeed:
    """Milliseconds per call of one Linear layer under each implementation."""

    shape: tuple[int, int]
    block: int
    sparsity: float
    batch: int
    dense_ms: float
    torch_linear_bsr_ms: float
    torch_mm_bsr_ms: float
    sapp_ms: float

    @property
    def speedup(self) -> float:
        """Dense time over the export's time."""
        return self.dense_ms / self.sapp_ms

    @property
    def vs_torch_best(self) -> float:
        """Time of torch's fastest BSR path over the export's (>= 1: not slower)."""
        return min(self.torch_linear_bsr_ms, self.torch_mm_bsr_ms) / self.sapp_ms

    def to_dict(self) -> dict:
        """JSON-ready dictionary, speedups included."""
        return {
            **asdict(self),
            "speedup": self.speedup,
            "vs_torch_best": self.vs_torch_best,
            "ideal": 1.0 / (1.0 - self.sparsity),
        }


@dataclass(frozen=True)
class ModelSpeed:
    """Whole-model latency (ms per batch) and throughput (rows per second)."""

    model: str
    batch: int
    dense_ms: float
    exported_ms: float
    max_relative_error: float

    @property
    def speedup(self) -> float:
        """Dense time over the exported model's time."""
        return self.dense_ms / self.exported_ms

    def to_dict(self) -> dict:
        """JSON-ready dictionary with throughputs."""
        return {
            **asdict(self),
            "speedup": self.speedup,
            "dense_rows_per_s": 1e3 * self.batch / self.dense_ms,
            "exported_rows_per_s": 1e3 * self.batch / self.exported_ms,
        }


def block_sparse_linear(n_in, n_out, block, sparsity, *, seed=0) -> nn.Linear:
    """A Linear layer keeping ``n - floor(s n)`` random ``block x block`` tiles.

    The same rounding as the pruners (``neural.pruning.base.n_kept_blocks``); the
    kept tiles are drawn uniformly without replacement.
    """
    generator = torch.Generator().manual_seed(seed)
    linear = nn.Linear(n_in, n_out)
    rows, cols = n_out // block, n_in // block
    n_blocks = rows * cols
    kept = n_blocks - math.floor(sparsity * n_blocks + 1e-9)
    mask = torch.zeros(n_blocks, dtype=torch.bool)
    mask[torch.randperm(n_blocks, generator=generator)[:kept]] = True
    mask = mask.view(rows, cols).repeat_interleave(block, 0)
    with torch.no_grad():
        linear.weight.mul_(mask.repeat_interleave(block, 1))
    linear.pruned_block_shape = (block, block)
    return linear.eval()


def layer_speed(linear, block, sparsity, batch, *, repeats=20) -> LayerSpeed:
    """Time ``linear`` dense, through torch's BSR paths and exported, on one batch."""
    x = torch.randn(batch, linear.in_features)
    weight = linear.weight.detach()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse BSR tensor support")
        weight_bsr = weight.to_sparse_bsr((block, block))
    sparse = BlockSparseLinear.from_linear(linear, (block, block))
    bias = linear.bias.detach()
    return LayerSpeed(
        tuple(weight.shape),
        block,
        sparsity,
        batch,
        median_latency_ms(lambda: F.linear(x, weight, bias), repeats=repeats),
        median_latency_ms(lambda: F.linear(x, weight_bsr, bias), repeats=repeats),
        median_latency_ms(lambda: torch.mm(weight_bsr, x.T).T + bias, repeats=repeats),
        median_latency_ms(lambda: sparse(x), repeats=repeats),
    )


def model_speed(name, dense, exported, inputs, *, repeats=10) -> ModelSpeed:
    """Time ``dense`` and ``exported`` on ``inputs`` (tensor or tuple), eval mode."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    dense.eval()
    exported.eval()
    with torch.inference_mode():
        reference = dense(*inputs)
        error = (exported(*inputs) - reference).abs().max() / reference.abs().max()
    return ModelSpeed(
        name,
        inputs[0].shape[0],
        median_latency_ms(lambda: dense(*inputs), repeats=repeats),
        median_latency_ms(lambda: exported(*inputs), repeats=repeats),
        float(error),
    )
