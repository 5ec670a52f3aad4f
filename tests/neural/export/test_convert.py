import math

import pytest
import torch
from torch import nn

import neural
from neural.export import (
    BlockSparseConv2d,
    BlockSparseLinear,
    ExportReport,
    export_block_sparse,
)
from neural.models import resnet18

REL_TOL = 1e-4  # the bar for exported vs dense pruned outputs


def relative_error(a, b):
    return float((a - b).abs().max() / b.abs().max())


def test_sparse_policy_exports_every_marked_layer(pruned_mlp):
    exported, report = export_block_sparse(pruned_mlp, policy="sparse")
    assert isinstance(report, ExportReport)
    assert [r.name for r in report.layers] == ["0", "2", "4"]
    assert all(isinstance(exported[i], BlockSparseLinear) for i in (0, 2, 4))
    assert report.n_sparse == 3
    for row in report.layers:
        assert row.density == pytest.approx(0.25)
        assert row.sparse_bytes < row.dense_bytes
        assert row.block == (8, 8)
    assert not exported.training
    x = torch.randn(40, 32)
    with torch.inference_mode():
        assert relative_error(exported(x), pruned_mlp(x)) < REL_TOL
    # the input model is a different object and still dense
    assert isinstance(pruned_mlp[0], nn.Linear)
    assert "export (sparse" in str(report)
    assert report.to_dict()["layers"][0]["speedup"] is None


def test_measure_policy_times_each_layer_and_obeys_min_speedup(pruned_mlp):
    _, report = export_block_sparse(pruned_mlp, batch_size=32, repeats=2)
    assert report.margin == 0.05
    assert str(report).startswith("export (measure, min speedup 1x, margin 5%)")
    for row in report.layers:
        assert row.input_shape == (32, row.weight_shape[1])
        assert row.dense_ms > 0 and row.sparse_ms > 0
        expected = "block-sparse" if row.speedup >= 1.05 else "dense"
        assert row.decision == expected
    # An unreachable bar keeps every layer dense, and says why.
    exported, report = export_block_sparse(pruned_mlp, min_speedup=1e9, repeats=1)
    assert report.n_sparse == 0
    assert all("would be" in r.reason for r in report.layers)
    assert isinstance(exported[0], nn.Linear)


def test_measure_policy_rounds_margin_and_batch_size(pruned_mlp):
    x = torch.randn(8, 32)
    _, report = export_block_sparse(
        pruned_mlp, example_inputs=x, batch_size=24, repeats=3, rounds=3
    )
    for row in report.layers:
        # the named batch size, not the example's
        assert row.input_shape == (24, row.weight_shape[1])
        assert len(row.ratios) == 3
        assert row.speedup == sorted(row.ratios)[1]
    # without batch_size, the example's own
    _, report = export_block_sparse(pruned_mlp, example_inputs=x, repeats=1)
    assert all(row.input_shape[0] == 8 for row in report.layers)
    # a speedup that clears min_speedup but not the margin keeps the layer dense
    _, report = export_block_sparse(
        pruned_mlp, min_speedup=1e-9, margin=1e15, repeats=1, rounds=1
    )
    assert report.n_sparse == 0
    assert all("within the margin" in row.reason for row in report.layers)


@pytest.mark.parametrize("policy", ["sparse", "measure"])
def test_export_and_exported_calls_leave_torch_threads_unchanged(pruned_mlp, policy):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        exported, _ = export_block_sparse(pruned_mlp, policy=policy, repeats=1)
        assert torch.get_num_threads() == 1
        with torch.inference_mode():
            exported(torch.randn(4, 32))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_layers_argument_accepts_a_mapping_and_the_pruning_report():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 16))
    pruner = neural.prune(
        model, "magnitude", sparsity=0.5, block=(8, 4), total_steps=1, min_blocks=8
    )
    pruner.step()
    model = pruner.finalize()
    report = pruner.report()
    for layers in (report, {"0": "8x4", "2": (8, 4)}):
        exported, export_report = export_block_sparse(
            model, layers=layers, policy="sparse"
        )
        # grid block (B_r, B_c) on the in x out matrix is (B_c, B_r) on the weight
        assert exported[0].block == (4, 8)
        assert [r.block for r in export_report.layers] == [(8, 4), (8, 4)]


def test_resnet_with_conv_layers_matches_dense():
    torch.manual_seed(0)
    model = resnet18(num_classes=16, width=16, small_input=True)
    pruner = neural.prune(model, "magnitude", sparsity=0.8, block=8, total_steps=1)
    pruner.step()
    model = pruner.finalize().eval()
    x = torch.randn(2, 3, 16, 16)
    exported, report = export_block_sparse(model, policy="sparse")
    assert report.n_sparse == len(report.layers) > 0
    assert any(isinstance(m, BlockSparseConv2d) for m in exported.modules())
    with torch.inference_mode():
        assert relative_error(exported(x), model(x)) < REL_TOL
    # the dense stem follows the block-sparse convs into channels-last memory;
    # the input model keeps its layout
    assert report.channels_last and "channels-last" in str(report)
    assert exported.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert not model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    # measuring convolutions needs their input shapes
    with pytest.raises(ValueError, match="example_inputs"):
        export_block_sparse(model)
    _, report = export_block_sparse(model, example_inputs=x, repeats=1)
    assert all(r.input_shape[0] == 2 for r in report.layers)


def test_ragged_layers_raise_or_stay_dense():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(390, 400), nn.ReLU(), nn.Linear(400, 1))
    pruner = neural.prune(
        model, "magnitude", sparsity=0.9, block=20, total_steps=1, layers=["0"]
    )
    pruner.step()
    model = pruner.finalize()
    with pytest.raises(
        ValueError, match=r"'0': block 20x20 does not divide .*390 x 400"
    ):
        export_block_sparse(model, policy="sparse")
    exported, report = export_block_sparse(model, policy="sparse", ragged="dense")
    assert isinstance(exported[0], nn.Linear)
    assert "ragged" in report.layers[0].reason
    assert math.isnan(report.layers[0].density)


def test_root_module_can_be_exported():
    linear = nn.Linear(16, 16)
    with torch.no_grad():
        linear.weight[:8] = 0
    exported, _ = export_block_sparse(linear, layers={"": 8}, policy="sparse")
    assert isinstance(exported, BlockSparseLinear)


def _snapshot(model):
    return {k: v.clone() for k, v in model.state_dict().items()}, [
        type(m) for m in model.modules()
    ]


def test_bad_input_leaves_the_model_untouched(pruned_mlp):
    before = _snapshot(pruned_mlp)

    # unfinalized
    model = nn.Sequential(nn.Linear(32, 32))
    neural.prune(model, "magnitude", sparsity=0.5, block=8, total_steps=1, min_blocks=1)
    with pytest.raises(ValueError, match="finalize"):
        export_block_sparse(model)
    # nothing marked and no layers given
    with pytest.raises(ValueError, match="no layer marked"):
        export_block_sparse(nn.Sequential(nn.Linear(8, 8)))
    with pytest.raises(ValueError, match="not in `model`"):
        export_block_sparse(pruned_mlp, layers={"nope": 8})
    with pytest.raises(TypeError, match="only nn.Linear and nn.Conv2d"):
        export_block_sparse(pruned_mlp, layers={"1": 8})
    with pytest.raises(TypeError, match="dtype torch.bfloat16"):
        export_block_sparse(
            nn.Sequential(nn.Linear(8, 8)).to(torch.bfloat16), layers={"0": 8}
        )
    with pytest.raises(TypeError, match="groups=1"):
        export_block_sparse(
            nn.Sequential(nn.Conv2d(8, 8, 3, groups=2)),
            layers={"0": 4},
            policy="sparse",
        )
    for bad in (
        {"policy": "fast"},
        {"min_speedup": 0},
        {"repeats": 0},
        {"rounds": 0},
        {"margin": -0.1},
        {"batch_size": 0},
        {"ragged": "pad"},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            export_block_sparse(pruned_mlp, **bad)
    # a failure on a later layer of an in-place export changes nothing either
    pruned_mlp[4].pruned_block_shape = (8, 6)
    with pytest.raises(ValueError, match="does not divide"):
        export_block_sparse(pruned_mlp, policy="sparse", inplace=True)
    del pruned_mlp[4].pruned_block_shape
    pruned_mlp[4].pruned_block_shape = (8, 8)

    after = _snapshot(pruned_mlp)
    assert before[1] == after[1]
    assert all(torch.equal(before[0][k], after[0][k]) for k in before[0])


def test_inplace_export_swaps_modules(pruned_mlp):
    exported, _ = export_block_sparse(pruned_mlp, policy="sparse", inplace=True)
    assert exported is pruned_mlp
    assert isinstance(pruned_mlp[2], BlockSparseLinear)


def test_report_renders_as_a_markdown_table(pruned_mlp):
    # issue 8: the rows of str(report), as Markdown for Jupyter
    _, report = export_block_sparse(pruned_mlp, policy="sparse")
    lines = report._repr_markdown_().splitlines()
    assert lines[0] == f"**{str(report).splitlines()[0]}**"
    assert lines[2] == (
        "| layer | shape | block | density | dense ms | sparse ms | speedup "
        "| decision |"
    )
    assert len(lines) == 4 + len(report.layers)
    assert lines[4] == (
        "| 0 | 64x32 | 8x8 | 0.250 | - | - | - | block-sparse: policy 'sparse' |"
    )
    _, measured = export_block_sparse(pruned_mlp, batch_size=8, repeats=1)
    row = measured._repr_markdown_().splitlines()[4].split(" | ")
    assert row[4] == f"{measured.layers[0].dense_ms:.3f}"
    assert row[6] == f"{measured.layers[0].speedup:.2f}x"
