r"""Losses of the paper's tasks and evaluation (arXiv:2402.17902, Section 4).

* ``"cross_entropy"`` (ImageNet): ``output`` of shape ``(B, C, ...)`` holds
  logits, ``target`` of shape ``(B, ...)`` class indices;
  ``loss = -mean_i log softmax(output_i)[target_i]``; accuracy is the share of
  ``argmax_c output_ic == target_i``.
* ``"bce_with_logits"`` (Criteo): ``output`` holds one logit per example,
  ``target`` labels in {0, 1};
  ``loss = -mean_i [y_i log s(z_i) + (1 - y_i) log(1 - s(z_i))]`` with the
  sigmoid ``s``; accuracy thresholds the logit at 0. ``output`` must have the
  target's shape, or that shape plus a trailing axis of size 1 (dropped). An
  integer or boolean target is converted to the output's dtype (exact for 0/1).

Evaluation also reports the ROC AUC of the logits for ``bce_with_logits``, by
the rank-sum (Mann-Whitney) formula with tied scores given their mean rank:

.. math:: \mathrm{AUC} = \frac{\sum_{i: y_i = 1} r_i - P (P + 1) / 2}{P N}

for ``P`` positives and ``N`` negatives. Losses are computed in float32 even
when the forward pass ran under bf16 autocast.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torch.utils.data._utils.collate import default_collate

from nonconvex_reg.validation import check_choice, check_int

from .device import autocast, call_model, to_device
from .distributed import DistributedContext, all_reduce_sum
from .rng import mix_seed, seeded_rng
from .sampler import IndexBatch, SeededDataset

__all__ = ["LOSSES", "compute_loss", "evaluate", "roc_auc"]

LOSSES = ("cross_entropy", "bce_with_logits")
"""Loss names accepted by the trainer."""

_EVAL = 6  # mix_seed tag of evaluation batches


def _prepare(loss: str, output: torch.Tensor, target: torch.Tensor):
    """Check the shapes of ``output`` and ``target``; return float32 versions."""
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"the model's output must be a tensor; got {type(output)}.")
    output = output.float()
    if loss == "cross_entropy":
        if target.dtype.is_floating_point or target.dtype == torch.bool:
            raise TypeError(
                "`target` must hold integer class indices for loss='cross_entropy'; "
                f"got dtype {target.dtype}."
            )
        if output.dim() < 2 or output.shape[:1] + output.shape[2:] != target.shape:
            raise ValueError(
                "for loss='cross_entropy' the output must have shape (B, C, ...) "
                f"and the target (B, ...); got {tuple(output.shape)} and "
                f"{tuple(target.shape)}."
            )
        return output, target
    if output.shape != target.shape:
        if output.shape[-1:] == (1,) and output.shape[:-1] == target.shape:
            output = output.squeeze(-1)
        else:
            raise ValueError(
                "for loss='bce_with_logits' the output must have the target's shape "
                "(or that shape plus a trailing 1); got "
                f"{tuple(output.shape)} and {tuple(target.shape)}."
            )
    return output, target.to(output.dtype)


def compute_loss(
    loss: str, output: torch.Tensor, target: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """The training loss of one batch (see the module docstring for shapes).

    Parameters
    ----------
    loss : {"cross_entropy", "bce_with_logits"}
    output : torch.Tensor
        The model's logits.
    target : torch.Tensor
        Class indices or 0/1 labels.
    reduction : {"mean", "sum"}, default="mean"

    Returns
    -------
    torch.Tensor
        A float32 scalar.

    Raises
    ------
    ValueError, TypeError
        On an unknown loss or mismatched shapes/dtypes, naming both shapes.

    Examples
    --------
    >>> import torch
    >>> compute_loss("bce_with_logits", torch.zeros(4, 1), torch.tensor([0, 1, 1, 0]))
    tensor(0.6931)
    """
    check_choice(loss, "loss", LOSSES)
    check_choice(reduction, "reduction", ("mean", "sum"))
    output, target = _prepare(loss, output, target)
    if loss == "cross_entropy":
        return F.cross_entropy(output, target, reduction=reduction)
    return F.binary_cross_entropy_with_logits(output, target, reduction=reduction)


def roc_auc(scores: torch.Tensor, labels: torch.Tensor) -> float | None:
    """Area under the ROC curve by the rank-sum formula, ties at mean rank.

    Parameters
    ----------
    scores : torch.Tensor of shape (n_samples,)
        Higher means more likely positive (logits or probabilities).
    labels : torch.Tensor of shape (n_samples,)
        1 (or ``True``) for positives, 0 for negatives.

    Returns
    -------
    float or None
        ``None`` when only one class is present (AUC undefined).

    Examples
    --------
    >>> import torch
    >>> roc_auc(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
    0.75
    >>> roc_auc(torch.tensor([0.5, 0.5]), torch.tensor([0, 1]))
    0.5
    """
    scores, labels = scores.reshape(-1), labels.reshape(-1)
    if scores.shape != labels.shape:
        raise ValueError(
            f"`scores` and `labels` must have the same length; got "
            f"{scores.numel()} and {labels.numel()}."
        )
    positive = labels > 0.5
    n_positive = int(positive.sum())
    n_negative = positive.numel() - n_positive
    if n_positive == 0 or n_negative == 0:
        return None
    order = torch.argsort(scores.double())
    _, inverse, counts = torch.unique_consecutive(
        scores.double()[order], return_inverse=True, return_counts=True
    )
    ends = counts.cumsum(0).double()  # 1-based rank of each tie group's last member
    mean_ranks = ends - (counts.double() - 1.0) / 2.0
    rank_sum = mean_ranks[inverse][positive[order]].sum().item()
    return (rank_sum - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative)


@torch.no_grad()
def evaluate(
    model,
    dataset,
    *,
    loss: str,
    batch_size: int,
    device: torch.device | None = None,
    context: DistributedContext | None = None,
    num_workers: int = 0,
    mixed_precision: bool = True,
    channels_last: bool = False,
    auc: bool = True,
    seed: int = 0,
) -> dict:
    """Mean loss, accuracy (and AUC for ``bce_with_logits``) of a model on data.

    The model runs in eval mode (its previous mode is restored) on private
    generator streams (:func:`~neural.train.rng.seeded_rng`), so evaluating never
    changes what training draws next. Under ``torchrun`` rank ``r`` evaluates the
    samples ``r, r + R, r + 2R, ...`` and the sums are reduced over the ranks;
    every rank returns the same numbers. Pass the plain module, not its DDP
    wrapper.

    Parameters
    ----------
    model : torch.nn.Module
    dataset : torch.utils.data.Dataset
        Map-style, yielding ``(inputs, target)``; its ``collate_fn`` is used if
        it has one.
    loss : {"cross_entropy", "bce_with_logits"}
    batch_size : int
        Per-rank batch size, ``>= 1``.
    device : torch.device, optional
        Default: the device of the model's first parameter.
    context : DistributedContext, optional
        Default: a single process.
    num_workers : int, default=0
    mixed_precision : bool, default=True
        bf16 autocast on CUDA (ignored on the CPU).
    channels_last : bool, default=False
        ``channels_last`` 4-D inputs (CUDA only).
    auc : bool, default=True
        Compute the AUC for ``bce_with_logits`` (gathers every logit).
    seed : int, default=0
        Batch ``b`` of rank ``r`` loads on generators seeded by ``(seed, b, r)``
        (:class:`~neural.train.sampler.SeededDataset`): random transforms of the
        eval data give the same draws at every evaluation, with any number of
        workers.

    Returns
    -------
    dict
        ``loss``, ``accuracy``, ``n_samples`` and, for ``bce_with_logits`` with
        ``auc`` and both classes present, ``auc``.
    """
    check_choice(loss, "loss", LOSSES)
    batch_size = check_int(batch_size, "batch_size", low=1)
    context = DistributedContext() if context is None else context
    if device is None:
        device = next(model.parameters()).device
    n_samples = len(dataset)
    indices = list(range(context.rank, n_samples, context.world_size))
    seed = check_int(seed, "seed", low=0)
    batches = [
        IndexBatch(
            indices[start : start + batch_size],
            epoch=0,
            batch=number,
            seed=mix_seed(_EVAL, seed, number, context.rank),
        )
        for number, start in enumerate(range(0, len(indices), batch_size))
    ]
    loader = DataLoader(
        dataset if isinstance(dataset, SeededDataset) else SeededDataset(dataset),
        batch_sampler=batches,
        collate_fn=getattr(
            getattr(dataset, "dataset", dataset)
            if isinstance(dataset, SeededDataset)
            else dataset,
            "collate_fn",
            default_collate,
        ),
        num_workers=check_int(num_workers, "num_workers", low=0),
        generator=torch.Generator().manual_seed(0),
    )
    use_channels_last = channels_last and device.type == "cuda"
    totals = torch.zeros(3, dtype=torch.float64, device=device)  # loss, correct, n
    scores, labels = [], []
    was_training = model.training
    model.eval()
    try:
        with seeded_rng():
            for inputs, target in loader:
                inputs = to_device(inputs, device, use_channels_last)
                target = to_device(target, device)
                with autocast(device, mixed_precision):
                    output = call_model(model, inputs)
                output, target = _prepare(loss, output, target)
                if loss == "cross_entropy":
                    total = F.cross_entropy(output, target, reduction="sum")
                    correct = (output.argmax(1) == target).sum()
                else:
                    total = F.binary_cross_entropy_with_logits(
                        output, target, reduction="sum"
                    )
                    correct = ((output > 0) == (target > 0.5)).sum()
                    if auc:
                        scores.append(output.reshape(-1))
                        labels.append(target.reshape(-1))
                totals += torch.stack(
                    [
                        total.double(),
                        correct.double(),
                        totals.new_tensor(target.numel()),
                    ]
                )
    finally:
        model.train(was_training)
    all_reduce_sum(totals, context)
    loss_sum, n_correct, count = totals.tolist()
    result = {
        "loss": loss_sum / count if count else math.nan,
        "accuracy": n_correct / count if count else math.nan,
        "n_samples": int(count),
    }
    if loss == "bce_with_logits" and auc:
        local = torch.cat(scores) if scores else torch.zeros(0, device=device)
        local_labels = torch.cat(labels) if labels else torch.zeros(0, device=device)
        value = roc_auc(*_gather_ragged(local, local_labels, n_samples, context))
        if value is not None:
            result["auc"] = value
    return result


def _gather_ragged(scores, labels, n_samples, context):
    """Every rank's scores and labels (rank ``r`` holds ``len(range(r, n, R))``)."""
    if not context.is_distributed:
        return scores, labels
    import torch.distributed as dist

    width = math.ceil(n_samples / context.world_size)
    sizes = [
        len(range(r, n_samples, context.world_size)) for r in range(context.world_size)
    ]
    padded = torch.zeros(2, width, dtype=torch.float32, device=scores.device)
    padded[0, : scores.numel()] = scores
    padded[1, : labels.numel()] = labels
    gathered = [torch.empty_like(padded) for _ in range(context.world_size)]
    dist.all_gather(gathered, padded)
    return (
        torch.cat([g[0, :size] for g, size in zip(gathered, sizes, strict=True)]),
        torch.cat([g[1, :size] for g, size in zip(gathered, sizes, strict=True)]),
    )
