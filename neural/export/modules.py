"""Inference-only layers whose weight is stored block-sparse (torch BSR storage).

A pruned layer's weight matrix (arXiv:2402.17902, Section 4: ``in x out`` for a Linear,
``(H*W*C_in) x C_out`` for a convolution, tiled into ``B_r x B_c`` blocks by
:class:`neural.blocks.BlockGrid`) is kept as its transpose ``W`` of shape
``out x in`` in block compressed sparse row form with ``B_c x B_r`` blocks: the
buffers ``crow_indices``, ``col_indices`` and ``values`` of
``torch.sparse_bsr_tensor``. Only blocks with a nonzero entry are stored, so
memory and work are ``(1 - s)`` of the dense layer at block sparsity ``s``.

Products (``Y = X W^T``, computed as ``(W X^T)^T``):

* CPU, at least ``neural.export._kernels.SMALL_BATCH`` rows: the numba
  kernel of ``neural.export._kernels`` (float32 or float64);
* CPU, fewer rows: ``torch.mm(W_bsr, X^T)``, torch's fastest BSR path there;
* CUDA: ``torch.mm(W_bsr, X^T)`` where torch supports the dtype, else the dense
  weight (decided once per layer and recorded in ``cuda_path``). Not measured
  on a GPU yet.

These modules have no autograd: they are for inference after
:meth:`neural.BlockPruner.finalize`, and refuse inputs that require grad and use
in training mode. ``nn.Conv2d`` is computed as an im2col product: the input is
unfolded into ``(H*W*C_in) x (N*L)`` columns, in the same row order as the
block grid, and multiplied like a Linear layer.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torch.nn import functional as F

from ._kernels import SMALL_BATCH, bsr_matmul_transposed

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

    def _product_transposed(self, xt: torch.Tensor) -> torch.Tensor:
        """``W @ xt`` for ``xt = X^T`` of shape ``(in_features, M)``, C-contiguous."""
        if self.training:
            raise RuntimeError(
                f"{type(self).__name__} is inference-only; call model.eval() first."
            )
        if xt.requires_grad:
            raise RuntimeError(
                f"{type(self).__name__} has no autograd; run it under "
                "torch.inference_mode() or torch.no_grad()."
            )
        if xt.dtype != self.values.dtype:
            raise TypeError(
                f"input dtype {xt.dtype} differs from the weight's {self.values.dtype}."
            )
        if xt.device.type == "cuda":
            return self._cuda_product(xt)
        if xt.shape[1] < SMALL_BATCH:
            return torch.mm(self.weight_bsr(), xt)
        return bsr_matmul_transposed(
            self.crow_indices, self.col_indices, self.values, xt
        )

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
        out = self._product_transposed(x.reshape(-1, self.in_features).T.contiguous())
        out = out.T
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features)


class BlockSparseConv2d(_BlockSparseWeight):
    """A 2-D convolution (``groups=1``, zero padding) as an im2col BSR product.

    The kernel ``(C_out, C_in, kH, kW)`` is stored as the ``C_out x (kH kW C_in)``
    matrix of ``weight_matrix``; the input is unfolded into columns in the
    same order, so ``out = W @ columns``. Inference only.
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
        n, _, height, width = x.shape
        k_h, k_w = self.kernel_size
        out_h, out_w = (
            (size + 2 * pad - dil * (k - 1) - 1) // stride + 1
            for size, pad, dil, k, stride in zip(
                (height, width),
                self.padding,
                self.dilation,
                self.kernel_size,
                self.stride,
                strict=True,
            )
        )
        columns = F.unfold(
            x, self.kernel_size, self.dilation, self.padding, self.stride
        )
        # (N, C_in kH kW, L) -> X^T with rows in (kH, kW, C_in) order, columns (N, L)
        xt = columns.view(n, self.in_channels, k_h * k_w, -1).permute(2, 1, 0, 3)
        out = self._product_transposed(xt.reshape(self.in_features, -1))
        if self.bias is not None:
            out = out + self.bias[:, None]
        return out.view(self.out_channels, n, out_h, out_w).transpose(0, 1)
