import pytest
import torch
from torch import nn

import neural


def make_mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(24, 32), nn.ReLU(), nn.Linear(32, 20), nn.ReLU(), nn.Linear(20, 1)
    )


def make_cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 4),
    )


def batches(seed, n, shape):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn((8, *shape), generator=generator) for _ in range(n)]


def train(model, optimizer, pruner, inputs):
    for x in inputs:
        optimizer.zero_grad()
        model(x).square().mean().backward()
        optimizer.step()
        pruner.step()


def build(method, model=None, total_steps=40, lr=1e-2, **options):
    model = make_mlp() if model is None else model
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    options = {"sparsity": 0.75, "block": 4, "min_blocks": 8, **options}
    pruner = neural.prune(
        model, method, total_steps=total_steps, optimizer=optimizer, **options
    )
    return model, optimizer, pruner


@pytest.fixture(params=sorted(neural.METHODS))
def method(request):
    return request.param
