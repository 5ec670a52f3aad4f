"""Block-sparse weight times dense activations on CPU: the compiled float32 kernel.

``W`` is ``n_out x K`` in block compressed sparse row form (torch's BSR):
``crow[r]:crow[r+1]`` index the stored blocks of block row ``r``, ``col[k]`` is
the block column of stored block ``k`` and ``values[k]`` its dense
``b_out x b_in`` tile. The kernel (``csrc/bsr.c``, built by the package's
install) computes ``Y = X W^T + b`` where the rows of ``X`` are positions: the
rows of a Linear layer's input, or the output pixels of a convolution read from
a channels-last input (an implicit GEMM: column ``f`` of ``W`` is kernel position
``f // C_in`` and channel ``f % C_in``). The work is ``2 nnz b_out b_in`` flops
per position, ``(1 - s)`` of the dense product at block sparsity ``s``.

For a tile of up to 128 positions, the kernel copies the inputs that the
stored blocks read (only their block columns, 8 channels per group) into a
panel: the im2col rows of that tile alone, never of the whole input. Each
register tile then holds the outputs of up to 16 positions times 8 or 16
output channels while it walks all stored blocks of a block row: the weight
column of a block (packed contiguously, :func:`pack_blocks`) is loaded once and
multiplied with each position's input, broadcast from the panel. The
summation order differs from a dense GEMM, so results agree with it to float
rounding (about 1e-6 relative in float32), not bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import _bsr

__all__ = [
    "PackedBlocks",
    "conv_channels_last",
    "conv_output_size",
    "linear",
    "pack_blocks",
]


@dataclass(frozen=True)
class PackedBlocks:
    """A BSR weight laid out for the kernel.

    ``weights`` is ``(nnz, n_chunks, b_in, lanes)``: block ``k``'s transpose with
    its ``b_out`` output channels padded with zeros to ``n_chunks * lanes``;
    ``bias`` is ``(n_block_rows, n_chunks * lanes)``, padded alike. ``used``
    lists the block columns that hold a stored block (the kernel copies only
    those inputs) and ``slot[k]`` is block ``k``'s column's index in it;
    ``min_features`` is the number of input features those columns reach.
    """

    crow: torch.Tensor
    slot: torch.Tensor
    used: torch.Tensor
    weights: torch.Tensor
    bias: torch.Tensor
    n_out: int
    block: tuple[int, int]
    min_features: int

    def __post_init__(self):
        # What every call passes to the C kernel, built once (a batch-1 product
        # takes a few microseconds; Python-side work shows).
        pointers = (
            self.weights.data_ptr(),
            self.bias.data_ptr(),
            self.crow.data_ptr(),
            self.slot.data_ptr(),
            self.used.data_ptr(),
            self.used.shape[0],
        )
        sizes = (self.n_out, *self.block, self.crow.shape[0] - 1)
        object.__setattr__(self, "_arguments", (pointers, sizes))


def pack_blocks(crow, col, values, bias) -> PackedBlocks:
    """Lay out BSR buffers for the kernel.

    Parameters
    ----------
    crow, col : torch.Tensor
        int64 BSR index tensors.
    values : torch.Tensor
        ``(nnz, b_out, b_in)`` float32 blocks.
    bias : torch.Tensor or None
        ``(n_out,)``.
    """
    nnz, b_out, b_in = values.shape
    n_block_rows = crow.shape[0] - 1
    lanes = _bsr.lanes(b_out)
    n_chunks = -(-b_out // lanes)
    padded = torch.zeros(nnz, n_chunks * lanes, b_in, dtype=torch.float32)
    padded[:, :b_out] = values
    weights = padded.view(nnz, n_chunks, lanes, b_in).transpose(2, 3).contiguous()
    packed_bias = torch.zeros(n_block_rows, n_chunks * lanes, dtype=torch.float32)
    if bias is not None:
        packed_bias[:, :b_out] = bias.view(n_block_rows, b_out)
    used, slot = torch.unique(col, sorted=True, return_inverse=True)
    return PackedBlocks(
        crow.contiguous(),
        slot.to(torch.int32),
        used.to(torch.int32),
        weights,
        packed_bias,
        n_block_rows * b_out,
        (b_out, b_in),
        int(used[-1] + 1) * b_in if used.numel() else 0,
    )


def conv_output_size(size, kernel_size, stride, padding, dilation) -> tuple[int, int]:
    """``(OH, OW)`` of a convolution of an input of spatial ``size`` ``(H, W)``."""
    return tuple(
        (length + 2 * pad - dil * (k - 1) - 1) // step + 1
        for length, pad, dil, k, step in zip(
            size, padding, dilation, kernel_size, stride, strict=True
        )
    )


def _forward(x, y, packed, geometry) -> None:
    # The C code trusts its arguments: refuse an input too narrow for the weight.
    features = geometry[3] * geometry[6] * geometry[7]
    if features < packed.min_features or geometry[3] < 1:
        raise ValueError(
            f"the input has {features} features per position; the weight reads "
            f"{packed.min_features}."
        )
    pointers, sizes = packed._arguments
    _bsr.forward(
        x.data_ptr(), y.data_ptr(), pointers, geometry, sizes, torch.get_num_threads()
    )


def conv_channels_last(x, packed, kernel_size, stride, padding, dilation):
    """The convolution of ``x``, ``(N, H, W, C)`` contiguous float32.

    Returns ``(N, OH, OW, n_out)``, contiguous. ``C`` must be a multiple of the
    block's width unless the kernel is ``1 x 1``, so that no block straddles two
    kernel positions.
    """
    n, height, width, channels = x.shape
    out_h, out_w = conv_output_size(
        (height, width), kernel_size, stride, padding, dilation
    )
    y = torch.empty((n, out_h, out_w, packed.n_out), dtype=torch.float32)
    geometry = (
        n, height, width, channels, out_h, out_w, *kernel_size, *stride, *padding,
        *dilation,
    )  # fmt: skip
    _forward(x, y, packed, geometry)
    return y


def linear(x, packed):
    """``x W^T + b`` for ``x`` of shape ``(M, K)``, contiguous float32."""
    rows, features = x.shape
    y = torch.empty((rows, packed.n_out), dtype=torch.float32)
    _forward(x, y, packed, (rows, 1, 1, features, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1))
    return y
