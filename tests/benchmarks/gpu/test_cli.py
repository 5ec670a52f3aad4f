"""``sapp bench gpu``: the whole check at tiny sizes on the CPU, and its refusals.

The tiny run goes through every stage the GPU check runs (training steps of
ResNet-50 and the Criteo DNN with every pruner, ``sapp train`` under
``torchrun`` killed and resumed, the export), so the check cannot rot between
the rare sessions that have a GPU (issue 20).
"""

import json

import pytest
import torch

from neural.cli import main
from neural.pruning import METHODS


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu")
    code = main(["bench", "gpu", "--tiny", "--device", "cpu", "--out", str(out)])
    return code, out, json.loads((out / "gpu_tiny.json").read_text())


def test_tiny_run_passes_every_stage(tiny):
    code, out, record = tiny
    assert code == 0 == record["exit_status"]
    assert {name: e["status"] for name, e in record["stages"].items()} == {
        "resnet50": "ok",
        "torchrun_resume": "ok",
        "criteo": "ok",
        "export": "ok",
    }
    assert sorted(p.name for p in out.iterdir()) == ["gpu_tiny.json", "gpu_tiny.md"]
    assert record["environment"]["device"] == "cpu"
    assert record["settings"]["tiny"] is True


@pytest.mark.parametrize("model", ["resnet50", "criteo"])
def test_every_method_trained_and_was_timed(tiny, model):
    result = tiny[2]["stages"][model]["result"]
    assert result["precision"] == "bf16 autocast"  # torch has CPU autocast
    rows = {r["method"]: r for r in result["rows"]}
    assert list(rows) == ["dense", *METHODS]
    for method, row in rows.items():
        assert row["status"] == "ok" and row["steps_timed"] == result["steps"] - 2
        assert row["step_ms"] > 0 and row["ratio"] > 0
        assert row["syncs_in_pruner_step"] is None  # nothing to count on a CPU
        if method != "dense":
            assert row["block_sparsity"] == pytest.approx(0.9, abs=0.01)
    assert rows["dense"]["ratio"] == 1.0


def test_resume_under_torchrun_is_bit_identical(tiny):
    result = tiny[2]["stages"]["torchrun_resume"]["result"]
    assert result["backend"] == "gloo"
    assert {r["backend"] for r in result["ranks"].values()} == {"gloo"}
    assert result["killed_exit_status"] != 0
    assert result["resumed_from_step"] == 4
    assert result["bit_identical"] and result["max_abs_diff"] == 0.0
    assert result["train_losses_equal"]


def test_export_was_timed_and_bars_reported(tiny):
    record = tiny[2]
    export = record["stages"]["export"]["result"]
    (linear,) = export["linear"]
    assert linear["max_relative_error"] < 1e-5 and linear["sparse_ms"] > 0
    assert export["resnet50"]["n_pruned"] > 0
    assert export["resnet50"]["model"]["max_relative_error"] < 1e-4
    statuses = [b["status"] for b in record["bars"]]
    assert statuses == ["n/a (--tiny: not a measurement)", "n/a (CPU)", "met"]
    text = (tiny[1] / "gpu_tiny.md").read_text()
    assert "## Bars" in text and "max abs diff 0, backend gloo | met" in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible")
def test_without_a_gpu_the_full_check_refuses_in_one_line(tmp_path, capsys):
    assert main(["bench", "gpu", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no CUDA GPU is visible" in err
    assert main(["bench", "gpu", "--device", "cuda", "--out", str(tmp_path)]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
