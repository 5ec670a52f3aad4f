import math

import torch

from benchmarks.speed import block_sparse_linear, layer_speed, model_speed
from neural.export import BlockSparseLinear


def test_block_sparse_linear_keeps_the_pruners_count():
    linear = block_sparse_linear(64, 32, 8, 0.9, seed=1)
    blocks = linear.weight.reshape(4, 8, 8, 8).ne(0).any(3).any(1)
    assert int(blocks.sum()) == 32 - math.floor(0.9 * 32)
    assert linear.pruned_block_shape == (8, 8)


def test_layer_and_model_speed_rows():
    linear = block_sparse_linear(64, 64, 8, 0.75)
    row = layer_speed(linear, 8, 0.75, 32, repeats=2)
    record = row.to_dict()
    assert record["ideal"] == 4.0
    assert row.speedup == row.dense_ms / row.sapp_ms
    assert record["vs_torch_best"] > 0
    sparse = BlockSparseLinear.from_linear(linear, (8, 8))
    result = model_speed("one layer", linear, sparse, torch.randn(32, 64), repeats=2)
    assert result.max_relative_error < 1e-5
    assert result.to_dict()["dense_rows_per_s"] > 0
