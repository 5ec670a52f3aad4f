import pytest
import torch
from torch import nn

from neural.export._kernels import SMALL_BATCH, bsr_matmul_transposed
from neural.export.modules import (
    BlockSparseConv2d,
    BlockSparseLinear,
    dense_to_bsr,
    weight_matrix,
)

REL_TOL = 1e-5  # float32 products summed in another order than the dense GEMM


def relative_error(a, b):
    return float((a - b).abs().max() / b.abs().max())


def sparse_matrix(n_out, n_in, block, keep, dtype=torch.float32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    b_out, b_in = block
    mask = torch.rand(n_out // b_out, n_in // b_in, generator=generator) < keep
    mask = mask.repeat_interleave(b_out, 0).repeat_interleave(b_in, 1)
    return torch.randn(n_out, n_in, generator=generator, dtype=dtype) * mask


@pytest.mark.parametrize("block", [(8, 8), (4, 4), (5, 5), (10, 10), (3, 7), (16, 2)])
@pytest.mark.parametrize("width", [1, SMALL_BATCH, 300])
def test_kernel_matches_dense_product(block, width):
    # Block sides that are and are not multiples of the 4x4 register tile.
    matrix = sparse_matrix(block[0] * 6, block[1] * 5, block, keep=0.4)
    crow, col, values = dense_to_bsr(matrix, block)
    xt = torch.randn(matrix.shape[1], width)
    out = bsr_matmul_transposed(crow, col, values, xt)
    assert relative_error(out, matrix @ xt) < REL_TOL


def test_kernel_float64_and_empty_rows():
    matrix = sparse_matrix(32, 24, (8, 8), keep=0.3, dtype=torch.float64)
    matrix[:8] = 0  # a block row with no stored block
    crow, col, values = dense_to_bsr(matrix, (8, 8))
    assert crow[1] == 0
    xt = torch.randn(24, 40, dtype=torch.float64)
    out = bsr_matmul_transposed(crow, col, values, xt)
    assert out.dtype == torch.float64
    assert torch.allclose(out, matrix @ xt, rtol=1e-12, atol=1e-12)


def test_dense_to_bsr_round_trips_through_torch_bsr():
    matrix = sparse_matrix(24, 40, (8, 4), keep=0.5)
    crow, col, values = dense_to_bsr(matrix, (8, 4))
    expected = matrix.to_sparse_bsr((8, 4))
    assert torch.equal(crow, expected.crow_indices())
    assert torch.equal(col, expected.col_indices())
    assert torch.equal(values, expected.values())


@pytest.mark.parametrize("rows", [1, 3, SMALL_BATCH, 100])
def test_linear_matches_dense_on_both_paths(rows):
    linear = nn.Linear(48, 32)
    with torch.no_grad():
        linear.weight.copy_(sparse_matrix(32, 48, (8, 8), keep=0.3))
    sparse = BlockSparseLinear.from_linear(linear, (8, 8))
    x = torch.randn(2, rows, 48)  # leading axes are kept
    with torch.inference_mode():
        assert relative_error(sparse(x), linear(x)) < REL_TOL
        assert sparse(x).shape == (2, rows, 32)


def test_linear_storage_counts_only_kept_blocks():
    linear = nn.Linear(64, 64, bias=False)
    with torch.no_grad():
        linear.weight.copy_(sparse_matrix(64, 64, (8, 8), keep=0.25, seed=3))
    sparse = BlockSparseLinear.from_linear(linear, (8, 8))
    kept = int(linear.weight.reshape(8, 8, 8, 8).ne(0).any(3).any(1).sum())
    assert sparse.nnz_blocks == kept
    assert sparse.density == kept / 64
    assert sparse.storage_bytes() == kept * 64 * 4 + (9 + kept) * 8
    assert torch.equal(sparse.dense_matrix(), linear.weight.detach())


def test_weight_matrix_orders_conv_columns_as_the_block_grid():
    conv = nn.Conv2d(4, 6, 3)
    matrix = weight_matrix(conv)
    assert matrix.shape == (6, 36)
    # column (h, w, c) of the matrix is kernel entry [:, c, h, w]
    assert torch.equal(matrix[:, (1 * 3 + 2) * 4 + 3], conv.weight[:, 3, 1, 2].detach())


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"stride": 2, "padding": 1},
        {"padding": 2, "dilation": 2},
        {"stride": (2, 1), "padding": (1, 0), "bias": False},
    ],
)
def test_conv_matches_dense(make_sparse_conv, options):
    conv = make_sparse_conv(16, 24, 3, (8, 8), **options)
    sparse = BlockSparseConv2d.from_conv(conv, (8, 8))
    x = torch.randn(3, 16, 11, 9)
    with torch.inference_mode():
        assert relative_error(sparse(x), conv(x)) < REL_TOL
    assert sparse.density < 1


def test_conv_one_by_one_and_bad_input(make_sparse_conv):
    conv = make_sparse_conv(32, 16, 1, (8, 8))
    sparse = BlockSparseConv2d.from_conv(conv, (8, 8))
    with torch.inference_mode():
        x = torch.randn(1, 32, 2, 2)  # 4 columns: torch's BSR path
        assert relative_error(sparse(x), conv(x)) < REL_TOL
        with pytest.raises(ValueError, match=r"\(N, 32, H, W\)"):
            sparse(torch.randn(1, 16, 2, 2))


def test_inference_only():
    sparse = BlockSparseLinear.from_linear(nn.Linear(16, 8), (8, 8))
    x = torch.randn(32, 16)
    sparse.train()
    with pytest.raises(RuntimeError, match="inference-only"):
        sparse(x)
    sparse.eval()
    with pytest.raises(RuntimeError, match="no autograd"):
        sparse(x.requires_grad_())
    with pytest.raises(TypeError, match="dtype"):
        sparse(torch.randn(32, 16, dtype=torch.float64))
    with pytest.raises(ValueError, match="16 features"):
        sparse(torch.randn(32, 15))
