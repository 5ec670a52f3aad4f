"""Realized sparsity of a pruned model, per layer and in total (PAPER.md section 7).

Large blocks make the realized sparsity lower than the nominal one: ragged edge
blocks, whole-block rounding and the dense layers below ``min_blocks`` (Table 1's
realized columns). The report therefore counts both levels:

* block sparsity ``1 - kept_blocks / n_blocks`` of every pruned layer;
* element sparsity ``1 - (entries in kept blocks) / (entries)``, per layer and over
  every candidate layer's weight, dense ones included.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

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
    """Per-layer rows plus totals; ``str()`` is an aligned table.

    Attributes
    ----------
    method : str
    step : int
        Training steps taken when the report was made.
    phase : str
        Phase kind in force (``"final"`` after ``finalize()``).
    layers : tuple of LayerReport
    """

    method: str
    step: int
    phase: str
    layers: tuple[LayerReport, ...]

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
        }

    def __str__(self) -> str:
        header = (
            f"{'layer':<24} {'shape':<18} {'block':>7} {'blocks':>8} {'kept':>7} "
            f"{'block sp.':>9} {'elem. sp.':>9}  status"
        )
        lines = [f"{self.method} at step {self.step} ({self.phase})", header]
        for r in self.layers:
            block = "-" if r.block is None else f"{r.block[0]}x{r.block[1]}"
            shape = "x".join(str(s) for s in r.weight_shape)
            lines.append(
                f"{r.name:<24} {shape:<18} {block:>7} {r.n_blocks:>8} "
                f"{r.kept_blocks:>7} {r.block_sparsity:>9.2%} "
                f"{r.element_sparsity:>9.2%}  {r.status}"
            )
        lines.append(
            f"{'total':<24} {'':<18} {'':>7} {'':>8} {'':>7} "
            f"{self.block_sparsity:>9.2%} {self.element_sparsity:>9.2%}"
        )
        return "\n".join(lines)
