import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neural.blocks import BlockGrid, parse_block


def _paper_matrix(weight):
    """The paper's (fan_in x fan_out) matrix, built the slow obvious way."""
    w = weight.numpy()
    if w.ndim == 2:
        return w.T
    c_out, c_in = w.shape[:2]
    # Kernel H x W x C_in x C_out reshaped to (H*W*C_in) x C_out (paper Section 4).
    return np.moveaxis(w, (0, 1), (-1, -2)).reshape(-1, c_out)


def _brute_block_norms(weight, block):
    matrix = _paper_matrix(weight)
    rows, cols = block
    n_r, n_c = math.ceil(matrix.shape[0] / rows), math.ceil(matrix.shape[1] / cols)
    out = np.zeros((n_r, n_c))
    for i in range(n_r):
        for j in range(n_c):
            tile = matrix[i * rows : (i + 1) * rows, j * cols : (j + 1) * cols]
            out[i, j] = np.linalg.norm(tile)
    return out


shapes = st.one_of(
    st.tuples(st.integers(1, 12), st.integers(1, 12)),
    st.tuples(
        st.integers(1, 6), st.integers(1, 5), st.integers(1, 3), st.integers(1, 3)
    ),
)


@settings(max_examples=60, deadline=None)
@given(shapes, st.data())
def test_block_norms_match_the_paper_reshape(shape, data):
    fan_in, fan_out = math.prod(shape[1:]), shape[0]
    block = (data.draw(st.integers(1, fan_in)), data.draw(st.integers(1, fan_out)))
    weight = torch.randn(shape, dtype=torch.float64)
    grid = BlockGrid(shape, block)
    np.testing.assert_allclose(
        grid.block_norms(weight).numpy(), _brute_block_norms(weight, block), rtol=1e-12
    )
    assert int(grid.block_sizes().sum()) == weight.numel()


@settings(max_examples=40, deadline=None)
@given(shapes, st.data())
def test_scale_multiplies_each_block_by_its_value(shape, data):
    fan_in, fan_out = math.prod(shape[1:]), shape[0]
    block = (data.draw(st.integers(1, fan_in)), data.draw(st.integers(1, fan_out)))
    grid = BlockGrid(shape, block)
    values = torch.randn(grid.grid_shape, dtype=torch.float64)
    weight = torch.randn(shape, dtype=torch.float64)
    scaled = grid.scale(weight, values)
    assert scaled.shape == weight.shape
    # Dividing back block by block recovers the weight; expand agrees with scale.
    np.testing.assert_allclose(
        scaled.numpy(), (weight * grid.expand(values)).numpy(), rtol=1e-12
    )
    norms = grid.block_norms(scaled)
    np.testing.assert_allclose(
        norms.numpy(), (grid.block_norms(weight) * values.abs()).numpy(), rtol=1e-10
    )


def test_criteo_ragged_edge():
    grid = BlockGrid((400, 390), "20x20")
    assert grid.grid_shape == (20, 20) and grid.n_blocks == 400
    sizes = grid.block_sizes()
    assert sizes[:19].eq(400).all() and sizes[19].eq(200).all()


def test_unstructured_blocks_are_entries():
    weight = torch.randn(5, 3)
    grid = BlockGrid(weight.shape, 1)
    assert grid.n_blocks == 15
    torch.testing.assert_close(grid.block_norms(weight), weight.abs().t())


def test_conv_block_rows_span_kernel_positions_then_channels():
    # Row r of the paper's matrix is (kernel position) * C_in + channel: with
    # B_r = C_in, block row i is exactly kernel position i.
    weight = torch.zeros(4, 2, 3, 3)
    weight[:, :, 1, 2] = 1.0  # kernel position 1 * 3 + 2 = 5
    grid = BlockGrid(weight.shape, (2, 4))
    norms = grid.block_norms(weight)
    assert norms.shape == (9, 1)
    assert torch.nonzero(norms[:, 0]).flatten().tolist() == [5]


def test_gradients_flow_through_scale_to_both_arguments():
    grid = BlockGrid((6, 5), 2)
    weight = torch.randn(6, 5, requires_grad=True)
    values = torch.randn(grid.grid_shape, requires_grad=True)
    grid.scale(weight, values).sum().backward()
    torch.testing.assert_close(values.grad, grid.block_sum(weight.detach()))
    torch.testing.assert_close(weight.grad, grid.expand(values.detach()))


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (8, (8, 8)),
        ((4, 2), (4, 2)),
        ([3, 5], (3, 5)),
        ("16x8", (16, 8)),
        (" 2X2 ", (2, 2)),
    ],
)
def test_parse_block_forms(block, expected):
    assert parse_block(block) == expected


@pytest.mark.parametrize(
    ("block", "error"),
    [
        (0, ValueError),
        (-2, ValueError),
        ((2, 0), ValueError),
        ("8by8", ValueError),
        (2.0, TypeError),
        (True, TypeError),
        ((2, 2.5), TypeError),
        ((1, 2, 3), TypeError),
    ],
)
def test_parse_block_rejects(block, error):
    with pytest.raises(error, match="`block`"):
        parse_block(block)


def test_block_larger_than_the_layer_is_rejected():
    with pytest.raises(ValueError, match=r"`block` 16x16 must fit in the 8x400"):
        BlockGrid((400, 8), 16)
