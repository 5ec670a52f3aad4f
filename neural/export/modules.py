"""Inference-only layers whose weight is stored block-sparse (torch BSR storage).

A pruned layer's weight matrix (arXiv:2402.17902, Section 4: ``in x out`` for a Linear,
``(H*W*C_in) x C_out`` for a convolution, tiled into ``B_r x B_c`` blocks by
:class:`neural.blocks.BlockGrid`) is kept as its transpose ``W`` of shape
``out x in`` in block compressed sparse row form with ``B_c x B_r`` blocks: the
buffers ``crow_indices``, ``col_indices`` and ``values`` of
``torch.sparse_bsr_tensor``. Only blocks with a nonzero entry are stored, so
memory and work are ``(1 - s)`` of the dense layer at block sparsity ``s``.

Products (``Y = X W^T + b``):

* CPU, float32: the compiled kernel of ``neural.export._kernels``. A
  convolution runs on the channels-last layout without an im2col copy (its
  output is a channels-last tensor, which the next block-sparse convolution
  reads as is) unless a block straddles two kernel positions (``C_in`` not a
  multiple of the block's width), where the input is unfolded first;
* CPU, float64: ``torch.mm(W_bsr, X^T)``;
* CUDA: ``torch.mm(W_bsr, X^T)`` where torch supports the dtype, else the dense
  weight (decided once per layer and recorded in ``cuda_path``). Not measured
  on a GPU yet.

These modules have no autograd: they are for inference after
:meth:`neural.BlockPruner.finalize`, and refuse inputs that require grad and use
in training mode.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torch.nn import functional as F

from ._kernels import conv_channels_last, conv_output_size, linear, pack_blocks

__all__ = ["BlockSparseConv2d", "BlockSparseLinear", "SUPPORTED_CPU_DTYPES"]

SUPPORTED_CPU_DTYPES = (torch.float32, torch.float64)
"""Weight dtypes the CPU kernels accept (torch's CPU BSR product has no bf16)."""


def weight_matrix(module) -> torch.Tensor:
    """The ``out x in`` matrix ``W`` whose ``B_c x B_r`` tiles are the grid's blocks.

    A Linear weight as is; a Conv2d kernel ``(C_out, C_in, H, W)`` permuted to
    ``(C_out, H, W, C_in)`` and flattened, so columns run over kernel positions
    and input channels in :class:`~neural.blocks.BlockGrid`'s row order.
    """
    weight = module.weight.detach()
    if isinstance(module, nn.Conv2d):
        return weight.permute(0, 2, 3, 1).reshape(weight.shape[0], -1)
    return weight


def dense_to_bsr(matrix: torch.Tensor, block: tuple[int, int]):
    """``(crow, col, values)`` of ``matrix`` with ``block = (b_out, b_in)`` tiles.

    A tile is stored when any of its entries is nonzero; the caller has checked
    that ``block`` divides the shape.
    """
    b_out, b_in = block
    n_out, n_in = matrix.shape
    tiles = matrix.reshape(n_out // b_out, b_out, n_in // b_in, b_in).transpose(1, 2)
    kept = tiles.ne(0).any(dim=(2, 3))
    counts = kept.sum(dim=1)
    crow = torch.zeros(n_out // b_out + 1, dtype=torch.int64)
    crow[1:] = torch.cumsum(counts, 0)
    rows, cols = kept.nonzero(as_tuple=True)
    values = tiles[rows, cols].contiguous()
    return crow, cols.to(torch.int64), values


class _BlockSparseWeight(nn.Module):
    """The BSR buffers, the product ``X W^T`` and the bookkeeping both layers share."""

    def __init__(self, out_features, in_features, block, nnz, bias, dtype):
        super().__init__()
        b_out, b_in = block
        self.out_features = out_features
        self.in_features = in_features
        self.block = (b_out, b_in)
        self.register_buffer(
            "crow_indices", torch.zeros(out_features // b_out + 1, dtype=torch.int64)
        )
        self.register_buffer("col_indices", torch.zeros(nnz, dtype=torch.int64))
        self.register_buffer("values", torch.zeros(nnz, b_out, b_in, dtype=dtype))
        self.register_buffer(
            "bias", torch.zeros(out_features, dtype=dtype) if bias else None
        )
        self.cuda_path = None
        self._bsr = None
        self._bsr_key = None
        self._packed = None
        self._packed_key = None

    def __getstate__(self):
        # Copies and pickles rebuild the caches: the packed weight holds raw
        # addresses of the tensors it was built from.
        state = super().__getstate__()
        state.update(_bsr=None, _bsr_key=None, _packed=None, _packed_key=None)
        return state

    def _load_bsr(self, matrix, bias):
        crow, col, values = dense_to_bsr(matrix, self.block)
        self.crow_indices.copy_(crow)
        self.col_indices.copy_(col)
        self.values.copy_(values)
        if bias is not None:
            self.bias.copy_(bias.detach())

    @property
    def nnz_blocks(self) -> int:
        """Number of stored blocks."""
        return self.values.shape[0]

    @property
    def density(self) -> float:
        """Fraction of blocks stored."""
        b_out, b_in = self.block
        n_blocks = (self.out_features // b_out) * (self.in_features // b_in)
        return self.nnz_blocks / n_blocks

    def storage_bytes(self) -> int:
        """Bytes of the BSR buffers (values and indices) plus the bias."""
        buffers = [self.values, self.crow_indices, self.col_indices]
        if self.bias is not None:
            buffers.append(self.bias)
        return sum(b.numel() * b.element_size() for b in buffers)

    def weight_bsr(self) -> torch.Tensor:
        """The weight as a ``torch.sparse_bsr_tensor`` sharing the buffers' memory.

        Built once and reused while the buffers keep their storage (building it
        and silencing torch's beta warning cost more than a batch-1 product).
        """
        key = (
            self.values.data_ptr(),
            self.crow_indices.data_ptr(),
            self.col_indices.data_ptr(),
            self.values.device,
        )
        if self._bsr_key != key:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Sparse BSR tensor support")
                self._bsr = torch.sparse_bsr_tensor(
                    self.crow_indices,
                    self.col_indices,
                    self.values,
                    size=(self.out_features, self.in_features),
                    check_invariants=False,
                )
            self._bsr_key = key
        return self._bsr

    def dense_matrix(self) -> torch.Tensor:
        """The ``out x in`` weight matrix, dense."""
        return self.weight_bsr().to_dense()

    def _buffers_key(self) -> tuple:
        """Changes when a buffer is replaced, moved or modified in place.

        Inference tensors (buffers made under ``torch.inference_mode``) have no
        version counter: their in-place changes go unnoticed.
        """
        buffers = self._buffers  # one dict lookup, not four module attributes
        return tuple(
            None
            if b is None
            else (b.data_ptr(), -1 if b.is_inference() else b._version)
            for b in map(buffers.get, ("values", "crow_indices", "col_indices", "bias"))
        )

    def packed_blocks(self):
        """The weight laid out for the CPU kernel, rebuilt when a buffer changes."""
        key = self._buffers_key()
        if self._packed_key != key:
            self._packed = pack_blocks(
                self.crow_indices, self.col_indices, self.values, self.bias
            )
            self._packed_key = key
        return self._packed

    def _check_input(self, x: torch.Tensor) -> None:
        if self.training:
            raise RuntimeError(
                f"{type(self).__name__} is inference-only; call model.eval() first."
            )
        if x.requires_grad:
            raise RuntimeError(
                f"{type(self).__name__} has no autograd; run it under "
                "torch.inference_mode() or torch.no_grad()."
            )
        if x.dtype != self.values.dtype:
            raise TypeError(
                f"input dtype {x.dtype} differs from the weight's {self.values.dtype}."
            )

    def _uses_kernel(self, x: torch.Tensor) -> bool:
        """Whether the compiled CPU kernel computes the product for ``x``."""
        return x.is_cpu and x.dtype == torch.float32

    def _torch_product(self, rows: torch.Tensor) -> torch.Tensor:
        """``rows @ W^T + b`` through torch's BSR product (float64, CUDA)."""
        xt = rows.T.contiguous()
        if xt.device.type == "cuda":
            out = self._cuda_product(xt)
        else:
            out = torch.mm(self.weight_bsr(), xt)
        out = out.T
        return out + self.bias if self.bias is not None else out

    def _cuda_product(self, xt):
        if self.cuda_path is None:
            try:
                torch.mm(self.weight_bsr(), xt[:, :1])
                self.cuda_path = "bsr"
            except (RuntimeError, NotImplementedError):
                self.cuda_path = "dense"
        if self.cuda_path == "bsr":
            return torch.mm(self.weight_bsr(), xt)
        return self.dense_matrix() @ xt

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"block={self.block[0]}x{self.block[1]}, density={self.density:.3f}, "
            f"bias={self.bias is not None}"
        )


class BlockSparseLinear(_BlockSparseWeight):
    """``y = x W^T + b`` with ``W`` stored in BSR; inference only.

    Build it with :meth:`from_linear`; ``block = (b_out, b_in)`` tiles ``W`` of
    shape ``out x in`` (the grid's ``B_r x B_c`` block on the ``in x out`` matrix
    is ``(B_c, B_r)`` here).
    """

    @classmethod
    def from_linear(cls, linear: nn.Linear, block) -> BlockSparseLinear:
        """The block-sparse copy of ``linear``'s current weight and bias."""
        weight = linear.weight.detach()
        crow, col, values = dense_to_bsr(weight, block)
        module = cls(
            linear.out_features,
            linear.in_features,
            block,
            values.shape[0],
            linear.bias is not None,
            weight.dtype,
        )
        module._load_bsr(weight, linear.bias)
        return module.to(weight.device).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ W^T + b`` over the last axis of ``x``."""
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"input must end in {self.in_features} features; got {tuple(x.shape)}."
            )
        self._check_input(x)
        rows = x.reshape(-1, self.in_features)
        if self._uses_kernel(x):
            out = linear(rows.contiguous(), self.packed_blocks())
        else:
            out = self._torch_product(rows)
        return out.reshape(*x.shape[:-1], self.out_features)


class BlockSparseConv2d(_BlockSparseWeight):
    """A 2-D convolution (``groups=1``, zero padding) with a BSR kernel matrix.

    The kernel ``(C_out, C_in, kH, kW)`` is stored as the ``C_out x (kH kW C_in)``
    matrix of ``weight_matrix``. On the CPU in float32 the product reads the
    input channels-last, block by block (an implicit GEMM), when ``C_in`` is a
    multiple of the block's width; otherwise, and on the other paths, the input
    is unfolded into ``(N OH OW) x (kH kW C_in)`` rows first. The output is
    ``(N, C_out, OH, OW)`` in channels-last memory. Inference only.
    """

    def __init__(self, conv_args, block, nnz, bias, dtype):
        out_channels, in_channels, kernel_size, stride, padding, dilation = conv_args
        super().__init__(
            out_channels,
            in_channels * kernel_size[0] * kernel_size[1],
            block,
            nnz,
            bias,
            dtype,
        )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = tuple(kernel_size)
        self.stride = tuple(stride)
        self.padding = tuple(padding)
        self.dilation = tuple(dilation)

    @staticmethod
    def conv_args(conv: nn.Conv2d) -> tuple:
        """The shape arguments that rebuild ``conv``'s geometry."""
        return (
            conv.out_channels,
            conv.in_channels,
            conv.kernel_size,
            conv.stride,
            conv.padding,
            conv.dilation,
        )

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, block) -> BlockSparseConv2d:
        """The block-sparse copy of ``conv``'s current kernel and bias."""
        matrix = weight_matrix(conv)
        nnz = dense_to_bsr(matrix, block)[2].shape[0]
        module = cls(
            cls.conv_args(conv), block, nnz, conv.bias is not None, matrix.dtype
        )
        module._load_bsr(matrix, conv.bias)
        return module.to(matrix.device).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The convolution of ``x`` of shape ``(N, C_in, H, W)``."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"input must have shape (N, {self.in_channels}, H, W); "
                f"got {tuple(x.shape)}."
            )
        self._check_input(x)
        geometry = (self.kernel_size, self.stride, self.padding, self.dilation)
        kernel = self._uses_kernel(x)
        if kernel and self.in_channels % self.block[1] == 0:
            packed = self.packed_blocks()
            out = conv_channels_last(
                x.permute(0, 2, 3, 1).contiguous(), packed, *geometry
            )
            return out.permute(0, 3, 1, 2)
        n = x.shape[0]
        out_h, out_w = conv_output_size(x.shape[2:], *geometry)
        columns = F.unfold(
            x, self.kernel_size, self.dilation, self.padding, self.stride
        )
        # (N, C_in kH kW, L) -> rows (N L) in the grid's (kH, kW, C_in) column order
        rows = (
            columns.view(n, self.in_channels, -1, out_h * out_w)
            .permute(0, 3, 2, 1)
            .reshape(-1, self.in_features)
        )
        if kernel:
            out = linear(rows.contiguous(), self.packed_blocks())
        else:
            out = self._torch_product(rows)
        return out.reshape(n, out_h, out_w, self.out_channels).permute(0, 3, 1, 2)
