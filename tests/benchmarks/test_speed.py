import math

import pytest
import torch
from torch import nn

import neural
from benchmarks.speed import (
    PrunedLayerSpeed,
    amdahl_limit,
    block_sparse_linear,
    layer_speed,
    model_speed,
    pruned_layer_speeds,
)
from neural.export import BlockSparseLinear, export_block_sparse


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


def test_layer_speed_reports_the_exports_error():
    linear = block_sparse_linear(64, 64, 8, 0.5)
    row = layer_speed(linear, 8, 0.5, 16, repeats=1, rounds=1)
    assert 0 <= row.max_relative_error < 1e-5


def test_amdahl_limit_counts_only_the_pruned_share():
    # 60 of 100 ms in layers of density 0.1 and 0.5: the ideal saves
    # 40 * 0.9 + 20 * 0.5 = 46 ms.
    rows = [
        PrunedLayerSpeed("a", 8, (8, 4), 0.1, 40.0, 10.0),
        PrunedLayerSpeed("b", 8, (8, 4), 0.5, 20.0, None),
    ]
    assert amdahl_limit(100.0, rows) == pytest.approx(100 / 54)
    assert amdahl_limit(100.0, []) == 1.0
    # layers timed slower than the whole model (noise): their share caps at 1
    assert amdahl_limit(50.0, rows) == pytest.approx(60 / 14)
    assert rows[1].speedup is None
    assert rows[0].to_dict()["ideal"] == pytest.approx(10.0)


def test_pruned_layers_and_model_speed_of_a_convolutional_model():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1)
    )
    pruner = neural.prune(
        model,
        "magnitude",
        sparsity=0.75,
        block=8,
        total_steps=1,
        layers=["2"],
        min_blocks=1,
    )
    pruner.step()
    model = pruner.finalize().eval()
    exported, report = export_block_sparse(model, policy="sparse")
    x = torch.randn(2, 3, 8, 8)
    densities = {r.name: r.density for r in report.layers}
    rows = pruned_layer_speeds(model, exported, x, densities, repeats=1, rounds=1)
    assert [r.layer for r in rows] == ["2"]
    assert rows[0].input_shape == (2, 16, 8, 8)
    assert rows[0].sparse_ms > 0 and rows[0].density == 0.25
    result = model_speed("convs", model, exported, x, repeats=1, rounds=1, layers=rows)
    assert result.max_relative_error < 1e-5
    assert result.dense_channels_last_ms > 0
    assert result.amdahl_limit == amdahl_limit(result.dense_ms, rows) > 1
    assert "speedup_vs_channels_last" in result.to_dict()
