import copy

import pytest
import torch
from torch import nn

from neural.export import _bsr
from neural.export._kernels import conv_channels_last, linear, pack_blocks
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


@pytest.fixture(params=_bsr.supported_isas())
def isa(request):
    """Run a test once per instruction set this CPU supports, then restore."""
    best = _bsr.isa()
    _bsr.set_isa(request.param)
    yield request.param
    _bsr.set_isa(best)


@pytest.fixture
def two_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


# Heights that fill one or two vector chunks exactly or partly, several chunks
# (48, 64), widths below, at and above the 8 channels of a panel group.
BLOCKS = [(8, 8), (4, 4), (5, 5), (10, 10), (3, 7), (16, 2), (16, 16), (24, 12)]
BLOCKS += [(32, 32), (48, 8), (64, 9), (1, 1)]


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("rows", [1, 3, 17, 300])
def test_kernel_matches_dense_product(isa, block, rows):
    matrix = sparse_matrix(block[0] * 6, block[1] * 5, block, keep=0.4)
    bias = torch.randn(matrix.shape[0])
    packed = pack_blocks(*dense_to_bsr(matrix, block), bias)
    x = torch.randn(rows, matrix.shape[1])
    assert relative_error(linear(x, packed), x @ matrix.T + bias) < REL_TOL


def test_kernel_is_the_same_on_any_thread_count(two_threads):
    # Threads split positions (200 rows) or block rows (8 rows), never one
    # output's sum; both products are large enough to be given two threads.
    matrix = sparse_matrix(512, 512, (8, 8), keep=0.3)
    packed = pack_blocks(*dense_to_bsr(matrix, (8, 8)), None)
    for rows in (8, 200):
        x = torch.randn(rows, 512)
        out = linear(x, packed)
        torch.set_num_threads(1)
        assert torch.equal(out, linear(x, packed))
        torch.set_num_threads(2)


def test_kernel_empty_rows_and_no_block():
    matrix = sparse_matrix(32, 24, (8, 8), keep=0.3)
    matrix[:8] = 0  # a block row with no stored block gives its bias
    bias = torch.randn(32)
    crow, col, values = dense_to_bsr(matrix, (8, 8))
    assert crow[1] == 0
    x = torch.randn(40, 24)
    out = linear(x, pack_blocks(crow, col, values, bias))
    assert relative_error(out, x @ matrix.T + bias) < REL_TOL
    assert torch.equal(out[:, :8], bias[:8].expand(40, 8))
    empty = pack_blocks(*dense_to_bsr(torch.zeros(16, 24), (8, 8)), bias[:16])
    assert torch.equal(linear(x, empty), bias[:16].expand(40, 16))


@pytest.mark.parametrize(
    "geometry",
    [
        # kernel, stride, padding, dilation
        ((3, 3), (1, 1), (1, 1), (1, 1)),
        ((3, 3), (2, 2), (1, 1), (1, 1)),
        ((1, 1), (1, 1), (0, 0), (1, 1)),
        ((1, 1), (2, 2), (0, 0), (1, 1)),
        ((3, 2), (2, 1), (0, 1), (2, 1)),
    ],
)
def test_channels_last_convolution_matches_torch(isa, geometry):
    kernel, stride, padding, dilation = geometry
    torch.manual_seed(0)
    conv = nn.Conv2d(16, 24, kernel, stride, padding, dilation)
    matrix = weight_matrix(conv) * (
        sparse_matrix(24, conv.weight[0].numel(), (8, 8), 0.4) != 0
    )
    packed = pack_blocks(*dense_to_bsr(matrix, (8, 8)), conv.bias.detach())
    with torch.no_grad():
        conv.weight.copy_(matrix.view(24, *kernel, 16).permute(0, 3, 1, 2))
        x = torch.randn(3, 16, 11, 9)
        expected = conv(x).permute(0, 2, 3, 1)
    out = conv_channels_last(x.permute(0, 2, 3, 1).contiguous(), packed, *geometry)
    assert out.shape == expected.shape
    assert relative_error(out, expected) < REL_TOL


def test_dense_to_bsr_round_trips_through_torch_bsr():
    matrix = sparse_matrix(24, 40, (8, 4), keep=0.5)
    crow, col, values = dense_to_bsr(matrix, (8, 4))
    expected = matrix.to_sparse_bsr((8, 4))
    assert torch.equal(crow, expected.crow_indices())
    assert torch.equal(col, expected.col_indices())
    assert torch.equal(values, expected.values())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("rows", [1, 3, 100])
def test_linear_matches_dense_on_both_paths(rows, dtype):
    # float32: the compiled kernel; float64: torch's BSR product
    linear = nn.Linear(48, 32, dtype=dtype)
    with torch.no_grad():
        linear.weight.copy_(sparse_matrix(32, 48, (8, 8), keep=0.3, dtype=dtype))
    sparse = BlockSparseLinear.from_linear(linear, (8, 8))
    x = torch.randn(2, rows, 48, dtype=dtype)  # leading axes are kept
    with torch.inference_mode():
        assert relative_error(sparse(x), linear(x)) < REL_TOL
        assert sparse(x).shape == (2, rows, 32)
        assert sparse(x).dtype == dtype


def test_packed_weight_follows_in_place_changes():
    linear = nn.Linear(16, 16)
    with torch.no_grad():
        linear.weight.copy_(sparse_matrix(16, 16, (8, 8), keep=0.5, seed=1))
    sparse = BlockSparseLinear.from_linear(linear, (8, 8))
    x = torch.randn(4, 16)
    with torch.inference_mode():
        before = sparse(x)
        sparse.values.mul_(2)  # e.g. load_state_dict copies into the buffers
        sparse.bias.zero_()
        assert relative_error(sparse(x), 2 * (before - linear.bias)) < REL_TOL


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
        out = sparse(x)
        assert relative_error(out, conv(x)) < REL_TOL
        # channels-last output; a channels-last input gives the same result
        assert out.is_contiguous(memory_format=torch.channels_last)
        x_last = x.contiguous(memory_format=torch.channels_last)
        assert torch.equal(sparse(x_last), out)
    assert sparse.density < 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_conv_whose_blocks_straddle_kernel_positions(make_sparse_conv, dtype):
    # C_in = 4 < b_in = 8: each block spans two kernel positions (unfolded
    # path); in float64 torch's BSR product.
    conv = make_sparse_conv(4, 16, 2, (8, 8), keep=0.5, padding=1).to(dtype)
    sparse = BlockSparseConv2d.from_conv(conv, (8, 8))
    x = torch.randn(2, 4, 7, 6, dtype=dtype)
    with torch.inference_mode():
        assert relative_error(sparse(x), conv(x)) < REL_TOL
        assert sparse(x).dtype == dtype


def test_conv_one_by_one_and_bad_input(make_sparse_conv):
    conv = make_sparse_conv(32, 16, 1, (8, 8))
    sparse = BlockSparseConv2d.from_conv(conv, (8, 8))
    with torch.inference_mode():
        x = torch.randn(1, 32, 2, 2)
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


def test_copies_and_pickles_rebuild_the_packed_weight(tmp_path):
    linear = nn.Linear(16, 16)
    sparse = BlockSparseLinear.from_linear(linear, (8, 8))
    x = torch.randn(3, 16)
    with torch.inference_mode():
        expected = sparse(x)  # builds the cache
        twin = copy.deepcopy(sparse)
        assert twin._packed is None
        del sparse
        assert torch.equal(twin(x), expected)
        torch.save(twin, tmp_path / "m.pt")
        loaded = torch.load(tmp_path / "m.pt", weights_only=False)
        assert loaded._packed is None
        assert torch.equal(loaded(x), expected)


def test_empty_batch():
    sparse = BlockSparseLinear.from_linear(nn.Linear(16, 8), (8, 8))
    with torch.inference_mode():
        assert sparse(torch.randn(0, 16)).shape == (0, 8)
