import socket

import pytest
import torch
import torch.distributed as dist

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


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_world_size_one_under_torchrun_joins_a_group(monkeypatch):
    # issue 20: `torchrun --nproc_per_node 1` on one GPU must run the NCCL/DDP
    # path that several GPUs run (here its CPU twin, gloo).
    for name, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    context, device = init_distributed("cpu")
    try:
        assert context.world_size == 1 and context.is_distributed
        assert context.backend == "gloo" and context.owns_group
        assert dist.is_initialized() and dist.get_world_size() == 1
        model = torch.nn.Linear(2, 2)
        wrapped = wrap_model(model, context, device)
        assert wrapped is not model and unwrap_model(wrapped) is model
        assert all_reduce_sum(torch.ones(2), context).tolist() == [1.0, 1.0]
        del wrapped
    finally:
        shutdown(context)
    assert not dist.is_initialized()


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
