"""The combinatorial step, measured: how supports change between sparse phases.

SA++ alternates dense and sparse phases like ACDC, so a block pruned in one
sparse phase can win its place back in the next: the local search, close to
OMPR, that the paper (arXiv:2402.17902, Section 3 and Appendix B) credits for
its results. This module records each pruned layer's support ``S_i`` at the
``i``-th entry into a sparse phase and, once training ends, its final support
``F``, and reports for every entry

* ``swapped_in = |S_i - S_{i-1}|`` and ``swapped_out = |S_{i-1} - S_i|``, the
  blocks that entered and left the support since the previous sparse phase
  (``None`` at the first entry). With per-layer sparsity both equal, since every
  sparse phase keeps ``k`` blocks; with ``scope="global"`` a layer may gain
  more than it loses;
* ``jaccard_final = |S_i & F| / |S_i | F|``, the overlap with the final support
  (1 for two empty supports; ``None`` until training ends).

The supports are kept as device tensors and counted only when asked
(``SupportHistory.records``), so recording never synchronizes with the
device.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

__all__ = ["SupportHistory", "SupportRecord", "SupportSummary", "support_records"]


@dataclass(frozen=True)
class SupportRecord:
    """One layer's support at one entry into a sparse phase.

    Attributes
    ----------
    layer : str
        Dotted name of the pruned layer.
    entry : int
        Index of the sparse-phase entry, from 0.
    step : int
        Pruner step at which the sparse phase began.
    kept : int
        Blocks in the support.
    swapped_in, swapped_out : int or None
        Blocks that entered / left the support since the previous sparse phase;
        ``None`` at the first entry.
    jaccard_final : float or None
        Jaccard overlap with the final support; ``None`` until training ends.
    """

    layer: str
    entry: int
    step: int
    kept: int
    swapped_in: int | None
    swapped_out: int | None
    jaccard_final: float | None

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        return asdict(self)


@dataclass(frozen=True)
class SupportSummary:
    """One layer's support changes over a run (the rows of ``summarize``).

    Attributes
    ----------
    layer : str
    sparse_entries : int
        Entries into a sparse phase.
    swapped_in, swapped_out : int
        Blocks swapped in / out, summed over every entry after the first.
    first_jaccard_final : float or None
        Jaccard overlap of the first sparse support with the final one: how far
        the search moved in all (``None`` until training ends or without entry).
    """

    layer: str
    sparse_entries: int
    swapped_in: int
    swapped_out: int
    first_jaccard_final: float | None

    @classmethod
    def summarize(cls, records) -> tuple[SupportSummary, ...]:
        """One summary per layer of ``records``, in order of first appearance."""
        layers: dict[str, list[SupportRecord]] = {}
        for record in records:
            layers.setdefault(record.layer, []).append(record)
        return tuple(
            cls(
                layer,
                len(rows),
                sum(r.swapped_in or 0 for r in rows),
                sum(r.swapped_out or 0 for r in rows),
                rows[0].jaccard_final,
            )
            for layer, rows in layers.items()
        )

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        return asdict(self)


def _count(mask: torch.Tensor) -> int:
    return int(mask.sum())


def _jaccard(support: torch.Tensor, final: torch.Tensor) -> float:
    union = _count(support | final)
    return 1.0 if union == 0 else _count(support & final) / union


def support_records(names, entries, final=None) -> tuple[SupportRecord, ...]:
    """The records of a sequence of supports (the module docstring's counts).

    Parameters
    ----------
    names : sequence of str
        The layers, ``n_layers`` of them.
    entries : sequence of (int, sequence of torch.Tensor)
        ``(step, supports)`` of each sparse-phase entry in order; ``supports``
        holds one boolean mask per layer (any shape, the same at every entry).
    final : sequence of torch.Tensor, optional
        The final support of each layer; without it ``jaccard_final`` is None.

    Returns
    -------
    tuple of SupportRecord
        Entry by entry, layer by layer.

    Examples
    --------
    >>> import torch
    >>> a, b = torch.tensor([1, 1, 0, 0]).bool(), torch.tensor([1, 0, 1, 0]).bool()
    >>> [(r.swapped_in, r.jaccard_final)
    ...  for r in support_records(["fc"], [(3, [a]), (7, [b])], final=[b])]
    [(None, 0.3333333333333333), (1, 1.0)]
    """
    records, previous = [], None
    for entry, (step, supports) in enumerate(entries):
        for i, (name, support) in enumerate(zip(names, supports, strict=True)):
            before = None if previous is None else previous[i]
            records.append(
                SupportRecord(
                    name,
                    entry,
                    step,
                    _count(support),
                    None if before is None else _count(support & ~before),
                    None if before is None else _count(before & ~support),
                    None if final is None else _jaccard(support, final[i]),
                )
            )
        previous = supports
    return tuple(records)


class SupportHistory:
    """The supports of a pruner's sparse-phase entries and its final support.

    Parameters
    ----------
    names : sequence of str
        The pruned layers, in the pruner's order.
    """

    def __init__(self, names):
        self.names = list(names)
        self._entries: list[tuple[int, list[torch.Tensor]]] = []
        self._final: list[torch.Tensor] | None = None

    def record(self, step: int, masks) -> None:
        """Record the supports (one mask per layer) of a sparse phase from ``step``."""
        self._entries.append((int(step), [m.detach().clone() for m in masks]))

    def finish(self, masks) -> None:
        """Record the final supports (at the end of training)."""
        self._final = [m.detach().clone() for m in masks]

    def records(self) -> tuple[SupportRecord, ...]:
        """Every :class:`SupportRecord`, entry by entry, layer by layer."""
        return support_records(self.names, self._entries, self._final)

    def state_dict(self) -> dict:
        """Steps and supports of every entry (tensors and plain containers)."""
        return {
            "steps": [step for step, _ in self._entries],
            "supports": [list(masks) for _, masks in self._entries],
        }

    def load_state_dict(self, state: dict, like) -> None:
        """Restore the entries; ``like`` are the current masks (shape and device)."""
        steps, supports = state["steps"], state["supports"]
        if len(steps) != len(supports) or any(
            len(masks) != len(like)
            or any(m.shape != t.shape for m, t in zip(masks, like, strict=True))
            for masks in supports
        ):
            raise ValueError(
                "`state['support_history']` does not fit this pruner's layers "
                f"{self.names}."
            )
        self._entries = [
            (
                int(step),
                [
                    m.to(device=t.device, dtype=torch.bool)
                    for m, t in zip(masks, like, strict=True)
                ],
            )
            for step, masks in zip(steps, supports, strict=True)
        ]
        self._final = None
