import pytest
import torch

from neural.recipes import load_recipe, plan_training, run_training

SMALL = {"data.n_samples": 500, "train.batch_size": 32, "train.log_every": 5}


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: tiny models, and no spinning on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_recipe(name="mnist1d_sapp:quick", **extra):
    """A quick recipe on 500 MNIST-1D samples, batch 32 (plus ``extra`` overrides)."""
    return load_recipe(name, assignments={**SMALL, **extra})


@pytest.fixture(scope="package")
def mnist_run(tmp_path_factory):
    """A 24-step SA++ run on a small MNIST-1D (about a second)."""
    run_dir = tmp_path_factory.mktemp("runs") / "sapp"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        plan = plan_training(
            small_recipe(**{"train.checkpoint_every": 10}), run_dir=run_dir, steps=24
        )
        result = run_training(plan)
    finally:
        torch.set_num_threads(threads)
    return plan, result
