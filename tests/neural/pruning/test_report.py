import json

import pytest
import torch
from torch import nn

import neural
from neural.pruning import LayerReport, PruningReport


def test_ragged_blocks_make_element_sparsity_differ_from_block_sparsity():
    # Criteo's first layer: 390 inputs, 400 outputs, 20 x 20 blocks; the last block
    # row is 10 x 20. Keep exactly the 20 ragged blocks plus 20 full ones.
    model = nn.Sequential(nn.Linear(390, 400))
    pruner = neural.prune(
        model,
        "sapp",
        sparsity=0.9,
        block=20,
        total_steps=2,
        timeline=neural.schedules.one_shot(2, finetune=0.5),
        attention_bounds=None,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.0),
    )
    masking = pruner.masks[0]
    with torch.no_grad():
        masking.logits[19, :] = 2.0  # the ragged row
        masking.logits[0, :] = 1.0
    pruner.step()
    report = pruner.report()
    row = report.layers[0]
    assert row.kept_blocks == 40 and row.block_sparsity == pytest.approx(0.9)
    kept_entries = 20 * 200 + 20 * 400
    assert row.element_sparsity == pytest.approx(1 - kept_entries / (390 * 400))
    assert report.block_sparsity == pytest.approx(0.9)


def test_totals_count_dense_layers_and_serialize():
    model = nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 2))
    pruner = neural.prune(
        model,
        "magnitude",
        sparsity=0.5,
        block=8,
        total_steps=2,
        min_blocks=64,
        timeline=neural.schedules.one_shot(2, finetune=1.0),
    )
    report = pruner.report()
    assert [r.status for r in report.layers] == [
        "pruned",
        "dense: smaller than the 8x8 block",
    ]
    assert report.element_sparsity == pytest.approx(0.5 * 4096 / (4096 + 128))
    record = json.loads(json.dumps(report.to_dict()))
    assert record["layers"][0]["kept_blocks"] == 32
    text = str(report)
    assert text.splitlines()[0] == "magnitude at step 0 (sparse)"
    assert text.splitlines()[4].startswith("total")
    # issue 15: the support summary follows the table (one sparse entry so far)
    assert text.splitlines()[-1].split() == ["0", "1", "0", "0", "-"]
    assert record["support"] == [
        {
            "layer": "0",
            "sparse_entries": 1,
            "swapped_in": 0,
            "swapped_out": 0,
            "first_jaccard_final": None,
        }
    ]


def test_dense_phase_reports_nothing_masked():
    model = nn.Sequential(nn.Linear(64, 64))
    pruner = neural.prune(
        model, "acdc", sparsity=0.5, block=8, total_steps=100, min_blocks=4
    )
    row = pruner.report().layers[0]
    assert pruner.phase.kind == "dense"
    assert row.kept_blocks == 64 and row.element_sparsity == 0.0


def test_markdown_table_renders_the_rows_of_str():
    # issue 8: in Jupyter the report renders as a Markdown table
    model = nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 2))
    pruner = neural.prune(
        model,
        "magnitude",
        sparsity=0.5,
        block=8,
        total_steps=2,
        min_blocks=64,
        timeline=neural.schedules.one_shot(2, finetune=1.0),
    )
    report = pruner.report()
    lines = report._repr_markdown_().splitlines()
    assert lines[0] == f"**{str(report).splitlines()[0]}**"
    assert lines[2].startswith("| layer | shape | block |")
    assert lines[3] == "|:---|:---|---:|---:|---:|---:|---:|:---|"
    assert lines[4] == "| 0 | 64x64 | 8x8 | 64 | 32 | 50.00% | 50.00% | pruned |"
    assert lines[5].endswith("| dense: smaller than the 8x8 block |")
    assert lines[6].startswith("| **total** |") and "**48.48%**" in lines[6]
    assert "48.48%" in str(report).splitlines()[4]
    assert lines[8].startswith("support changes")
    assert (
        lines[10]
        == "| layer | sparse entries | swapped in | swapped out | first~final Jaccard |"
    )
    assert lines[12] == "| 0 | 1 | 0 | 0 | - |"


def test_markdown_table_escapes_pipes():
    row = LayerReport("a|b", (4, 4), None, 0, 0, 0.0, 0.0, 0.0, 16, "dense: x")
    text = PruningReport("magnitude", 0, "dense", (row,))._repr_markdown_()
    assert "| a\\|b |" in text
