import pytest
import torch
from torch import nn

import neural
from neural.export import export_block_sparse, load_exported, save_exported
from neural.export.serialize import FORMAT
from neural.models import resnet18


def test_round_trip_restores_outputs_and_is_smaller(tmp_path, pruned_mlp):
    exported, _ = export_block_sparse(pruned_mlp, policy="sparse")
    path = tmp_path / "model.pt"
    size = save_exported(exported, path)
    assert size == path.stat().st_size
    dense_path = tmp_path / "dense.pt"
    torch.save(pruned_mlp.state_dict(), dense_path)
    assert size < dense_path.stat().st_size

    skeleton = nn.Sequential(
        nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32)
    )
    loaded = load_exported(skeleton, path)
    x = torch.randn(20, 32)
    with torch.inference_mode():
        assert torch.equal(loaded(x), exported(x))
    assert not loaded.training
    assert torch.load(path, weights_only=True)["format"] == FORMAT


def test_round_trip_with_convolutions(tmp_path):
    torch.manual_seed(0)
    model = resnet18(num_classes=8, width=16, small_input=True)
    pruner = neural.prune(
        model, "sapp", sparsity=0.75, block=8, total_steps=2, timeline="one_shot"
    )
    pruner.step()
    pruner.step()
    exported, _ = export_block_sparse(pruner.finalize(), policy="sparse")
    save_exported(exported, tmp_path / "r.pt")
    loaded = load_exported(
        resnet18(num_classes=8, width=16, small_input=True), tmp_path / "r.pt"
    )
    x = torch.randn(2, 3, 16, 16)
    with torch.inference_mode():
        assert torch.equal(loaded(x), exported.eval()(x))
    # channels-last, as the export left it
    assert loaded.conv1.weight.is_contiguous(memory_format=torch.channels_last)


def test_save_is_atomic(tmp_path, pruned_mlp, monkeypatch):
    exported, _ = export_block_sparse(pruned_mlp, policy="sparse")
    path = tmp_path / "model.pt"
    save_exported(exported, path)
    before = path.read_bytes()

    def crash(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_exported(exported, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_load_refuses_foreign_or_mismatched_files(tmp_path, pruned_mlp):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a sapp-block-sparse"):
        load_exported(nn.Linear(2, 2), tmp_path / "other.pt")
    exported, _ = export_block_sparse(pruned_mlp, policy="sparse")
    save_exported(exported, tmp_path / "m.pt")
    with pytest.raises(ValueError, match="not in `model`"):
        load_exported(nn.Sequential(nn.Linear(32, 64)), tmp_path / "m.pt")
    wrong = nn.Sequential(
        nn.Linear(32, 64),
        nn.ReLU(),
        nn.Linear(64, 64),
        nn.ReLU(),
        nn.Linear(64, 32),
        nn.Linear(2, 2),
    )
    with pytest.raises(ValueError, match="does not match"):
        load_exported(wrong, tmp_path / "m.pt")
