"""``W_b * s_b`` on a weight's native tile view, forward and backward, on the CPU.

In the native layout of :class:`neural.blocks.BlockGrid` a weight's memory is the
5-D array ``(n_col_blocks, B_c, n_channel_blocks, B_r, n_kernel)`` and block
``(c, j, p)`` (column block ``c``, channel block ``j``, kernel position ``p``)
has one value ``s[c, j, p]``. The scaled weight and the gradients are

    out[c, o, j, r, p] = W[c, o, j, r, p] s[c, j, p]
    dL/dW = G s (broadcast as above),   dL/ds[c, j, p] = sum_{o, r} G W.

torch computes them with broadcasting whose innermost axis is the kernel (9
entries, 1 for a Linear), which runs about ten times slower than a contiguous
multiply; these loops read and write each entry once. CUDA tensors, other
dtypes and non-native layouts keep torch's broadcasting.
"""

from __future__ import annotations

import numba
import torch
from numba import prange

__all__ = ["native_tile_scale", "supports_native_tile_scale"]


@numba.njit(parallel=True, cache=True)
def _scale(weight, values, out):  # pragma: no cover - compiled
    n_col, b_c, n_chan, b_r, n_kernel = weight.shape
    for c in prange(n_col):
        for o in range(b_c):
            for j in range(n_chan):
                for r in range(b_r):
                    for p in range(n_kernel):
                        out[c, o, j, r, p] = weight[c, o, j, r, p] * values[c, j, p]


@numba.njit(parallel=True, cache=True)
def _block_inner(grad, weight, out):  # pragma: no cover - compiled
    n_col, b_c, n_chan, b_r, n_kernel = weight.shape
    for c in prange(n_col):
        for j in range(n_chan):
            for p in range(n_kernel):
                out[c, j, p] = 0.0
        for o in range(b_c):
            for j in range(n_chan):
                for r in range(b_r):
                    for p in range(n_kernel):
                        out[c, j, p] += grad[c, o, j, r, p] * weight[c, o, j, r, p]


def supports_native_tile_scale(weight: torch.Tensor) -> bool:
    """Whether the loops apply: a contiguous float32/float64 CPU tensor."""
    return (
        weight.device.type == "cpu"
        and weight.dtype in (torch.float32, torch.float64)
        and weight.is_contiguous()
    )


def _run(kernel, out_shape, dtype, *tensors):
    out = torch.empty(out_shape, dtype=dtype)
    threads = torch.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    # The first call starts numba's threading layer, whose OpenMP flavour sets
    # the process's OpenMP threads, torch's included, to NUMBA_NUM_THREADS.
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    kernel(*(t.detach().numpy() for t in tensors), out.numpy())
    return out


class _NativeTileScale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tiles, values):
        ctx.save_for_backward(tiles, values)
        return _run(_scale, tiles.shape, tiles.dtype, tiles, values)

    @staticmethod
    def backward(ctx, grad):
        tiles, values = ctx.saved_tensors
        grad = grad.contiguous()
        grad_tiles = grad_values = None
        if ctx.needs_input_grad[0]:
            grad_tiles = _run(_scale, tiles.shape, tiles.dtype, grad, values)
        if ctx.needs_input_grad[1]:
            grad_values = _run(_block_inner, values.shape, values.dtype, grad, tiles)
        return grad_tiles, grad_values


def native_tile_scale(tiles: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``tiles * values[:, None, :, None, :]`` for 5-D ``tiles``, differentiable.

    ``values`` has shape ``(n_col_blocks, n_channel_blocks, n_kernel)``; both must
    pass :func:`supports_native_tile_scale` and share a dtype.
    """
    return _NativeTileScale.apply(tiles, values.contiguous())
