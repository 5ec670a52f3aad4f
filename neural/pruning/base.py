"""The pruner lifecycle shared by every method (arXiv:2402.17902, Section 3).

It mirrors ``torch.ao.pruning``'s sparsifier: construction is ``prepare`` (each
layer's weight gets a block parametrization), :meth:`BlockPruner.step` follows
every ``optimizer.step()``, and :meth:`BlockPruner.finalize` is ``squash_mask``.
A method only chooses its parametrization (hence its block scores, see
``neural.parametrizations``) and its defaults (timeline, re-entry); supports
are chosen by the shared rule :func:`omp.select.top_k_groups`.

Phase semantics (a :class:`~neural.schedules.Timeline`), for a layer of ``N``
blocks and target sparsity ``s``, keeping ``k = N - floor(s N)`` blocks:

* entering ``dense``: the mask is lifted. What the blocks pruned in the previous
  phase hold is the re-entry convention ``reenter``: ``"zero"`` restarts their
  weights at zero (pruning, as AC/DC does); ``"keep"`` brings them back as they
  were (masking: Algorithm 1 of the paper only multiplies by the mask, and the
  paper's ACDC masked on Criteo, Section 4). With ``"zero"`` the gradient that
  reaches a returning block's attention, ``<dL/dW_eff,b, W_b>``, is zero until
  ``W_b`` regrows, so SA++ defaults to ``"keep"``.
* ``sparsify`` (Section 3.1): at phase time ``t`` keep the top
  ``N - floor(s curve(t) N)`` blocks by score among those still alive; the
  alive set only shrinks, and the phase's last step reaches ``k``. The support
  is updated every ``update_every`` steps (and at the phase's last step).
* entering ``sparse``: keep the top ``k`` blocks by score among those alive (all
  blocks after a dense phase: ACDC's top-k; exactly the survivors after a
  sparsify phase), then freeze them. Algorithm 1 recomputes the top-k at every
  dense step, but only the last one reaches the sparse phase, so selecting once
  at the entry is the same rule: a selection frequency in dense phases would
  only make that support stale.
* every phase switch clears the optimizer state, every parameter group's
  (Appendix C.1, trick 1).

Scores are compared within each layer (``scope="layer"``: uniform per-layer
sparsity, trick 3) or across all pruned layers (``scope="global"``), where
each parametrization's ``global_scores`` make them comparable: block norms for
the magnitude family, the log-attention ``log A`` (mean-1 ``A`` in every layer)
for SA++, whose raw logits mean something only up to a per-layer constant.

Each entry into a sparse phase records the layers' supports
(``neural.pruning.history``): :meth:`BlockPruner.history` counts the blocks
swapped since the previous sparse phase and the overlap with the final support.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch.nn.utils import parametrize

from nonconvex_reg.validation import check_choice, check_int
from omp.select import top_k_groups

from ..schedules import PRESETS, Timeline
from .history import SupportHistory, SupportSummary
from .layers import check_global_scope, check_sparsity, discover_layers
from .report import LayerReport, PruningReport

__all__ = ["BlockPruner", "PrunerFinalizedError", "n_kept_blocks"]

_EPS = 1e-9  # guards floor(s * N) against round-off such as 0.29 * 100


class PrunerFinalizedError(RuntimeError, ValueError):
    """A pruner was used after :meth:`BlockPruner.finalize`."""


def n_kept_blocks(n_blocks: int, sparsity: float) -> int:
    """``N - floor(s N)``: the blocks kept at sparsity ``s`` (at least the target).

    Examples
    --------
    >>> n_kept_blocks(400, 0.9), n_kept_blocks(100, 0.29), n_kept_blocks(7, 0.5)
    (40, 71, 4)
    """
    return n_blocks - math.floor(sparsity * n_blocks + _EPS)


class BlockPruner:
    """Block pruning during training: the shared lifecycle (see module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        The model; its layers are parametrized in place.
    sparsity : float
        Target block sparsity in ``[0, 1)``.
    block : int, pair of int or str
        Block size ``B_r x B_c`` on each layer's ``fan_in x fan_out`` matrix
        (:func:`neural.blocks.parse_block`).
    total_steps : int
        Training steps the timeline spans, ``>= 1``.
    optimizer : torch.optim.Optimizer, optional
        Its state is reset at every phase switch; methods with extra parameters
        (SA++'s logits) add them as a new parameter group. Create learning-rate
        schedulers after the pruner.
    timeline : Timeline or str, optional
        A :class:`~neural.schedules.Timeline` or a preset name of
        :data:`neural.schedules.PRESETS`; default the method's own.
    min_blocks : int, default=100
        Layers with fewer blocks stay dense.
    ignore : str or sequence of str, default=()
        Regular expressions; layers whose dotted name fully matches stay dense.
    layers : sequence of str or dict, optional
        Explicit layer config (see ``neural.pruning.layers``); default every
        ``Linear`` and ``Conv`` layer.
    scope : {"layer", "global"}, default="layer"
        Uniform per-layer sparsity, or one top-k over all pruned layers by the
        parametrization's ``global_scores`` (every layer with the pruner's
        sparsity and one block shape).
    reenter : {"zero", "keep"}, optional
        What pruned weights hold when a dense phase lifts the mask: ``"zero"``
        (pruning) or ``"keep"`` (masking); default the method's
        ``default_reenter``. See the module docstring.
    update_every : int, default=1
        Steps between support updates inside a sparsify phase (the paper leaves
        the frequency open); the phase's last step always updates.

    Raises
    ------
    ValueError, TypeError
        On any bad argument, naming it and the accepted range.
    """

    name = "base"
    default_timeline = "one_shot"
    default_reenter = "zero"

    def __init__(
        self,
        model,
        *,
        sparsity,
        block,
        total_steps,
        optimizer=None,
        timeline=None,
        min_blocks=100,
        ignore=(),
        layers=None,
        scope="layer",
        reenter=None,
        update_every=1,
    ):
        self.sparsity = check_sparsity(sparsity)
        self.total_steps = check_int(total_steps, "total_steps", low=1)
        self.timeline = self._resolve_timeline(timeline)
        self.scope = check_choice(scope, "scope", ("layer", "global"))
        self.reenter = check_choice(
            self.default_reenter if reenter is None else reenter,
            "reenter",
            ("zero", "keep"),
        )
        self.update_every = check_int(update_every, "update_every", low=1)
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"`optimizer` must be a torch.optim.Optimizer; got {type(optimizer)}."
            )
        self.model = model
        self.optimizer = optimizer
        self.layers, self.skipped = discover_layers(
            model,
            block=block,
            sparsity=self.sparsity,
            min_blocks=check_int(min_blocks, "min_blocks", low=1),
            ignore=ignore,
            layers=layers,
        )
        if self.scope == "global":
            check_global_scope(self.layers, self.sparsity)
        if not self.layers:
            warnings.warn(
                "no layer is pruned: every candidate was ignored or too small "
                "(see report()).",
                UserWarning,
                stacklevel=2,
            )
        self.masks = []
        for spec in self.layers:
            masking = self._make_parametrization(spec)
            parametrize.register_parametrization(spec.module, "weight", masking)
            self.masks.append(masking)
            self._prepare_layer(spec, masking)
        self._n_alive = self._full_counts()
        self._history = SupportHistory(spec.name for spec in self.layers)
        self._extra_params = self._add_extra_parameters()
        if optimizer is None and len(self.timeline.phases) > 1:
            warnings.warn(
                f"{self.name}: no `optimizer` was given, so its state cannot be "
                "reset at phase switches (arXiv:2402.17902, Appendix C.1, trick 1).",
                UserWarning,
                stacklevel=3,
            )
        self._step = 0
        self._finalized = False
        self._phase_index = self.timeline.index_at(0)
        self._enter(self.timeline.phases[self._phase_index], previous=None)

    # -- hooks for the methods ---------------------------------------------------

    def _make_parametrization(self, spec):
        """The parametrization module of one layer."""
        raise NotImplementedError

    def _prepare_layer(self, spec, masking):
        """One-time change to a freshly parametrized layer (default: none)."""

    def _extra_parameters(self):
        """Parameters the method adds to the model (default: none)."""
        return []

    def _extra_group_options(self):
        """Options of the optimizer parameter group of the extra parameters."""
        return {}

    # -- lifecycle -----------------------------------------------------------------

    @property
    def current_step(self) -> int:
        """Number of ``step()`` calls so far."""
        return self._step

    @property
    def phase(self):
        """The :class:`~neural.schedules.Phase` in force."""
        return self.timeline.phases[self._phase_index]

    def step(self) -> None:
        """Advance one training step; call it after every ``optimizer.step()``."""
        self._check_not_finalized("step")
        self._step += 1
        index = self.timeline.index_at(self._step)
        if index != self._phase_index:
            previous = self.phase
            self._phase_index = index
            self._reset_optimizer()
            self._enter(self.phase, previous)
        elif self.phase.kind == "sparsify":
            self._sparsify_update()

    def finalize(self):
        """Fold the masks (and attention) into the weights; return the plain model.

        The support is the current one if masking, else the top ``k`` by score
        among the alive blocks, so every pruned layer ends with exactly ``k``
        kept blocks whatever phase training stopped in. The parametrizations are
        removed with the effective weight written into the original parameter
        objects; extra parameters leave the optimizer. Each pruned module gets the
        attribute ``pruned_block_shape`` (the grid's ``(B_r, B_c)``), which
        :func:`neural.export.export_block_sparse` reads.
        """
        self._check_not_finalized("finalize")
        self._settle_support()
        self._history.finish(m.mask for m in self.masks)
        for spec in self.layers:
            parametrize.remove_parametrizations(
                spec.module, "weight", leave_parametrized=True
            )
            spec.module.pruned_block_shape = spec.grid.block_shape
        if self._extra_params:
            # Found by its parameters, not held as a dict: optimizer.load_state_dict
            # replaces every group dict.
            extra = {id(p) for p in self._extra_params}
            for param in self._extra_params:
                self.optimizer.state.pop(param, None)
            self.optimizer.param_groups[:] = [
                group
                for group in self.optimizer.param_groups
                if not any(id(p) in extra for p in group["params"])
            ]
            self._extra_params = []
        self._finalized = True
        return self.model

    def report(self) -> PruningReport:
        """Realized block and element sparsity per layer and in total.

        Its ``support`` rows summarize :meth:`history` per layer.
        """
        rows = []
        for spec, masking in zip(self.layers, self.masks, strict=True):
            grid = spec.grid
            sizes = grid.block_sizes()
            if masking.masking:
                kept = int(masking.mask.sum())
                kept_entries = int(sizes[masking.mask].sum())
            else:
                kept, kept_entries = grid.n_blocks, math.prod(grid.weight_shape)
            n_weights = math.prod(grid.weight_shape)
            rows.append(
                LayerReport(
                    spec.name,
                    grid.weight_shape,
                    grid.block_shape,
                    grid.n_blocks,
                    kept,
                    spec.sparsity,
                    1.0 - kept / grid.n_blocks,
                    1.0 - kept_entries / n_weights,
                    n_weights,
                    "pruned",
                )
            )
        for skipped in self.skipped:
            n_weights = math.prod(skipped.weight_shape)
            rows.append(
                LayerReport(
                    skipped.name,
                    skipped.weight_shape,
                    None,
                    0,
                    0,
                    0.0,
                    0.0,
                    0.0,
                    n_weights,
                    f"dense: {skipped.reason}",
                )
            )
        phase = "final" if self._finalized else self.phase.kind
        support = SupportSummary.summarize(self._history.records())
        return PruningReport(self.name, self._step, phase, tuple(rows), support)

    def history(self):
        """The support of every pruned layer at every entry into a sparse phase.

        Returns
        -------
        tuple of SupportRecord
            Entry by entry, layer by layer: the blocks swapped in and out since
            the previous sparse phase and, after :meth:`finalize`, the Jaccard
            overlap with the final support (``neural.pruning.history``).

        Examples
        --------
        >>> import torch, neural
        >>> model = torch.nn.Sequential(torch.nn.Linear(32, 32))
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> pruner = neural.prune(model, "acdc", sparsity=0.5, block=4,
        ...                       total_steps=100, optimizer=optimizer,
        ...                       timeline="acdc_criteo", min_blocks=8)
        >>> for _ in range(100):
        ...     optimizer.zero_grad()
        ...     model(torch.randn(8, 32)).square().mean().backward()
        ...     optimizer.step()
        ...     pruner.step()
        >>> _ = pruner.finalize()
        >>> first, *_, last = records = pruner.history()
        >>> len(records), first.kept, first.swapped_in, last.jaccard_final
        (11, 32, None, 1.0)
        """
        return self._history.records()

    def state_dict(self) -> dict:
        """The phase state and support history (masks and logits: the model's)."""
        return {
            "step": self._step,
            "finalized": self._finalized,
            "n_alive": list(self._n_alive),
            "config": self._config(),
            "support_history": self._history.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore the phase state of a pruner built with the same configuration.

        Load the model's and the optimizer's ``state_dict`` as well: the masks,
        logits and weights live there. A state saved before the support history
        existed restores an empty history.
        """
        if state.get("config") != self._config():
            raise ValueError(
                "`state` was saved by a pruner with another configuration: "
                f"saved {state.get('config')}, this one {self._config()}."
            )
        if state["finalized"]:
            raise PrunerFinalizedError("`state` is from a finalized pruner.")
        self._step = check_int(state["step"], "step", low=0)
        self._n_alive = [int(n) for n in state["n_alive"]]
        self._history.load_state_dict(
            state.get("support_history", {"steps": [], "supports": []}),
            [m.mask for m in self.masks],
        )
        self._phase_index = self.timeline.index_at(self._step)
        masking = self.phase.kind != "dense"
        for module in self.masks:
            module.masking = masking

    # -- internals -----------------------------------------------------------------

    def _config(self) -> dict:
        return {
            "method": self.name,
            "sparsity": self.sparsity,
            "scope": self.scope,
            "reenter": self.reenter,
            "update_every": self.update_every,
            "layers": [
                [s.name, list(s.grid.block_shape), s.sparsity] for s in self.layers
            ],
            "timeline": self.timeline.to_dict(),
        }

    def _resolve_timeline(self, timeline):
        if timeline is None:
            timeline = self.default_timeline
        if isinstance(timeline, str):
            check_choice(timeline, "timeline", tuple(PRESETS))
            return PRESETS[timeline](self.total_steps)
        if not isinstance(timeline, Timeline):
            raise TypeError(
                "`timeline` must be a Timeline or one of "
                f"{tuple(PRESETS)}; got {type(timeline).__name__}."
            )
        if timeline.total_steps != self.total_steps:
            raise ValueError(
                f"`timeline` spans {timeline.total_steps} steps; it must match "
                f"total_steps={self.total_steps}."
            )
        return timeline

    def _add_extra_parameters(self):
        params = list(self._extra_parameters())
        if not params or self.optimizer is None:
            return []
        self.optimizer.add_param_group(
            {"params": params, **self._extra_group_options()}
        )
        return params

    def _check_not_finalized(self, verb):
        if self._finalized:
            raise PrunerFinalizedError(
                f"{verb}() was called after finalize(); the pruner is spent."
            )

    def _reset_optimizer(self):
        if self.optimizer is not None:
            self.optimizer.state.clear()

    def _weights(self):
        return [spec.module.parametrizations.weight.original for spec in self.layers]

    def _full_counts(self) -> list[int]:
        """Blocks per layer, or one total with ``scope="global"``."""
        counts = [spec.grid.n_blocks for spec in self.layers]
        return [sum(counts)] if self.scope == "global" and counts else counts

    def _targets(self, fraction_of_target: float) -> list[int]:
        """Kept blocks per layer (or one global count) at a fraction of the target."""
        if self.scope == "global" and self.layers:
            total = sum(spec.grid.n_blocks for spec in self.layers)
            return [n_kept_blocks(total, self.sparsity * fraction_of_target)]
        return [
            n_kept_blocks(spec.grid.n_blocks, spec.sparsity * fraction_of_target)
            for spec in self.layers
        ]

    def _enter(self, phase, previous):
        was_masking = previous is not None and previous.kind != "dense"
        if phase.kind == "dense":
            if was_masking and self.reenter == "zero":
                with torch.no_grad():
                    for weight, masking in zip(
                        self._weights(), self.masks, strict=True
                    ):
                        weight.copy_(
                            masking.grid.scale(weight, masking.mask.to(weight.dtype))
                        )
            for masking in self.masks:
                masking.masking = False
            self._n_alive = self._full_counts()
            return
        if not was_masking:
            for masking in self.masks:
                masking.mask.fill_(True)
            self._n_alive = self._full_counts()
        for masking in self.masks:
            masking.masking = True
        if phase.kind == "sparse":
            self._select(self._targets(1.0))
            self._history.record(self._step, (m.mask for m in self.masks))
        else:
            self._sparsify_update()

    def _sparsify_update(self):
        phase = self.phase
        offset = self._step - phase.start
        if offset % self.update_every and self._step != phase.stop - 1:
            return
        self._select(self._targets(phase.curve(phase.progress(self._step))))

    def _settle_support(self):
        """Put every layer on its final ``k``-block support, with masking on."""
        if self.phase.kind == "dense":
            for masking in self.masks:
                masking.mask.fill_(True)
            self._n_alive = self._full_counts()
        for masking in self.masks:
            masking.masking = True
        self._select(self._targets(1.0))

    def _select(self, targets):
        """Shrink the alive sets to ``targets`` blocks by the shared top-k rule.

        A target above the alive count keeps every alive block: pruning is
        monotone and a pruned block never comes back inside a masked phase.
        """
        targets = [min(t, a) for t, a in zip(targets, self._n_alive, strict=True)]
        if targets == self._n_alive:
            return
        weights = self._weights()
        if self.scope == "global":
            scores = [
                m.global_scores(w) for m, w in zip(self.masks, weights, strict=True)
            ]
            scores = [torch.cat([score.reshape(-1) for score in scores])]
            masks = [torch.cat([m.mask.reshape(-1) for m in self.masks])]
        else:
            scores = [
                m.scores(w).reshape(-1)
                for m, w in zip(self.masks, weights, strict=True)
            ]
            masks = [m.mask.reshape(-1) for m in self.masks]
        chosen_masks = []
        for score, mask, target in zip(scores, masks, targets, strict=True):
            # The counts are host-side integers and the candidates are exactly the
            # alive blocks, so the rule needs no device-to-host check.
            chosen = top_k_groups(score, target, candidates=mask, validate=False)
            chosen_masks.append(torch.zeros_like(mask).index_fill_(0, chosen, True))
        if self.scope == "global":
            sizes = [spec.grid.n_blocks for spec in self.layers]
            chosen_masks = torch.split(chosen_masks[0], sizes)
        with torch.no_grad():
            for masking, chosen in zip(self.masks, chosen_masks, strict=True):
                masking.mask.copy_(chosen.view_as(masking.mask))
        self._n_alive = targets
