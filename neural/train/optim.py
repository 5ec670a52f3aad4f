"""Optimizers and per-step learning-rate schedules of the paper's recipes (Section 4).

* ImageNet: SGD with momentum (optionally Nesterov), weight decay, a linear
  warm-up then cosine decay to 0, stepped every optimizer step
  (:class:`WarmupCosine`)::

      factor(t) = (t + 1) / W                           for t < W
      factor(t) = (1 + cos(pi (t - W) / (T - W))) / 2  for W <= t <= T

  so the first step already trains, and the factor reaches 0 at ``t = T``, one
  step past the last one.
* Criteo: Adam with an exponential decay from ``lr0`` to ``lr1`` over the ``T``
  steps (2e-2 -> 3e-4 in the paper, :class:`ExponentialDecay`)::

      factor(t) = (lr1 / lr0) ** (min(t, T - 1) / (T - 1))

  so step 0 uses ``lr0`` and the last step ``T - 1`` uses ``lr1``.

A schedule is a small frozen dataclass mapping the step to a factor of each
parameter group's initial learning rate; :func:`build_scheduler` wraps it in
``torch.optim.lr_scheduler.LambdaLR``, whose ``state_dict`` stores the step and
the dataclass's fields (plain numbers), so it checkpoints and resumes exactly.

Weight decay comes from the optimizer's defaults, so a parameter group added
later inherits it: SA++'s attention logits (the pruner's own group) are decayed
too, as Appendix C.1 (trick 2) asks, unless the pruner is given
``logit_weight_decay``; their learning rate is a multiple of the optimizer's
(``SequentialAttentionPP.DEFAULT_LOGIT_LR_MULTIPLIER`` unless the pruner is
given ``logit_lr`` or ``logit_lr_multiplier``). Build the optimizer, then the pruner,
then the scheduler (which records every group's initial learning rate, the
logits' included, and scales every group by the same factor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.optim.lr_scheduler import LambdaLR

from nonconvex_reg.validation import check_choice, check_int, check_scalar

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "ConstantLR",
    "ExponentialDecay",
    "WarmupCosine",
    "build_optimizer",
    "build_scheduler",
]

OPTIMIZERS = ("sgd", "adam", "adamw")
"""Optimizer names accepted by :func:`build_optimizer`."""

SCHEDULES = ("constant", "warmup_cosine", "exponential")
"""Schedule names accepted by :func:`build_scheduler`."""


def build_optimizer(
    parameters,
    name: str = "sgd",
    *,
    lr: float,
    momentum: float = 0.9,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> torch.optim.Optimizer:
    """One optimizer over ``parameters``, with the options as its defaults.

    Parameters
    ----------
    parameters : iterable of torch.nn.Parameter
        Usually ``model.parameters()``.
    name : {"sgd", "adam", "adamw"}, default="sgd"
        SGD with momentum (ImageNet); Adam with L2 weight decay (Criteo); AdamW
        with decoupled weight decay.
    lr : float
        Initial learning rate, ``> 0``.
    momentum : float, default=0.9
        SGD momentum in ``[0, 1)``.
    nesterov : bool, default=False
        Nesterov momentum (SGD only; needs ``momentum > 0``).
    weight_decay : float, default=0.0
        ``>= 0``; inherited by groups added later (SA++'s logits).
    betas : pair of float, default=(0.9, 0.999)
        Adam's moment decays, each in ``[0, 1)``.
    eps : float, default=1e-8
        Adam's denominator guard, ``> 0``.

    Returns
    -------
    torch.optim.Optimizer

    Raises
    ------
    ValueError, TypeError
        On a bad option, naming it and the accepted range.

    Examples
    --------
    >>> import torch
    >>> opt = build_optimizer(torch.nn.Linear(2, 1).parameters(), "sgd", lr=0.1,
    ...                       nesterov=True, weight_decay=5e-5)
    >>> type(opt).__name__, opt.defaults["nesterov"], opt.defaults["weight_decay"]
    ('SGD', True, 5e-05)
    """
    check_choice(name, "optimizer", OPTIMIZERS)
    lr = check_scalar(lr, "lr", low=0.0, low_inclusive=False)
    weight_decay = check_scalar(weight_decay, "weight_decay", low=0.0)
    if name == "sgd":
        momentum = check_scalar(
            momentum, "momentum", low=0.0, high=1.0, high_inclusive=False
        )
        if not isinstance(nesterov, bool):
            raise TypeError(f"`nesterov` must be a bool; got {nesterov!r}.")
        if nesterov and momentum == 0.0:
            raise ValueError("`nesterov=True` needs `momentum` in (0, 1); got 0.0.")
        return torch.optim.SGD(
            parameters,
            lr=lr,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=weight_decay,
        )
    betas = _check_betas(betas)
    eps = check_scalar(eps, "eps", low=0.0, low_inclusive=False)
    kind = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    return kind(parameters, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


def _check_betas(betas):
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        raise TypeError(f"`betas` must be a pair of floats; got {betas!r}.")
    return tuple(
        check_scalar(b, f"betas[{i}]", low=0.0, high=1.0, high_inclusive=False)
        for i, b in enumerate(betas)
    )


@dataclass(frozen=True)
class ConstantLR:
    """Factor 1 at every step (the initial learning rate throughout).

    Examples
    --------
    >>> ConstantLR()(12345)
    1.0
    """

    def __call__(self, step: int) -> float:
        """The factor at ``step``: 1."""
        return 1.0


@dataclass(frozen=True)
class WarmupCosine:
    r"""Linear warm-up over ``warmup_steps``, then cosine decay to 0 at ``total_steps``.

    .. math::

        f(t) = (t + 1) / W \; (t < W), \qquad
        f(t) = \tfrac12 (1 + \cos(\pi \min(1, (t - W) / (T - W)))) \; (t \ge W)

    Parameters
    ----------
    total_steps : int
        ``T >= 1``.
    warmup_steps : int, default=0
        ``W`` in ``[0, T)``.

    Examples
    --------
    >>> schedule = WarmupCosine(total_steps=10, warmup_steps=2)
    >>> [round(schedule(t), 4) for t in (0, 1, 2, 6, 10)]
    [0.5, 1.0, 1.0, 0.5, 0.0]
    """

    total_steps: int
    warmup_steps: int = 0

    def __post_init__(self):
        check_int(self.total_steps, "total_steps", low=1)
        check_int(self.warmup_steps, "warmup_steps", low=0, high=self.total_steps - 1)

    def __call__(self, step: int) -> float:
        """The factor at ``step`` (0-based)."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        span = self.total_steps - self.warmup_steps
        progress = min((step - self.warmup_steps) / span, 1.0)
        return 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class ExponentialDecay:
    r"""Geometric decay by ``final_factor`` over ``total_steps`` (Criteo, Section 4).

    .. math:: f(t) = r^{\min(t, T - 1) / (T - 1)}, \qquad r = lr_1 / lr_0

    Parameters
    ----------
    total_steps : int
        ``T >= 1`` (with ``T = 1`` the factor is 1).
    final_factor : float
        ``r = lr1 / lr0 > 0``, the factor of the last step.

    Examples
    --------
    >>> schedule = ExponentialDecay(total_steps=101, final_factor=3e-4 / 2e-2)
    >>> [round(2e-2 * schedule(t), 8) for t in (0, 50, 100, 200)]
    [0.02, 0.00244949, 0.0003, 0.0003]
    """

    total_steps: int
    final_factor: float

    def __post_init__(self):
        check_int(self.total_steps, "total_steps", low=1)
        check_scalar(self.final_factor, "final_factor", low=0.0, low_inclusive=False)

    def __call__(self, step: int) -> float:
        """The factor at ``step`` (0-based)."""
        if self.total_steps == 1:
            return 1.0
        exponent = min(step, self.total_steps - 1) / (self.total_steps - 1)
        return self.final_factor**exponent


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    name: str = "constant",
    *,
    total_steps: int,
    warmup_steps: int = 0,
    final_lr: float | None = None,
) -> LambdaLR:
    """A per-step ``LambdaLR`` over every parameter group of ``optimizer``.

    Call ``scheduler.step()`` after every ``optimizer.step()`` (and after the
    pruner's ``step()``).

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Built with :func:`build_optimizer`, after the pruner added its groups.
    name : {"constant", "warmup_cosine", "exponential"}, default="constant"
    total_steps : int
        Steps of the run, ``>= 1``.
    warmup_steps : int, default=0
        ``"warmup_cosine"`` only; in ``[0, total_steps)``.
    final_lr : float, optional
        ``"exponential"`` only (required there): ``lr1``, the learning rate of the
        last step, for the first parameter group; every group decays by the same
        factor ``final_lr / lr0``.

    Returns
    -------
    torch.optim.lr_scheduler.LambdaLR

    Raises
    ------
    ValueError, TypeError
        On a bad option, or an option given to a schedule that does not use it.

    Examples
    --------
    >>> import torch
    >>> opt = build_optimizer(torch.nn.Linear(2, 1).parameters(), "adam", lr=2e-2)
    >>> scheduler = build_scheduler(opt, "exponential", total_steps=3, final_lr=3e-4)
    >>> lrs = []
    >>> for _ in range(3):
    ...     lrs.append(opt.param_groups[0]["lr"])
    ...     opt.step()
    ...     scheduler.step()
    >>> [round(lr, 8) for lr in lrs]
    [0.02, 0.00244949, 0.0003]
    """
    check_choice(name, "schedule", SCHEDULES)
    total_steps = check_int(total_steps, "total_steps", low=1)
    if name != "warmup_cosine" and warmup_steps != 0:
        raise ValueError(
            f"`warmup_steps` applies to schedule='warmup_cosine' only; got "
            f"{warmup_steps!r} with schedule={name!r}."
        )
    if name != "exponential" and final_lr is not None:
        raise ValueError(
            f"`final_lr` applies to schedule='exponential' only; got {final_lr!r} "
            f"with schedule={name!r}."
        )
    if name == "constant":
        factor = ConstantLR()
    elif name == "warmup_cosine":
        factor = WarmupCosine(total_steps, warmup_steps)
    else:
        if final_lr is None:
            raise ValueError("`final_lr` must be given for schedule='exponential'.")
        final_lr = check_scalar(final_lr, "final_lr", low=0.0, low_inclusive=False)
        lr0 = optimizer.param_groups[0].get(
            "initial_lr", optimizer.param_groups[0]["lr"]
        )
        factor = ExponentialDecay(total_steps, final_lr / lr0)
    return LambdaLR(optimizer, factor)
