import pytest
import torch
from torch.utils.data import Dataset, TensorDataset

import neural
from neural import schedules
from neural.models import MLP
from neural.train import TrainConfig, train

TOTAL = 40


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: tiny models, and no spinning on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# Dense, sparsify (steps 8-20, crossing the checkpoints at 10 and 15), sparse,
# dense again (re-entry), sparse: every phase switch a resume must reproduce.
TIMELINE = schedules.Timeline.from_fractions(
    [
        ("dense", 0.2),
        ("sparsify", 0.3),
        ("sparse", 0.15),
        ("dense", 0.15),
        ("sparse", 0.2),
    ],
    TOTAL,
)


def make_data(n=96, n_features=20, n_classes=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, n_features, generator=generator)
    y = torch.randint(0, n_classes, (n,), generator=generator)
    return TensorDataset(x, y)


class NoisyData(Dataset):
    """Random augmentation (global torch generator) in __getitem__."""

    def __init__(self, n=96, seed=0):
        self.base = make_data(n, seed=seed)

    def __len__(self):
        return len(self.base)

    def __getitem__(self, index):
        x, y = self.base[index]
        return x + 0.1 * torch.randn(x.shape), y


def make_model(seed=1, dropout=False):
    torch.manual_seed(seed)
    if not dropout:
        return MLP([20, 64, 64, 3])
    return torch.nn.Sequential(
        torch.nn.Linear(20, 64),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.1),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 3),
    )


def make_config(**options):
    defaults = {
        "total_steps": 12,
        "batch_size": 16,
        "lr": 0.05,
        "device": "cpu",
        "progress": False,
        "log_every": 4,
        "tensorboard": False,
    }
    return TrainConfig(**{**defaults, **options})


def pruner_factory(method="sapp", timeline=TIMELINE, **options):
    def factory(model, optimizer, total_steps):
        return neural.prune(
            model,
            method,
            sparsity=0.75,
            block=4,
            total_steps=total_steps,
            optimizer=optimizer,
            min_blocks=50,
            timeline=timeline,
            **options,
        )

    return factory


def same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def resume_run(
    run_dir,
    num_workers=0,
    resume=False,
    callbacks=(),
    method="sapp",
    deterministic=True,
):
    """The crash-and-resume run: pruning crossing checkpoints, dropout, augmentation.

    test_resume.py runs it with SA++ in subprocesses, test_trainer.py in-process
    for every method.
    """
    config = make_config(
        run_dir=str(run_dir),
        total_steps=TOTAL,
        checkpoint_every=5,
        log_every=3,
        eval_every=10,
        weight_decay=1e-4,
        schedule="warmup_cosine",
        warmup_steps=4,
        num_workers=num_workers,
        deterministic=deterministic,
        resume=resume,
    )
    return train(
        make_model(dropout=True),
        NoisyData(),
        config,
        eval_data=NoisyData(32, seed=1),
        pruner_factory=pruner_factory(method),
        callbacks=callbacks,
    )


DDP_JOBS = ("sapp", "acdc", "bce")


def ddp_job(run_dir, job):
    """A run of test_ddp.py: 'sapp' or 'acdc' pruning, or 'bce' (AUC), no dropout."""
    options = {
        "run_dir": str(run_dir),
        "total_steps": TOTAL,
        "batch_size": 16,
        "lr": 0.1,
        "momentum": 0.9,
        "log_every": 1,
        "checkpoint_every": 10,
        "eval_every": 20,
    }
    if job == "bce":
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(160, 20, generator=generator)
        y = (x[:, 0] + 0.5 * torch.randn(160, generator=generator) > 0).long()
        data = TensorDataset(x[:128], y[:128])
        torch.manual_seed(2)
        return train(
            MLP([20, 16, 1]),
            data,
            make_config(**options, loss="bce_with_logits"),
            eval_data=TensorDataset(x[128:], y[128:]),  # 32 samples: ragged shards
        )
    return train(
        make_model(),
        make_data(128),
        make_config(**options),
        eval_data=make_data(45, seed=1),  # 45 samples: 23 and 22 per rank
        pruner_factory=pruner_factory(job),
    )
