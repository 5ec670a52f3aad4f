"""``pruner.step()`` never reads a device value on the host (issue 20).

On CUDA such a read (``.item()``, ``bool(t)``, ``.tolist()``, ``.cpu()``,
``nonzero``, boolean-mask indexing) makes the CPU wait for the GPU at every
step. A ``TorchFunctionMode`` sees those calls on the CPU too, so this guard
runs in every test environment; ``sapp bench gpu`` counts the real
synchronizations on a GPU (``torch.cuda.set_sync_debug_mode``).
"""

import pytest
import torch
from torch.overrides import TorchFunctionMode

from .conftest import batches, build, make_cnn

# Tensor methods and functions whose result is known on the host only after the
# device has finished (``.numpy()`` is absent: on a CUDA tensor it raises).
_HOST_READS = {
    "item",
    "__bool__",
    "__int__",
    "__float__",
    "__index__",
    "tolist",
    "cpu",
    "nonzero",
    "argwhere",
    "masked_select",
    "unique",
}


def _is_host_read(name, args, kwargs):
    if name in _HOST_READS:
        return True
    if name == "__getitem__":  # boolean-mask indexing sizes its result on the host
        index = args[1] if isinstance(args[1], tuple) else (args[1],)
        return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in index)
    if name == "to":
        targets = [*args[1:], kwargs.get("device")]
        return any(
            str(t) == "cpu" for t in targets if isinstance(t, str | torch.device)
        )
    return False


class HostReads(TorchFunctionMode):
    """Records the host reads of tensors made inside the ``with`` block."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if _is_host_read(name, args, kwargs):
            self.calls.append(name)
        return func(*args, **kwargs)


def test_the_detector_sees_host_reads():
    x = torch.randn(6)
    with HostReads() as reads:
        x.sum().item()
        bool(x.any())
        x[x > 0]
        x.to("cpu")
        x * 2
    assert reads.calls == ["item", "__bool__", "__getitem__", "to"]


def _steps_without_host_reads(model, optimizer, pruner, inputs):
    calls = []
    for x in inputs:
        optimizer.zero_grad()
        model(x).square().mean().backward()
        optimizer.step()
        with HostReads() as reads:
            pruner.step()
        calls += [(pruner.current_step, name) for name in reads.calls]
    return calls


@pytest.mark.parametrize(("scope", "reenter"), [("layer", "zero"), ("global", "keep")])
def test_step_reads_nothing_on_the_host(method, scope, reenter):
    # The SA++ timeline has every phase kind and every switch (dense ->
    # sparsify -> sparse -> dense ...), whatever the method.
    model, optimizer, pruner = build(
        method, timeline="sapp_imagenet", scope=scope, reenter=reenter
    )
    calls = _steps_without_host_reads(model, optimizer, pruner, batches(0, 40, (24,)))
    assert calls == []
    assert not pruner.masks[0].mask.all()  # it did prune


def test_step_on_convolutions_reads_nothing_on_the_host(method):
    model, optimizer, pruner = build(
        method, model=make_cnn(), timeline="sapp_imagenet", block=2, min_blocks=8
    )
    inputs = batches(1, 40, (3, 4, 4))
    assert _steps_without_host_reads(model, optimizer, pruner, inputs) == []
