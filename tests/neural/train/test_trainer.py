import pytest
import torch
from torch.utils.data import Dataset, TensorDataset

import neural
from neural.train import Trainer, TrainResult, load_checkpoint, read_metrics, train
from neural.train.checkpoint import CheckpointWarning

from .conftest import (
    NoisyData,
    make_config,
    make_data,
    make_model,
    pruner_factory,
    resume_run,
    same_state,
)


class Stop(Exception):
    """A crash in the middle of a run (raised by a callback)."""


def _stop_at(step):
    def callback(current):
        if current == step:
            raise Stop

    return callback


def _losses(run_dir, split="train"):
    return [
        (r["step"], r["loss"]) for r in read_metrics(run_dir) if r["split"] == split
    ]


def test_a_run_trains_logs_checkpoints_and_evaluates(tmp_path):
    steps = []
    config = make_config(
        run_dir=str(tmp_path), total_steps=12, checkpoint_every=5, eval_every=6
    )
    result = train(
        make_model(),
        make_data(),
        config,
        eval_data=make_data(32, seed=1),
        callbacks=[steps.append],
    )
    assert isinstance(result, TrainResult)
    assert steps == list(range(1, 13))
    assert result.steps == 12 and result.epochs == 2.0
    assert [s for s, _ in _losses(tmp_path)] == [4, 8, 12]
    assert [s for s, _ in _losses(tmp_path, "eval")] == [6, 12]
    assert [s for s, _ in _losses(tmp_path, "final")] == [12]
    assert sorted(p.name for p in tmp_path.glob("ckpt-*.pt")) == [
        "ckpt-00000005.pt",
        "ckpt-00000010.pt",
        "ckpt-00000012.pt",
    ]
    assert (tmp_path / "latest").read_text().strip() == "ckpt-00000012.pt"
    assert result.checkpoint == str(tmp_path / "ckpt-00000012.pt")
    saved = load_checkpoint(result.model_path)["model"]
    assert same_state(saved, result.model.state_dict())
    state = load_checkpoint(result.checkpoint)
    assert state["position"] == {
        **state["position"],
        "step": 12,
        "epoch": 2,
        "batch": 0,
    }
    assert state["config"]["total_steps"] == 12 and state["pruner"] is None
    assert (tmp_path / "metrics.csv").read_text().startswith("step,epoch,split,loss")
    assert set(result.to_dict()) >= {"steps", "final_eval", "report", "model_path"}


def test_training_lowers_the_loss():
    config = make_config(total_steps=60, log_every=10, lr=0.1, momentum=0.9)
    data = make_data(64)
    before = neural.train.evaluate(
        make_model(), data, loss="cross_entropy", batch_size=64
    )
    result = train(make_model(), data, config, eval_data=data)
    assert result.final_eval["loss"] < 0.8 * before["loss"]


@pytest.mark.parametrize("method", sorted(neural.METHODS))
def test_resume_after_a_crash_is_bit_identical(tmp_path, method):
    """Crash inside the sparsify phase; resume from step 15 (issue 5)."""

    def run(run_dir, resume=False, callbacks=()):
        return resume_run(
            run_dir,
            resume=resume,
            callbacks=callbacks,
            method=method,
            deterministic=False,
        )

    reference = run(tmp_path / "reference")
    with pytest.raises(Stop):
        run(tmp_path / "crashed", callbacks=[_stop_at(18)])
    resumed = run(tmp_path / "crashed", resume=True)
    assert resumed.resumed_from == str(tmp_path / "crashed" / "ckpt-00000015.pt")
    assert same_state(reference.model.state_dict(), resumed.model.state_dict())
    for split in ("train", "eval", "final"):
        assert _losses(tmp_path / "crashed", split) == _losses(
            tmp_path / "reference", split
        )
    assert str(resumed.report) == str(reference.report)
    # issue 15: the support history crosses the checkpoint
    support = [
        (p / "support.csv").read_text()
        for p in (tmp_path / "crashed", tmp_path / "reference")
    ]
    assert support[0] == support[1] and len(support[0].splitlines()) > 1


def test_resume_of_a_finished_run_only_finalizes(tmp_path):
    config = make_config(run_dir=str(tmp_path), checkpoint_every=4)
    first = train(
        make_model(),
        make_data(),
        config,
        pruner_factory=pruner_factory(timeline="one_shot"),
    )
    again = train(
        make_model(),
        make_data(),
        make_config(run_dir=str(tmp_path), checkpoint_every=4, resume=True),
        pruner_factory=pruner_factory(timeline="one_shot"),
    )
    assert again.resumed_from.endswith("ckpt-00000012.pt")
    assert same_state(first.model.state_dict(), again.model.state_dict())


def test_resume_without_a_checkpoint_starts_afresh(tmp_path):
    result = train(
        make_model(), make_data(), make_config(run_dir=str(tmp_path), resume=True)
    )
    assert result.resumed_from is None and result.steps == 12


def test_corrupt_newest_checkpoint_falls_back_to_the_previous(tmp_path):
    def run(resume=False, callbacks=()):
        config = make_config(run_dir=str(tmp_path), checkpoint_every=4, resume=resume)
        return train(make_model(dropout=True), NoisyData(), config, callbacks=callbacks)

    reference = train(make_model(dropout=True), NoisyData(), make_config())
    with pytest.raises(Stop):
        run(callbacks=[_stop_at(9)])
    newest = tmp_path / "ckpt-00000008.pt"
    newest.write_bytes(newest.read_bytes()[:100])
    with pytest.warns(CheckpointWarning, match=r"ckpt-00000008\.pt.*truncated"):
        resumed = run(resume=True)
    assert resumed.resumed_from.endswith("ckpt-00000004.pt")
    assert same_state(reference.model.state_dict(), resumed.model.state_dict())


def test_run_dir_with_checkpoints_needs_resume(tmp_path):
    train(make_model(), make_data(), make_config(run_dir=str(tmp_path)))
    with pytest.raises(FileExistsError, match="pass resume=True"):
        train(make_model(), make_data(), make_config(run_dir=str(tmp_path)))


def test_resume_refuses_other_options_or_pruner(tmp_path):
    train(make_model(), make_data(), make_config(run_dir=str(tmp_path)))
    with pytest.raises(ValueError, match=r"other options.*'lr': \(0.05, 0.2\)"):
        train(
            make_model(),
            make_data(),
            make_config(run_dir=str(tmp_path), resume=True, lr=0.2),
        )
    with pytest.raises(ValueError, match="without a pruner"):
        train(
            make_model(),
            make_data(),
            make_config(run_dir=str(tmp_path), resume=True),
            pruner_factory=pruner_factory(timeline="one_shot"),
        )


def test_pruner_factory_contract_is_checked():
    def without_optimizer(model, optimizer, total_steps):
        return neural.prune(
            model,
            "magnitude",
            sparsity=0.5,
            block=4,
            total_steps=total_steps,
            min_blocks=50,
        )

    def other_length(model, optimizer, total_steps):
        return neural.prune(
            model,
            "magnitude",
            sparsity=0.5,
            block=4,
            total_steps=total_steps + 1,
            optimizer=optimizer,
            min_blocks=50,
        )

    with (
        pytest.raises(ValueError, match="must pass the optimizer"),
        pytest.warns(UserWarning, match="no `optimizer`"),
    ):
        train(
            make_model(), make_data(), make_config(), pruner_factory=without_optimizer
        )
    with pytest.raises(ValueError, match=r"total_steps it is given \(12\)"):
        train(make_model(), make_data(), make_config(), pruner_factory=other_length)
    with pytest.raises(TypeError, match="lacks the pruner methods"):
        train(
            make_model(),
            make_data(),
            make_config(),
            pruner_factory=lambda m, o, t: object(),
        )


def test_sapp_logits_get_the_weight_decay_and_finalize_leaves_a_plain_model():
    trainer = Trainer(
        make_model(),
        make_data(),
        make_config(weight_decay=1e-3),
        pruner_factory=pruner_factory("sapp", timeline="sapp_criteo"),
    )
    result = trainer.fit()
    assert trainer.pruner_ is result.pruner
    assert len(trainer.optimizer_.param_groups) == 1  # logits' group removed
    assert not any("parametrizations" in k for k in result.model.state_dict())
    assert all(
        layer.kept_blocks < layer.n_blocks
        for layer in result.report.layers
        if layer.status == "pruned"
    )


def test_criteo_recipe_bce_adam_exponential_with_auc(tmp_path):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(128, 20, generator=generator)
    y = (x[:, 0] + 0.5 * torch.randn(128, generator=generator) > 0).long()
    data = TensorDataset(x, y)
    config = make_config(
        loss="bce_with_logits",
        optimizer="adam",
        lr=2e-2,
        schedule="exponential",
        final_lr=3e-4,
        total_steps=16,
        log_every=1,
        batch_size=32,
        run_dir=str(tmp_path),
    )
    torch.manual_seed(0)
    trainer = Trainer(neural.models.MLP([20, 16, 1]), data, config, eval_data=data)
    result = trainer.fit()
    assert result.final_eval["auc"] > 0.8
    lrs = [r["lr"] for r in read_metrics(tmp_path) if r["split"] == "train"]
    assert lrs[0] == 2e-2 and lrs[-1] == pytest.approx(3e-4, rel=1e-12)
    assert len(lrs) == 16


def test_epochs_set_the_number_of_steps():
    result = train(
        make_model(),
        make_data(50),
        make_config(total_steps=None, epochs=2, batch_size=16),
    )
    assert result.steps == 6 and result.epochs == 2.0  # 3 full batches per epoch


class PairInputs(Dataset):
    def __init__(self):
        generator = torch.Generator().manual_seed(0)
        self.a = torch.randn(32, 3, generator=generator)
        self.b = torch.randn(32, 4, generator=generator)
        self.y = torch.randint(0, 2, (32,), generator=generator)

    def __len__(self):
        return 32

    def __getitem__(self, i):
        return (self.a[i], self.b[i]), self.y[i]


def test_tuple_inputs_are_unpacked():
    torch.manual_seed(0)
    result = train(
        torch.nn.Bilinear(3, 4, 2),
        PairInputs(),
        make_config(total_steps=4, batch_size=8),
        eval_data=PairInputs(),
    )
    assert result.final_eval["n_samples"] == 32


def test_bad_batches_and_data_are_refused():
    class Triples(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return torch.zeros(20), torch.tensor(0), torch.tensor(1)

    with pytest.raises(TypeError, match=r"pair \(inputs, target\)"):
        train(make_model(), Triples(), make_config(batch_size=4))
    with pytest.raises(ValueError, match="exceeds the 10 training samples"):
        train(make_model(), make_data(10), make_config(batch_size=16))
    with pytest.raises(TypeError, match="`config` must be a TrainConfig"):
        Trainer(make_model(), make_data(), {"total_steps": 3})
    with pytest.raises(TypeError, match="`pruner_factory` must be callable"):
        Trainer(make_model(), make_data(), make_config(), pruner_factory="sapp")


def test_deterministic_mode_is_restored_after_the_run():
    assert not torch.are_deterministic_algorithms_enabled()
    train(make_model(), make_data(), make_config(deterministic=True))
    assert not torch.are_deterministic_algorithms_enabled()


def test_fit_runs_once():
    trainer = Trainer(make_model(), make_data(), make_config(total_steps=2))
    trainer.fit()
    with pytest.raises(RuntimeError, match="already called"):
        trainer.fit()
