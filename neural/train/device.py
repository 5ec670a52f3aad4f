"""Device selection and the CUDA-only speed options (bf16 autocast, channels_last).

``device="auto"`` picks CUDA when a GPU is visible, else the CPU. On CUDA the
forward pass may run under ``torch.autocast(device_type="cuda",
dtype=torch.bfloat16)`` (bf16 keeps float32's exponent range, so no loss scaling
is needed) and 4-D tensors may use the ``channels_last`` memory format, which
speeds up convolutions on tensor cores. Both are off on the CPU, whatever the
options say, so a CPU run is plain float32.

The helpers here never move data to the host: batches go to the device with
``non_blocking=True``, and nothing calls ``.cpu()`` or ``.item()``.
"""

from __future__ import annotations

import contextlib
import re

import torch

__all__ = ["autocast", "call_model", "resolve_device", "to_device"]

_CUDA_PATTERN = re.compile(r"cuda(?::(\d+))?")


def resolve_device(device="auto", local_rank: int | None = None) -> torch.device:
    """Validate a device request and return the ``torch.device``.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"} or torch.device, default="auto"
        ``"auto"`` is CUDA when available, else the CPU.
    local_rank : int, optional
        Under ``torchrun`` the process's ``LOCAL_RANK``: ``"auto"`` and ``"cuda"``
        then mean ``cuda:<local_rank>``. An explicit ``"cuda:N"`` is kept.

    Returns
    -------
    torch.device

    Raises
    ------
    TypeError
        If ``device`` is neither a string nor a ``torch.device``.
    ValueError
        If the string is not one of the accepted forms, CUDA is requested without
        a GPU, or the index is not a visible device.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(
            "`device` must be a string ('auto', 'cpu', 'cuda', 'cuda:N') or a "
            f"torch.device; got {type(device).__name__}."
        )
    if device == "cpu":
        return torch.device("cpu")
    if device == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        device = "cuda"
    match = _CUDA_PATTERN.fullmatch(device)
    if match is None:
        raise ValueError(
            "`device` must be one of 'auto', 'cpu', 'cuda' or 'cuda:N'; "
            f"got {device!r}."
        )
    if not torch.cuda.is_available():
        raise ValueError(
            f"`device` {device!r} needs a CUDA GPU and none is available; "
            "use 'auto' or 'cpu'."
        )
    count = torch.cuda.device_count()
    if match.group(1) is not None:
        index = int(match.group(1))
    elif local_rank is not None:
        index = local_rank
    else:
        index = torch.cuda.current_device()
    if index >= count:
        raise ValueError(
            f"`device` index must be in [0, {count - 1}] (visible GPUs); "
            f"got cuda:{index}."
        )
    return torch.device("cuda", index)


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA when ``enabled``; a no-op context elsewhere.

    Parameters
    ----------
    device : torch.device
        The training device.
    enabled : bool, default=True
        The user's choice; ignored (off) on the CPU.

    Returns
    -------
    context manager
    """
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_device(data, device: torch.device, channels_last: bool = False):
    """Move a tensor, or a tuple/list of tensors, to ``device`` without blocking.

    Parameters
    ----------
    data : torch.Tensor or tuple or list of torch.Tensor
        A batch's inputs or target.
    device : torch.device
    channels_last : bool, default=False
        Give 4-D tensors the ``channels_last`` memory format (use on CUDA only).

    Returns
    -------
    torch.Tensor or tuple of torch.Tensor

    Raises
    ------
    TypeError
        If ``data`` (or an element) is not a tensor.
    """
    if isinstance(data, tuple | list):
        return tuple(to_device(item, device, channels_last) for item in data)
    if not isinstance(data, torch.Tensor):
        raise TypeError(
            "batch `inputs` and `target` must be tensors or tuples of tensors; "
            f"got {type(data).__name__}."
        )
    data = data.to(device, non_blocking=True)
    if channels_last and data.dim() == 4:
        data = data.contiguous(memory_format=torch.channels_last)
    return data


def call_model(model, inputs):
    """``model(*inputs)`` for a tuple of tensors, ``model(inputs)`` for a tensor.

    Examples
    --------
    >>> import torch
    >>> call_model(torch.add, (torch.ones(2), torch.ones(2)))
    tensor([2., 2.])
    """
    if isinstance(inputs, tuple):
        return model(*inputs)
    return model(inputs)
