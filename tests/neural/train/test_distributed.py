import pytest
import torch

from neural.train.distributed import (
    DistributedContext,
    all_gather_objects,
    all_reduce_sum,
    barrier,
    broadcast_object,
    init_distributed,
    launched_by_torchrun,
    shutdown,
    unwrap_model,
    wrap_model,
)


def test_single_process_is_a_no_op(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert not launched_by_torchrun()
    context, device = init_distributed("cpu")
    assert context == DistributedContext()
    assert context.is_main and not context.is_distributed
    tensor = torch.ones(2)
    assert all_reduce_sum(tensor, context) is tensor
    assert all_gather_objects({"a": 1}, context) == [{"a": 1}]
    assert broadcast_object(5, context) == 5
    barrier(context)
    model = torch.nn.Linear(2, 2)
    assert wrap_model(model, context, device) is model
    assert unwrap_model(model) is model
    shutdown(context)


def test_world_size_one_under_torchrun_needs_no_group(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("LOCAL_RANK", "0")
    context, device = init_distributed("cpu")
    assert context.world_size == 1 and not context.is_distributed


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"RANK": "x", "WORLD_SIZE": "2"}, "RANK must be an integer >= 0; got 'x'"),
        ({"RANK": "2", "WORLD_SIZE": "2"}, r"RANK must be in \[0, 1\]; got 2"),
        ({"RANK": "0", "WORLD_SIZE": "0"}, "WORLD_SIZE must be an integer >= 1"),
    ],
)
def test_malformed_environment_is_refused(monkeypatch, env, match):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=match):
        init_distributed("cpu")
