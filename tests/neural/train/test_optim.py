import math

import pytest
import torch

import neural
from neural.train.optim import (
    ConstantLR,
    ExponentialDecay,
    WarmupCosine,
    build_optimizer,
    build_scheduler,
)

from .conftest import make_model


def _lrs(optimizer, scheduler, n, group=0):
    values = []
    for _ in range(n):
        values.append(optimizer.param_groups[group]["lr"])
        optimizer.step()
        scheduler.step()
    return values


def test_warmup_cosine_values():
    schedule = WarmupCosine(total_steps=100, warmup_steps=10)
    # linear warm-up: (t + 1) / W, the first step already trains
    assert [schedule(t) for t in range(3)] == pytest.approx([0.1, 0.2, 0.3])
    assert schedule(9) == 1.0 and schedule(10) == 1.0
    # cosine: (1 + cos(pi (t - W) / (T - W))) / 2
    assert schedule(55) == pytest.approx(0.5)
    assert schedule(32.5) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert schedule(100) == pytest.approx(0.0, abs=1e-15)
    assert schedule(150) == pytest.approx(0.0, abs=1e-15)  # stays at 0 past the end
    values = [schedule(t) for t in range(10, 101)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))
    assert WarmupCosine(10)(0) == 1.0  # no warm-up


def test_exponential_endpoints_are_the_paper_criteo_rates():
    total = 1000
    optimizer = build_optimizer(make_model().parameters(), "adam", lr=2e-2)
    scheduler = build_scheduler(
        optimizer, "exponential", total_steps=total, final_lr=3e-4
    )
    lrs = _lrs(optimizer, scheduler, total)
    assert lrs[0] == 2e-2
    assert lrs[-1] == pytest.approx(3e-4, rel=1e-12)
    ratios = [b / a for a, b in zip(lrs, lrs[1:], strict=False)]
    assert ratios == pytest.approx([(3e-4 / 2e-2) ** (1 / (total - 1))] * (total - 1))
    assert ExponentialDecay(1, 0.5)(0) == 1.0


def test_constant():
    assert ConstantLR()(0) == ConstantLR()(10**9) == 1.0


def test_scheduler_covers_the_sapp_logits_group_and_weight_decay_reaches_it():
    model = make_model()
    optimizer = build_optimizer(
        model.parameters(),
        "sgd",
        lr=0.4,
        momentum=0.9,
        nesterov=True,
        weight_decay=5e-5,
    )
    pruner = neural.prune(
        model,
        "sapp",
        sparsity=0.5,
        block=4,
        total_steps=20,
        optimizer=optimizer,
        min_blocks=50,
    )
    logits_group = optimizer.param_groups[-1]
    assert logits_group["params"] == [m.logits for m in pruner.masks]
    assert logits_group["weight_decay"] == 5e-5  # Appendix C.1, trick 2
    assert logits_group["nesterov"] is True
    scheduler = build_scheduler(
        optimizer, "warmup_cosine", total_steps=20, warmup_steps=4
    )
    # the logits' rate is the default multiple of the weights', warmed up alike
    multiplier = neural.pruning.SequentialAttentionPP.DEFAULT_LOGIT_LR_MULTIPLIER
    assert _lrs(optimizer, scheduler, 4, group=-1) == pytest.approx(
        [multiplier * lr for lr in (0.1, 0.2, 0.3, 0.4)]
    )


def test_pruner_logit_options_still_override_the_defaults():
    model = make_model()
    optimizer = build_optimizer(model.parameters(), "adam", lr=1e-3, weight_decay=0.1)
    neural.prune(
        model,
        "sapp",
        sparsity=0.5,
        block=4,
        total_steps=20,
        optimizer=optimizer,
        min_blocks=50,
        logit_lr=0.5,
        logit_weight_decay=0.0,
    )
    assert optimizer.param_groups[-1]["lr"] == 0.5
    assert optimizer.param_groups[-1]["weight_decay"] == 0.0


def test_a_logit_lr_multiplier_survives_the_schedule():
    # issue 15: the logits' rate is a separate group's, a fixed multiple of the
    # weights' rate at every step of the Criteo schedule.
    model = make_model()
    optimizer = build_optimizer(model.parameters(), "adam", lr=2e-2)
    neural.prune(
        model,
        "sapp",
        sparsity=0.5,
        block=4,
        total_steps=20,
        optimizer=optimizer,
        min_blocks=50,
        logit_lr_multiplier=100.0,
    )
    scheduler = build_scheduler(optimizer, "exponential", total_steps=20, final_lr=3e-4)
    weights, logits = [], []
    for _ in range(20):
        weights.append(optimizer.param_groups[0]["lr"])
        logits.append(optimizer.param_groups[-1]["lr"])
        optimizer.step()
        scheduler.step()
    assert logits == pytest.approx([100.0 * lr for lr in weights], rel=1e-12)
    assert weights[-1] == pytest.approx(3e-4)


def test_scheduler_state_round_trip_resumes_exactly():
    def build():
        optimizer = build_optimizer(make_model().parameters(), "sgd", lr=0.8)
        return optimizer, build_scheduler(
            optimizer, "warmup_cosine", total_steps=50, warmup_steps=5
        )

    optimizer, scheduler = build()
    _lrs(optimizer, scheduler, 17)
    saved_optimizer, saved = optimizer.state_dict(), scheduler.state_dict()
    rest = _lrs(optimizer, scheduler, 20)
    optimizer2, scheduler2 = build()
    optimizer2.load_state_dict(saved_optimizer)
    scheduler2.load_state_dict(saved)
    assert _lrs(optimizer2, scheduler2, 20) == rest


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"name": "rmsprop"}, ValueError, r"`optimizer` must be one of \('sgd'"),
        ({"lr": 0.0}, ValueError, r"`lr` must be in \(0, inf\); got 0.0"),
        ({"momentum": 1.0}, ValueError, r"`momentum` must be in \[0, 1\)"),
        ({"nesterov": True, "momentum": 0.0}, ValueError, "nesterov"),
        ({"nesterov": 1}, TypeError, "`nesterov` must be a bool"),
        ({"weight_decay": -1.0}, ValueError, "`weight_decay`"),
        ({"name": "adam", "betas": (0.9,)}, TypeError, "`betas` must be a pair"),
        ({"name": "adam", "betas": (0.9, 1.0)}, ValueError, r"`betas\[1\]`"),
    ],
)
def test_optimizer_errors_name_the_argument(options, error, match):
    options = {"name": "sgd", "lr": 0.1, **options}
    with pytest.raises(error, match=match):
        build_optimizer(make_model().parameters(), **options)


def test_schedule_errors_name_the_argument():
    optimizer = build_optimizer(make_model().parameters(), "adam", lr=1e-3)
    with pytest.raises(ValueError, match="`schedule` must be one of"):
        build_scheduler(optimizer, "step", total_steps=10)
    with pytest.raises(ValueError, match="`final_lr` must be given"):
        build_scheduler(optimizer, "exponential", total_steps=10)
    with pytest.raises(ValueError, match="`warmup_steps` applies to"):
        build_scheduler(optimizer, "constant", total_steps=10, warmup_steps=2)
    with pytest.raises(ValueError, match="`final_lr` applies to"):
        build_scheduler(optimizer, "warmup_cosine", total_steps=10, final_lr=1e-4)
    with pytest.raises(
        ValueError, match=r"`warmup_steps` must be an integer in \[0, 9\]"
    ):
        WarmupCosine(total_steps=10, warmup_steps=10)
    with pytest.raises(ValueError, match="`final_factor`"):
        ExponentialDecay(10, 0.0)
    assert isinstance(
        build_scheduler(optimizer, total_steps=3), torch.optim.lr_scheduler.LambdaLR
    )
