import contextlib
import warnings

import pytest
import torch

from neural.train.device import autocast, call_model, resolve_device, to_device


def test_auto_is_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)


def test_auto_and_cuda_pick_a_gpu_when_available(two_gpus):
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    # under torchrun "auto"/"cuda" follow LOCAL_RANK; an explicit index is kept
    assert resolve_device("auto", local_rank=1) == torch.device("cuda", 1)
    assert resolve_device("cuda:0", local_rank=1) == torch.device("cuda", 0)


def test_cuda_index_out_of_range_names_the_range(two_gpus):
    with pytest.raises(ValueError, match=r"\[0, 1\].*cuda:5"):
        resolve_device("cuda:5")


def test_cuda_without_gpu_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="'cuda:0' needs a CUDA GPU"):
        resolve_device("cuda:0")


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:x", "CPU", "mps"])
def test_unknown_device_lists_the_choices(bad):
    with pytest.raises(ValueError, match="'auto', 'cpu', 'cuda' or 'cuda:N'"):
        resolve_device(bad)


def test_device_type_is_checked():
    with pytest.raises(TypeError, match="`device` must be a string"):
        resolve_device(0)


def test_autocast_is_off_on_cpu():
    cpu = torch.device("cpu")
    assert isinstance(autocast(cpu, True), contextlib.nullcontext)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CPU-only builds warn about CUDA autocast
        context = autocast(torch.device("cuda", 0), True)
    assert isinstance(context, torch.autocast)
    assert context.fast_dtype == torch.bfloat16
    assert isinstance(autocast(torch.device("cuda", 0), False), contextlib.nullcontext)


def test_to_device_moves_tuples_and_sets_channels_last_on_4d_only():
    images, extra = torch.randn(2, 3, 4, 4), torch.randn(2, 5)
    moved = to_device((images, extra), torch.device("cpu"), channels_last=True)
    assert isinstance(moved, tuple) and len(moved) == 2
    assert moved[0].is_contiguous(memory_format=torch.channels_last)
    assert not images.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(moved[1], extra)
    plain = to_device(images, torch.device("cpu"))
    assert plain.is_contiguous()


def test_to_device_refuses_non_tensors():
    with pytest.raises(TypeError, match="tensors or tuples of tensors; got int"):
        to_device([torch.ones(1), 2], torch.device("cpu"))
    with pytest.raises(TypeError, match="got dict"):
        to_device({"x": torch.ones(1)}, torch.device("cpu"))


def test_call_model_unpacks_tuples_only():
    model = torch.nn.Bilinear(2, 3, 1)
    x1, x2 = torch.randn(4, 2), torch.randn(4, 3)
    assert call_model(model, (x1, x2)).shape == (4, 1)
    assert call_model(torch.nn.Linear(2, 1), x1).shape == (4, 1)
