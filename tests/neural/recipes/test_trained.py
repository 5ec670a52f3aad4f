import pytest
import torch

from neural.export import load_exported
from neural.recipes import build_model, evaluate_checkpoint, export_checkpoint
from neural.recipes.run import RECIPE_FILE
from neural.recipes.trained import load_trained_model, locate_run
from neural.train import CheckpointError


def test_eval_matches_the_runs_final_evaluation(mnist_run):
    plan, result = mnist_run
    for target in (plan.run_dir, plan.run_dir / "model.pt"):
        evaluation = evaluate_checkpoint(target)
        assert evaluation.step == 24
        assert evaluation.metrics == pytest.approx(result.final_eval)
    assert "accuracy" in str(evaluation)


def test_eval_of_a_training_checkpoint_rebuilds_the_pruner(mnist_run):
    plan, _ = mnist_run
    checkpoint = plan.run_dir / "ckpt-00000010.pt"
    evaluation = evaluate_checkpoint(checkpoint)
    assert evaluation.step == 10 and evaluation.checkpoint == str(checkpoint)
    model, step = load_trained_model(locate_run(checkpoint), plan.recipe, finalize=True)
    assert step == 10 and not hasattr(model.layers[0], "parametrizations")
    assert model.layers[0].pruned_block_shape == (8, 8)


def test_export_writes_a_block_sparse_file_that_loads(mnist_run, tmp_path):
    plan, _ = mnist_run
    out = tmp_path / "model.bsr"
    exported = export_checkpoint(plan.run_dir, out, policy="sparse")
    assert exported.exported_bytes == out.stat().st_size
    assert exported.exported_bytes < exported.dense_bytes
    assert exported.report.n_sparse == 2
    assert exported.max_abs_error < 1e-4
    model = load_exported(build_model(plan.recipe), out)
    x = torch.randn(3, 40)
    dense, _ = load_trained_model(locate_run(plan.run_dir), plan.recipe, finalize=True)
    torch.testing.assert_close(model(x), dense(x), atol=1e-4, rtol=1e-4)
    assert "exported" in str(exported) and exported.to_dict()["report"]["layers"]


def test_missing_or_foreign_checkpoints_are_refused(mnist_run, tmp_path):
    plan, _ = mnist_run
    with pytest.raises(FileNotFoundError, match="does not exist"):
        evaluate_checkpoint(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="neither model.pt nor a checkpoint"):
        evaluate_checkpoint(tmp_path / "empty")
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "model.pt").write_bytes((plan.run_dir / "model.pt").read_bytes())
    with pytest.raises(FileNotFoundError, match="holds no recipe.toml"):
        export_checkpoint(stray, tmp_path / "x.pt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_checkpoint(plan.run_dir, tmp_path / "no" / "x.pt")
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / RECIPE_FILE).write_text((plan.run_dir / RECIPE_FILE).read_text())
    (copy / "model.pt").write_bytes(b"garbage")
    (copy / "model.pt.sha256").write_text("0" * 64 + "  model.pt\n")
    with pytest.raises(CheckpointError, match="corrupt"):
        evaluate_checkpoint(copy)
    assert not (tmp_path / "x.pt").exists()
