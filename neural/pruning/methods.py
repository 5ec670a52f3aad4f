"""The four block-pruning methods (arXiv:2402.17902, Sections 3-4) and :func:`prune`.

Each is a :class:`~neural.pruning.base.BlockPruner` that picks a parametrization
(which fixes its block scores) and its defaults:

==============================  ========================  ==================  =======
method                          scores (top-k kept)       default timeline    reenter
==============================  ========================  ==================  =======
:class:`Magnitude`              ``||W_b||_F``             ``one_shot``        zero
:class:`PowerProp`              ``||W_b||_F^alpha``       ``one_shot``        zero
:class:`ACDC`                   ``||W_b||_F``             ``acdc_imagenet``   zero
:class:`SequentialAttentionPP`  attention ``A``           ``sapp_imagenet``   keep
==============================  ========================  ==================  =======

Any method runs on any timeline: SA++ on ``acdc_imagenet`` is the paper's
ablation without the sparsification phase (Table 3), magnitude on ``gradual`` is
gradual magnitude pruning with the cubic schedule. Re-entry only matters on
timelines with a dense phase after a masked one (ACDC's and SA++'s).

Comparability of scores across layers (``scope="global"``): the magnitude
family ranks by block norms (of the effective weights for powerprop), in the
weights' units in every layer, as global magnitude pruning does; SA++ ranks by
``log A``, since its logits are only defined up to a per-layer constant.
"""

from __future__ import annotations

from nonconvex_reg.validation import check_scalar

from ..parametrizations import BlockAttention, BlockMask, BlockPowerProp
from .base import BlockPruner

__all__ = [
    "ACDC",
    "METHODS",
    "Magnitude",
    "PowerProp",
    "SequentialAttentionPP",
    "prune",
]


class Magnitude(BlockPruner):
    """Block magnitude pruning: keep the blocks of largest Frobenius norm (Section 4).

    One-shot by default (dense training, prune, fine-tune the last 15%);
    ``timeline="gradual"`` prunes gradually on the cubic schedule.
    """

    name = "magnitude"
    default_timeline = "one_shot"

    def _make_parametrization(self, spec):
        return BlockMask(spec.grid, spec.module.weight.device)


class ACDC(BlockPruner):
    """AC/DC (Peste et al. 2021): alternating dense and top-k-by-magnitude phases.

    Dense warm-up, alternating sparse/dense phases, a final sparse phase (the
    ImageNet timeline of the paper's Section 4 by default); the optimizer state
    is reset at every switch. Pruned weights re-enter at zero by default
    (``reenter="zero"``, AC/DC's pruning); ``reenter="keep"`` masks instead, as
    the paper's ACDC did on Criteo.
    """

    name = "acdc"
    default_timeline = "acdc_imagenet"
    default_reenter = "zero"

    def _make_parametrization(self, spec):
        return BlockMask(spec.grid, spec.module.weight.device)


class PowerProp(BlockPruner):
    """Block powerpropagation (Lemma 2.3, Section 4), pruned by effective magnitude.

    Each block is multiplied by its Frobenius norm to the power ``alpha - 1``:
    ``W_eff,b = W_b ||W_b||^(alpha-1)``. At construction the stored weights are
    rescaled so that the effective weights equal the model's current weights
    (the usual initial distribution).

    Parameters
    ----------
    alpha : float, default=2.0
        Power, ``>= 1``; ``alpha = 2`` is group LASSO's reparametrization.
    **kwargs
        See :class:`~neural.pruning.base.BlockPruner`.
    """

    name = "powerprop"
    default_timeline = "one_shot"

    def __init__(self, model, *, alpha=2.0, **kwargs):
        self.alpha = check_scalar(alpha, "alpha", low=1.0)
        super().__init__(model, **kwargs)

    def _make_parametrization(self, spec):
        return BlockPowerProp(spec.grid, self.alpha, spec.module.weight.device)

    def _prepare_layer(self, spec, masking):
        masking.rescale_from_effective(spec.module.parametrizations.weight.original)

    def _config(self):
        return {**super()._config(), "alpha": self.alpha}


class SequentialAttentionPP(BlockPruner):
    """SequentialAttention++ (arXiv:2402.17902, Algorithm 1 with blocks, Section 3).

    One trainable logit per block, ``A = n_blocks softmax(L)`` per layer (mean 1),
    effective weight ``W * A * mask``. The support is the top-k blocks by
    attention; sparsify phases prune the least-attended alive blocks on the
    exponential schedule; ``A`` stays in the forward pass in every phase and is
    folded into the weights by ``finalize()``. As in Algorithm 1 the mask only
    multiplies: pruned blocks keep their weights and return with them in the
    next dense phase (``reenter="keep"`` by default).

    The knobs the paper leaves open or ablates:

    * the sparsification exponent ``c`` (Table 4): a timeline built with it,
      ``timeline=schedules.sapp_imagenet(total_steps, c=8)`` (recipe key
      ``prune.timeline_args.c``);
    * no sparsification phase (Table 3): ``timeline="acdc_imagenet"`` or
      ``"acdc_criteo"``;
    * the support update frequency in sparsify phases: ``update_every``;
    * the re-entry convention: ``reenter``;
    * the attention's clip range, learning rate and weight decay: below.

    Parameters
    ----------
    attention_bounds : "density", tuple of float or None, default="density"
        Clip range of ``A``. ``"density"`` clips to ``[d, 1/d]`` with ``d = 1 -
        sparsity`` of the layer (no clipping at sparsity 0). Appendix C.1 prints
        ``[n d, n / d]``, which cannot hold for a mean-1 ``A`` when ``n`` is the
        number of blocks; we read it as the softmax probability ``A / n`` clipped
        to ``[d / n, 1 / (n d)]``, which is ``A`` in ``[d, 1/d]``.
    logit_lr : float, optional
        Learning rate of the logits' parameter group, ``>= 0``. Exclusive with
        ``logit_lr_multiplier``.
    logit_lr_multiplier : float, optional
        The logits' learning rate as a multiple (``> 0``) of the optimizer's
        default ``lr``; the learning-rate schedule then scales both alike.
        Default :attr:`DEFAULT_LOGIT_LR_MULTIPLIER` (10) when neither this nor
        ``logit_lr`` is given. The paper gives no logit learning rate; at the
        weights' rate (x1) the logits barely move in short runs, and SA++
        degenerates into one-shot selection by nearly untrained attention.
        ``sapp bench ablation --quick`` (3 seeds) measured x10 at +0.058 test
        accuracy over x1 on MNIST-1D (8x8 blocks, 90%, 500 steps; noise 0.018)
        and the same validation log-loss on the planted Criteo task; the
        equal-budget random search of ``sapp bench tune --quick`` chose 6.7 and
        8.3 on the two tasks. The full ablation (3000 MNIST-1D steps,
        ``benchmarks/results/ablation.md``) put x1 at -0.023 and x100 at +0.036
        against x10 (noise 0.016-0.018), every multiplier within noise on
        Criteo. x100 is not the default: both tasks use Adam at learning rates
        up to 5e-3, and a hundredfold rate under other optimizers and rates is
        untested; tune it per task (``sapp bench tune`` searches [1, 100]).
    logit_weight_decay : float, optional
        Weight decay on the logits (Appendix C.1, trick 2), ``>= 0``, separate
        from the weights'; default the optimizer's.
    **kwargs
        See :class:`~neural.pruning.base.BlockPruner`.

    Raises
    ------
    ValueError, TypeError
        On a bad option, or both ``logit_lr`` and ``logit_lr_multiplier``.
    """

    name = "sapp"
    default_timeline = "sapp_imagenet"
    default_reenter = "keep"
    #: The logits' learning rate over the optimizer's when none is given.
    DEFAULT_LOGIT_LR_MULTIPLIER = 10.0

    def __init__(
        self,
        model,
        *,
        attention_bounds="density",
        logit_lr=None,
        logit_lr_multiplier=None,
        logit_weight_decay=None,
        **kwargs,
    ):
        self.attention_bounds = _check_bounds(attention_bounds)
        self.logit_lr = (
            None if logit_lr is None else check_scalar(logit_lr, "logit_lr", low=0.0)
        )
        self.logit_lr_multiplier = (
            None
            if logit_lr_multiplier is None
            else check_scalar(
                logit_lr_multiplier, "logit_lr_multiplier", low=0.0, low_inclusive=False
            )
        )
        if self.logit_lr is not None and self.logit_lr_multiplier is not None:
            raise ValueError(
                "`logit_lr` and `logit_lr_multiplier` are exclusive; got "
                f"logit_lr={logit_lr!r} and logit_lr_multiplier="
                f"{logit_lr_multiplier!r}."
            )
        self.logit_weight_decay = (
            None
            if logit_weight_decay is None
            else check_scalar(logit_weight_decay, "logit_weight_decay", low=0.0)
        )
        super().__init__(model, **kwargs)

    def _make_parametrization(self, spec):
        bounds = self.attention_bounds
        if bounds == "density":
            density = 1.0 - spec.sparsity
            bounds = None if density == 1.0 else (density, 1.0 / density)
        return BlockAttention(spec.grid, bounds, spec.module.weight.device)

    def _extra_parameters(self):
        return [masking.logits for masking in self.masks]

    def _extra_group_options(self):
        options = {}
        if self.logit_lr is not None:
            options["lr"] = self.logit_lr
        else:
            multiplier = self.logit_lr_multiplier or self.DEFAULT_LOGIT_LR_MULTIPLIER
            options["lr"] = multiplier * self.optimizer.defaults["lr"]
        if self.logit_weight_decay is not None:
            options["weight_decay"] = self.logit_weight_decay
        return options

    def _config(self):
        bounds = self.attention_bounds
        return {
            **super()._config(),
            "attention_bounds": bounds
            if isinstance(bounds, str | None)
            else list(bounds),
        }


def _check_bounds(bounds):
    if bounds is None or bounds == "density":
        return bounds
    if not isinstance(bounds, tuple | list) or len(bounds) != 2:
        raise TypeError(
            "`attention_bounds` must be 'density', None or a pair (low, high); "
            f"got {bounds!r}."
        )
    low = check_scalar(bounds[0], "attention_bounds[0]", low=0.0)
    high = check_scalar(bounds[1], "attention_bounds[1]", low=1.0)
    if low > 1.0:
        raise ValueError(
            f"`attention_bounds` must satisfy low <= 1 <= high (A has mean 1); "
            f"got {bounds!r}."
        )
    return (low, high)


METHODS = {cls.name: cls for cls in (Magnitude, PowerProp, ACDC, SequentialAttentionPP)}
"""Method name -> pruner class."""


def prune(model, method="sapp", *, sparsity, block, total_steps, **options):
    """Prepare ``model`` for block pruning; returns the pruner.

    Parameters
    ----------
    model : torch.nn.Module
    method : {"magnitude", "powerprop", "acdc", "sapp"}, default="sapp"
    sparsity : float
        Target block sparsity in ``[0, 1)``.
    block : int, pair of int or str
        Block size, e.g. ``8``, ``(8, 4)`` or ``"8x8"``.
    total_steps : int
        Training steps the schedule spans.
    **options
        ``optimizer``, ``timeline``, ``min_blocks`` (100), ``ignore``, ``layers``,
        ``scope``, ``reenter``, ``update_every`` and the method's own options
        (``alpha``; ``attention_bounds``, ``logit_lr``, ``logit_lr_multiplier``,
        ``logit_weight_decay``).

    Returns
    -------
    BlockPruner
        Call ``pruner.step()`` after every ``optimizer.step()`` and
        ``pruner.finalize()`` at the end.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> import neural
    >>> model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    >>> optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    >>> pruner = neural.prune(model, "sapp", sparsity=0.75, block=4,
    ...                       total_steps=30, optimizer=optimizer, min_blocks=16)
    >>> for _ in range(30):
    ...     optimizer.zero_grad()
    ...     model(torch.randn(8, 64)).square().mean().backward()
    ...     optimizer.step()
    ...     pruner.step()
    >>> model = pruner.finalize()
    >>> report = pruner.report()
    >>> report.layers[0].kept_blocks, report.layers[0].n_blocks
    (64, 256)
    """
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {tuple(METHODS)}; got {method!r}.")
    return METHODS[method](
        model, sparsity=sparsity, block=block, total_steps=total_steps, **options
    )
