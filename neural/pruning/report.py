"""Realized sparsity of a pruned model, per layer and in total.

Large blocks make the realized sparsity lower than the nominal one: ragged edge
blocks, whole-block rounding and the dense layers below ``min_blocks`` (the realized
columns of Table 1 in arXiv:2402.17902). The report therefore counts both levels:

* block sparsity ``1 - kept_blocks / n_blocks`` of every pruned layer;
* element sparsity ``1 - (entries in kept blocks) / (entries)``, per layer and over
  every candidate layer's weight, dense ones included.

Below the table, the support changes of the run so far
(:class:`~neural.pruning.history.SupportSummary`, one row per pruned layer):
sparse-phase entries, blocks swapped in and out between consecutive sparse
phases, and the first sparse support's overlap with the final one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .history import SupportSummary

__all__ = ["LayerReport", "PruningReport"]


@dataclass(frozen=True)
class LayerReport:
    """One candidate layer: pruned (``status == "pruned"``) or left dense."""

    name: str
    weight_shape: tuple[int, ...]
    block: tuple[int, int] | None
    n_blocks: int
    kept_blocks: int
    target_sparsity: float
    block_sparsity: float
    element_sparsity: float
    n_weights: int
    status: str


@dataclass(frozen=True)
class PruningReport:
    """Per-layer rows plus totals; ``str()`` is an aligned table, Markdown in Jupyter.

    Attributes
    ----------
    method : str
    step : int
        Training steps taken when the report was made.
    phase : str
        Phase kind in force (``"final"`` after ``finalize()``).
    layers : tuple of LayerReport
    support : tuple of SupportSummary, default=()
        Support changes per pruned layer (:meth:`BlockPruner.history`).
    """

    method: str
    step: int
    phase: str
    layers: tuple[LayerReport, ...]
    support: tuple[SupportSummary, ...] = ()

    @property
    def element_sparsity(self) -> float:
        """Fraction of zeroed entries over every candidate layer's weight."""
        total = sum(r.n_weights for r in self.layers)
        zeros = sum(r.element_sparsity * r.n_weights for r in self.layers)
        return zeros / total if total else 0.0

    @property
    def block_sparsity(self) -> float:
        """Fraction of pruned blocks over the pruned layers."""
        pruned = [r for r in self.layers if r.status == "pruned"]
        total = sum(r.n_blocks for r in pruned)
        kept = sum(r.kept_blocks for r in pruned)
        return 1.0 - kept / total if total else 0.0

    def to_dict(self) -> dict:
        """JSON-ready dictionary, totals included."""
        return {
            "method": self.method,
            "step": self.step,
            "phase": self.phase,
            "element_sparsity": self.element_sparsity,
            "block_sparsity": self.block_sparsity,
            "layers": [asdict(r) for r in self.layers],
            "support": [s.to_dict() for s in self.support],
        }

    def _table(self) -> tuple[list[tuple[str, ...]], tuple[str, ...]]:
        """Cells of the layer rows and of the total row, shared by both renderings."""
        rows = [
            (
                r.name,
                "x".join(str(s) for s in r.weight_shape),
                "-" if r.block is None else f"{r.block[0]}x{r.block[1]}",
                str(r.n_blocks),
                str(r.kept_blocks),
                f"{r.block_sparsity:.2%}",
                f"{r.element_sparsity:.2%}",
                r.status,
            )
            for r in self.layers
        ]
        total = (
            "total",
            "",
            "",
            "",
            "",
            f"{self.block_sparsity:.2%}",
            f"{self.element_sparsity:.2%}",
            "",
        )
        return rows, total

    def _support_rows(self) -> list[tuple[str, ...]]:
        """Cells of the support-change rows (:data:`_SUPPORT_COLUMNS`)."""
        return [
            (
                s.layer,
                str(s.sparse_entries),
                str(s.swapped_in),
                str(s.swapped_out),
                "-"
                if s.first_jaccard_final is None
                else f"{s.first_jaccard_final:.3f}",
            )
            for s in self.support
        ]

    def _title(self) -> str:
        return f"{self.method} at step {self.step} ({self.phase})"

    def __str__(self) -> str:
        def line(cells):
            *aligned, status = cells
            text = " ".join(
                f"{cell:{align}}"
                for cell, (_, align) in zip(aligned, _COLUMNS, strict=True)
            )
            return f"{text}  {status}".rstrip()

        def support_line(cells):
            return " ".join(
                f"{cell:{align}}"
                for cell, (_, align) in zip(cells, _SUPPORT_COLUMNS, strict=True)
            ).rstrip()

        rows, total = self._table()
        header = tuple(title for title, _ in _COLUMNS) + ("status",)
        lines = [self._title(), *map(line, [header, *rows, total])]
        if self.support:
            support_header = tuple(title for title, _ in _SUPPORT_COLUMNS)
            lines += ["", _SUPPORT_TITLE]
            lines += map(support_line, [support_header, *self._support_rows()])
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        """The tables of ``str()`` in Markdown (Jupyter renders it)."""
        rows, total = self._table()
        header = tuple(title for title, _ in _COLUMNS) + ("status",)
        align = tuple(a for _, a in _COLUMNS) + ("<",)
        total = tuple(f"**{cell}**" if cell else "" for cell in total)
        text = f"**{self._title()}**\n\n" + _markdown_table(
            header, [*rows, total], align
        )
        if self.support:
            text += f"\n\n{_SUPPORT_TITLE}\n\n" + _markdown_table(
                tuple(title for title, _ in _SUPPORT_COLUMNS),
                self._support_rows(),
                tuple(align for _, align in _SUPPORT_COLUMNS),
            )
        return text


#: Titles and text alignments of :class:`PruningReport`'s columns (status aside).
_COLUMNS = (
    ("layer", "<24"),
    ("shape", "<18"),
    ("block", ">7"),
    ("blocks", ">8"),
    ("kept", ">7"),
    ("block sp.", ">9"),
    ("elem. sp.", ">9"),
)


#: Titles and text alignments of the support-change rows below the table.
_SUPPORT_COLUMNS = (
    ("layer", "<24"),
    ("sparse entries", ">14"),
    ("swapped in", ">10"),
    ("swapped out", ">11"),
    ("first~final Jaccard", ">19"),
)
_SUPPORT_TITLE = "support changes between sparse phases (Jaccard: first vs final)"


def _markdown_table(header, rows, align) -> str:
    """A Markdown table; ``align`` holds format-spec alignments (``"<12"``, ``">7"``).

    Shared by the ``_repr_markdown_`` of the pruning and export reports; pipes
    inside cells are escaped.
    """

    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    rule = ["---:" if a.startswith(">") else ":---" for a in align]
    return "\n".join([line(header), "|" + "|".join(rule) + "|", *map(line, rows)])
