"""Block-sparse times dense products on CPU: ``Y^T = W X^T`` with ``W`` in BSR.

``W`` is ``n_out x n_in`` in block compressed sparse row form (torch's BSR):
``crow[r]:crow[r+1]`` index the stored blocks of block row ``r``, ``col[k]`` is
the block column of stored block ``k`` and ``values[k]`` its dense
``b_out x b_in`` tile. With ``X`` the ``M x n_in`` batch, block row ``r`` of the
output is

    Y^T[r b_out : (r+1) b_out, :]
        = sum_k values[k] @ X^T[col[k] b_in : (col[k]+1) b_in, :]

so the work is ``2 nnz b_out b_in M`` flops, ``(1 - s)`` of the dense product at
block sparsity ``s``. Each output row of a block row is a contiguous batch-long
vector; the kernel updates four output rows from four input rows per pass (a
4 x 4 register tile), so every loaded input vector feeds four fused multiply-adds
and every output vector is read and written once per four input rows. The batch
axis is the innermost, contiguous one, which is what makes it vectorize; block
rows are spread over threads. The summation order differs from a
dense GEMM, so results agree with it to float rounding (relative 1e-5 in float32
on the tests' layers), not bit for bit.

Small batches leave the inner loop too short to vectorize; there the caller uses
torch's own BSR product (:data:`SMALL_BATCH`).
"""

from __future__ import annotations

import numba
import torch
from numba import prange

__all__ = ["SMALL_BATCH", "bsr_matmul_transposed"]

SMALL_BATCH = 16
"""Below this many rows the numba kernel's batch loop is too short to vectorize
and ``torch.mm(W_bsr, X^T)`` is faster (measured by ``sapp bench export``)."""

_FASTMATH = {"reassoc", "contract", "nsz"}  # reassociation only: NaN/inf propagate


@numba.njit(parallel=True, fastmath=_FASTMATH, cache=True)
def _bsr_times_dense(crow, col, values, xt, yt):  # pragma: no cover - compiled
    # Plain ``for ... in range`` loops with the batch loop innermost over whole
    # rows: that is the form LLVM vectorizes (``while`` loops or batch tiles with
    # offsets measured 3-6x slower).
    n_block_rows = crow.shape[0] - 1
    b_out = values.shape[1]
    b_in = values.shape[2]
    width = xt.shape[1]
    b_out4 = b_out - b_out % 4
    b_in4 = b_in - b_in % 4
    for r in prange(n_block_rows):
        row0 = r * b_out
        for i in range(b_out):
            for b in range(width):
                yt[row0 + i, b] = 0
        for k in range(crow[r], crow[r + 1]):
            c0 = col[k] * b_in
            for i in range(0, b_out4, 4):
                ya = yt[row0 + i]
                yb = yt[row0 + i + 1]
                yc = yt[row0 + i + 2]
                yd = yt[row0 + i + 3]
                for j in range(0, b_in4, 4):
                    a0 = values[k, i, j]
                    a1 = values[k, i, j + 1]
                    a2 = values[k, i, j + 2]
                    a3 = values[k, i, j + 3]
                    b0 = values[k, i + 1, j]
                    b1 = values[k, i + 1, j + 1]
                    b2 = values[k, i + 1, j + 2]
                    b3 = values[k, i + 1, j + 3]
                    c0_ = values[k, i + 2, j]
                    c1 = values[k, i + 2, j + 1]
                    c2 = values[k, i + 2, j + 2]
                    c3 = values[k, i + 2, j + 3]
                    d0 = values[k, i + 3, j]
                    d1 = values[k, i + 3, j + 1]
                    d2 = values[k, i + 3, j + 2]
                    d3 = values[k, i + 3, j + 3]
                    x0 = xt[c0 + j]
                    x1 = xt[c0 + j + 1]
                    x2 = xt[c0 + j + 2]
                    x3 = xt[c0 + j + 3]
                    for b in range(width):
                        v0 = x0[b]
                        v1 = x1[b]
                        v2 = x2[b]
                        v3 = x3[b]
                        ya[b] += a0 * v0 + a1 * v1 + a2 * v2 + a3 * v3
                        yb[b] += b0 * v0 + b1 * v1 + b2 * v2 + b3 * v3
                        yc[b] += c0_ * v0 + c1 * v1 + c2 * v2 + c3 * v3
                        yd[b] += d0 * v0 + d1 * v1 + d2 * v2 + d3 * v3
                for j in range(b_in4, b_in):
                    a0 = values[k, i, j]
                    b0 = values[k, i + 1, j]
                    c0_ = values[k, i + 2, j]
                    d0 = values[k, i + 3, j]
                    x0 = xt[c0 + j]
                    for b in range(width):
                        v0 = x0[b]
                        ya[b] += a0 * v0
                        yb[b] += b0 * v0
                        yc[b] += c0_ * v0
                        yd[b] += d0 * v0
            for i in range(b_out4, b_out):
                ya = yt[row0 + i]
                for j in range(b_in):
                    a0 = values[k, i, j]
                    x0 = xt[c0 + j]
                    for b in range(width):
                        ya[b] += a0 * x0[b]


def bsr_matmul_transposed(crow, col, values, xt):
    """``W X^T`` for ``W`` in BSR (``crow``, ``col``, ``values``) and ``xt = X^T``.

    Parameters
    ----------
    crow, col : torch.Tensor
        int64 BSR index tensors on the CPU.
    values : torch.Tensor
        ``(nnz, b_out, b_in)`` float32 or float64 blocks.
    xt : torch.Tensor
        ``(n_in, M)`` C-contiguous, same dtype as ``values``.

    Returns
    -------
    torch.Tensor
        ``(n_out, M)``, ``n_out = (len(crow) - 1) b_out``.
    """
    n_out = (crow.shape[0] - 1) * values.shape[1]
    yt = torch.empty((n_out, xt.shape[1]), dtype=values.dtype)
    threads = min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(threads)
    _bsr_times_dense(crow.numpy(), col.numpy(), values.numpy(), xt.numpy(), yt.numpy())
    return yt
