"""Phase timelines and sparsification curves, as data.

The sparsification phase is that of arXiv:2402.17902, Section 3.1; the phase schedules
are those of its experiments (Section 4).

A :class:`Timeline` cuts ``total_steps`` training steps into phases:

* ``dense``: every block trains; nothing is masked.
* ``sparsify``: the blocks alive at the start of the phase are pruned gradually,
  least important first and monotonically, until the target count is kept at the
  phase's last step. The kept fraction follows a ``Curve``.
* ``sparse``: the support is frozen; pruned blocks are masked.

Curves give the fraction of the target sparsity ``s`` reached at normalized phase
time ``t in [0, 1]``:

* :class:`ExponentialCurve` (Section 3.1): ``sparsity(t) = s (1 - e^{-ct}) /
  (1 - e^{-c})``, ``c = 4`` by default, SA++'s sparsification phase.
* :class:`CubicCurve` (Zhu & Gupta 2017): ``sparsity(t) = s (1 - (1 - t)^3)``,
  gradual magnitude pruning.

Presets (Section 4; fractions of training, then rounded to steps):

* :func:`acdc_imagenet`: 10% dense, 7 x (5% sparse, 5% dense) with the last dense
  extended by 5%, 15% final sparse.
* :func:`sapp_imagenet`: 10% dense, 6 x (sparsify, sparse, dense), one 15%
  sparsify phase (replacing the 7th phase and its extension), 15% final sparse.
  How the paper splits each 10% phase is not stated; equal thirds by default
  (``split``).
* :func:`acdc_criteo`: 20% dense, 10 x (3% sparse, 3% dense), 20% final sparse.
* :func:`sapp_criteo`: the Criteo timeline with the SA++ rewrite applied as on
  ImageNet (our inference: each 6% phase becomes sparsify-sparse-dense, the last
  becomes one sparsify phase).
* :func:`one_shot`: dense, then prune at once and fine-tune sparse (magnitude
  pruning and block powerpropagation, baselines of Section 4).
* :func:`gradual`: dense, cubic sparsify, sparse.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

from nonconvex_reg.validation import check_choice, check_int, check_scalar

__all__ = [
    "PHASE_KINDS",
    "CubicCurve",
    "ExponentialCurve",
    "Phase",
    "Timeline",
    "acdc_criteo",
    "acdc_imagenet",
    "gradual",
    "one_shot",
    "sapp_criteo",
    "sapp_imagenet",
    "PRESETS",
]

#: The kinds of phase a timeline is made of.
PHASE_KINDS = ("dense", "sparsify", "sparse")


@dataclass(frozen=True)
class ExponentialCurve:
    """``(1 - e^{-ct}) / (1 - e^{-c})``: the sparsification schedule of Section 3.1.

    Examples
    --------
    >>> curve = ExponentialCurve(c=4.0)
    >>> round(curve(0.5), 4), curve(0.0), curve(1.0)
    (0.8808, 0.0, 1.0)
    """

    c: float = 4.0

    def __post_init__(self):
        check_scalar(self.c, "c", low=0.0, low_inclusive=False)

    def __call__(self, t: float) -> float:
        """Fraction of the target sparsity reached at phase time ``t in [0, 1]``."""
        if t >= 1.0:
            return 1.0
        return math.expm1(-self.c * t) / math.expm1(-self.c)


@dataclass(frozen=True)
class CubicCurve:
    """``1 - (1 - t)^3``: gradual magnitude pruning (Zhu & Gupta 2017).

    Examples
    --------
    >>> CubicCurve()(0.5)
    0.875
    """

    def __call__(self, t: float) -> float:
        """Fraction of the target sparsity reached at phase time ``t in [0, 1]``."""
        return 1.0 - (1.0 - min(t, 1.0)) ** 3


@dataclass(frozen=True)
class Phase:
    """Steps ``[start, stop)`` of one kind; ``curve`` is set for ``sparsify``."""

    kind: str
    start: int
    stop: int
    curve: ExponentialCurve | CubicCurve | None = field(default=None, compare=True)

    @property
    def n_steps(self) -> int:
        """Length of the phase in steps."""
        return self.stop - self.start

    def progress(self, step: int) -> float:
        """Normalized time after ``step``: ``(step - start + 1) / n_steps``.

        The phase's first step already prunes and its last step reaches 1.
        """
        return (step - self.start + 1) / self.n_steps


@dataclass(frozen=True)
class Timeline:
    """Consecutive phases covering steps ``[0, total_steps)``.

    Build one with :meth:`from_fractions` or a preset. Steps past ``total_steps``
    stay in the last phase.

    Examples
    --------
    >>> timeline = acdc_imagenet(1000)
    >>> timeline.phase_at(0).kind, timeline.phase_at(100).kind, len(timeline.phases)
    ('dense', 'sparse', 16)
    """

    phases: tuple[Phase, ...]
    total_steps: int

    def __post_init__(self):
        check_int(self.total_steps, "total_steps", low=1)
        if not self.phases:
            raise ValueError("`phases` must hold at least one phase; got none.")
        expected = 0
        for phase in self.phases:
            check_choice(phase.kind, "phase kind", PHASE_KINDS)
            if phase.start != expected or phase.stop <= phase.start:
                raise ValueError(
                    "`phases` must be non-empty and consecutive from step 0; got "
                    f"{phase} after step {expected}."
                )
            if (phase.kind == "sparsify") != (phase.curve is not None):
                raise ValueError(
                    f"a curve must be given for sparsify phases only; got {phase}."
                )
            expected = phase.stop
        if expected != self.total_steps:
            raise ValueError(
                f"`phases` must end at total_steps={self.total_steps}; "
                f"they end at {expected}."
            )

    @classmethod
    def from_fractions(cls, parts, total_steps, curve=None) -> Timeline:
        """Phases from ``(kind, fraction)`` pairs whose fractions sum to 1.

        Boundaries are ``round(cumulative fraction * total_steps)``; a phase that
        rounds to zero steps is dropped, and adjacent phases of the same kind
        (other than ``sparsify``) are merged.

        Parameters
        ----------
        parts : sequence of (str, float)
            Phase kinds and their fractions of training.
        total_steps : int
            Number of training steps, ``>= 1``.
        curve : ExponentialCurve or CubicCurve, optional
            Curve of the sparsify phases; default ``ExponentialCurve(4)``.
        """
        total_steps = check_int(total_steps, "total_steps", low=1)
        curve = ExponentialCurve() if curve is None else curve
        fractions = [check_scalar(f, "fraction", low=0.0) for _, f in parts]
        if not math.isclose(sum(fractions), 1.0, abs_tol=1e-9):
            raise ValueError(
                f"phase fractions must sum to 1; got {sum(fractions):.12g}."
            )
        phases: list[Phase] = []
        cumulative, start = 0.0, 0
        for (kind, _), fraction in zip(parts, fractions, strict=True):
            check_choice(kind, "phase kind", PHASE_KINDS)
            cumulative += fraction
            stop = min(round(cumulative * total_steps), total_steps)
            if stop <= start:
                continue
            if phases and phases[-1].kind == kind and kind != "sparsify":
                phases[-1] = Phase(kind, phases[-1].start, stop)
            else:
                phases.append(
                    Phase(kind, start, stop, curve if kind == "sparsify" else None)
                )
            start = stop
        if start < total_steps:  # only reachable through float round-off
            last = phases[-1]
            phases[-1] = Phase(last.kind, last.start, total_steps, last.curve)
        return cls(tuple(phases), total_steps)

    def index_at(self, step: int) -> int:
        """Index of the phase containing ``step`` (the last one past the end)."""
        starts = [phase.start for phase in self.phases]
        return max(bisect.bisect_right(starts, step) - 1, 0)

    def phase_at(self, step: int) -> Phase:
        """The phase containing ``step``."""
        return self.phases[self.index_at(step)]

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {
            "total_steps": self.total_steps,
            "phases": [
                {
                    "kind": p.kind,
                    "start": p.start,
                    "stop": p.stop,
                    "curve": None if p.curve is None else repr(p.curve),
                }
                for p in self.phases
            ],
        }

    def _table(self) -> list[tuple[str, ...]]:
        """Cells of every phase row, shared by ``str()`` and the Markdown table."""
        return [
            (
                str(i),
                p.kind,
                str(p.start),
                str(p.stop),
                f"{p.n_steps / self.total_steps:.1%}",
                "" if p.curve is None else repr(p.curve),
            )
            for i, p in enumerate(self.phases)
        ]

    def __str__(self) -> str:
        lines = [f"{'phase':>5}  {'kind':<8}  {'steps':>17}  {'share':>6}  curve"]
        for i, kind, start, stop, share, curve in self._table():
            lines.append(
                f"{i:>5}  {kind:<8}  {start:>8}-{stop:<8}  {share:>6}  {curve}"
            )
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        """The table of ``str()`` in Markdown (Jupyter renders it)."""
        lines = [
            f"**Timeline of {self.total_steps} steps, {len(self.phases)} phases**",
            "",
            "| phase | kind | steps | share | curve |",
            "|---:|:---|---:|---:|:---|",
        ]
        lines += [
            f"| {i} | {kind} | {start}-{stop} | {share} | {curve} |"
            for i, kind, start, stop, share, curve in self._table()
        ]
        return "\n".join(lines)

    def sparsity_at(self, step: int, sparsity: float) -> float:
        """Nominal sparsity in force at ``step`` for target ``sparsity``.

        0 in dense phases, ``sparsity`` in sparse phases and the curve inside a
        sparsify phase.
        """
        phase = self.phase_at(step)
        if phase.kind == "dense":
            return 0.0
        if phase.kind == "sparse":
            return sparsity
        return sparsity * phase.curve(phase.progress(step))

    def plot(self, sparsity: float = 0.9, ax=None):
        """Plot the nominal sparsity against the step (matplotlib); returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 2.5))
        steps = range(self.total_steps)
        ax.step(
            list(steps), [self.sparsity_at(t, sparsity) for t in steps], where="post"
        )
        colors = {"dense": "tab:green", "sparsify": "tab:orange", "sparse": "tab:gray"}
        for phase in self.phases:
            ax.axvspan(phase.start, phase.stop, color=colors[phase.kind], alpha=0.15)
        ax.set_xlabel("step")
        ax.set_ylabel("sparsity")
        ax.set_ylim(-0.02, 1.0)
        return ax


def _alternating(first, n_phases, inner, last, final, total_steps, curve):
    parts = [("dense", first)]
    for _ in range(n_phases):
        parts.extend(inner)
    parts.extend(last)
    parts.append(("sparse", final))
    return Timeline.from_fractions(parts, total_steps, curve)


def acdc_imagenet(total_steps: int) -> Timeline:
    """ACDC on ImageNet (Section 4): 10 / 7 x (5 + 5) + 5 / 15 percent."""
    return _alternating(
        0.10,
        7,
        [("sparse", 0.05), ("dense", 0.05)],
        [("dense", 0.05)],
        0.15,
        total_steps,
        None,
    )


def _sapp_phase(length, split):
    split = tuple(check_scalar(s, "split", low=0.0) for s in split)
    if len(split) != 3 or not math.isclose(sum(split), 1.0, abs_tol=1e-9):
        raise ValueError(
            f"`split` must be three fractions (sparsify, sparse, dense) summing to "
            f"1; got {split}."
        )
    kinds = ("sparsify", "sparse", "dense")
    return [(kind, length * share) for kind, share in zip(kinds, split, strict=True)]


def sapp_imagenet(
    total_steps: int, c: float = 4.0, split=(1 / 3, 1 / 3, 1 / 3)
) -> Timeline:
    """SA++ on ImageNet (Section 4): ACDC's timeline with sparsify phases.

    Each of the first six 10% phases becomes (sparsify, sparse, dense) in the
    proportions ``split``; the seventh with its 5% extension becomes one 15%
    sparsify phase; then 15% sparse.
    """
    return _alternating(
        0.10,
        6,
        _sapp_phase(0.10, split),
        [("sparsify", 0.15)],
        0.15,
        total_steps,
        ExponentialCurve(c),
    )


def acdc_criteo(total_steps: int) -> Timeline:
    """ACDC on Criteo (Section 4): 20 / 10 x (3 + 3) / 20 percent."""
    return _alternating(
        0.20, 10, [("sparse", 0.03), ("dense", 0.03)], [], 0.20, total_steps, None
    )


def sapp_criteo(
    total_steps: int, c: float = 4.0, split=(1 / 3, 1 / 3, 1 / 3)
) -> Timeline:
    """SA++ on Criteo: 20% dense, 9 x (sparsify, sparse, dense), 6% sparsify, 20%."""
    return _alternating(
        0.20,
        9,
        _sapp_phase(0.06, split),
        [("sparsify", 0.06)],
        0.20,
        total_steps,
        ExponentialCurve(c),
    )


def one_shot(total_steps: int, finetune: float = 0.15) -> Timeline:
    """Dense training, then prune at once and fine-tune for ``finetune`` of it.

    ``finetune=1`` prunes at step 0: pruning a trained model, then fine-tuning.
    """
    finetune = check_scalar(
        finetune, "finetune", low=0.0, high=1.0, low_inclusive=False
    )
    return Timeline.from_fractions(
        [("dense", 1.0 - finetune), ("sparse", finetune)], total_steps
    )


def gradual(total_steps: int, start: float = 0.1, stop: float = 0.7) -> Timeline:
    """Dense until ``start``, cubic sparsification until ``stop``, then sparse."""
    start = check_scalar(start, "start", low=0.0, high=1.0)
    stop = check_scalar(stop, "stop", low=start, high=1.0, high_inclusive=False)
    if stop <= start:
        raise ValueError(f"`stop` must be greater than start={start}; got {stop}.")
    return Timeline.from_fractions(
        [("dense", start), ("sparsify", stop - start), ("sparse", 1.0 - stop)],
        total_steps,
        CubicCurve(),
    )


PRESETS = {
    "one_shot": one_shot,
    "gradual": gradual,
    "acdc_imagenet": acdc_imagenet,
    "acdc_criteo": acdc_criteo,
    "sapp_imagenet": sapp_imagenet,
    "sapp_criteo": sapp_criteo,
}
"""Preset name -> function of ``total_steps`` building the :class:`Timeline`."""
