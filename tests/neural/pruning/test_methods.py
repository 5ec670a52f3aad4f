import pytest
import torch
from torch import nn

import neural
from neural import schedules
from neural.pruning import ACDC, Magnitude, PowerProp, SequentialAttentionPP

from .conftest import batches, build, make_mlp, train


def test_prune_dispatches_to_the_public_classes():
    classes = {"magnitude": Magnitude, "powerprop": PowerProp, "acdc": ACDC}
    classes["sapp"] = SequentialAttentionPP
    for name, cls in classes.items():
        _, _, pruner = build(name)
        assert type(pruner) is cls and pruner.name == name
    with pytest.raises(ValueError, match="`method` must be one of"):
        neural.prune(make_mlp(), "random", sparsity=0.5, block=4, total_steps=10)


@pytest.mark.parametrize(
    ("method", "kinds"),
    [
        ("magnitude", ["dense", "sparse"]),
        ("powerprop", ["dense", "sparse"]),
        ("acdc", ["dense"] + ["sparse", "dense"] * 7 + ["sparse"]),
        (
            "sapp",
            ["dense"] + ["sparsify", "sparse", "dense"] * 6 + ["sparsify", "sparse"],
        ),
    ],
)
def test_default_timelines(method, kinds):
    _, _, pruner = build(method, total_steps=1000)
    assert [p.kind for p in pruner.timeline.phases] == kinds


def test_sapp_attention_has_mean_one_and_gradients_reach_the_logits():
    model, optimizer, pruner = build("sapp", attention_bounds=None)
    masking = pruner.masks[0]
    with torch.no_grad():
        masking.logits.normal_()
    attention = masking.attention()
    assert attention.mean().item() == pytest.approx(1.0, rel=1e-6)
    model(torch.randn(4, 24)).sum().backward()
    assert masking.logits.grad is not None and masking.logits.grad.abs().sum() > 0
    # The logits are trained: they are in the optimizer, in their own group.
    assert optimizer.param_groups[-1]["params"] == [m.logits for m in pruner.masks]


def test_sapp_effective_weight_is_weight_times_attention():
    model, _, pruner = build("sapp", attention_bounds=None)
    masking, spec = pruner.masks[0], pruner.layers[0]
    with torch.no_grad():
        masking.logits.normal_()
    original = spec.module.parametrizations.weight.original
    expected = original * spec.grid.expand(masking.attention())
    torch.testing.assert_close(spec.module.weight, expected)


def test_sapp_default_bounds_clip_attention_to_density_range():
    _, _, pruner = build("sapp", sparsity=0.75)
    masking = pruner.masks[0]
    assert masking.bounds == (0.25, 4.0)
    with torch.no_grad():
        masking.logits.zero_()
        masking.logits[0, 0] = 50.0
    attention = masking.attention()
    assert attention.max().item() == 4.0 and attention.min().item() == 0.25


def test_sapp_selects_by_attention_not_magnitude():
    timeline = schedules.one_shot(2, finetune=0.5)
    model, optimizer, pruner = build(
        "sapp", timeline=timeline, total_steps=2, lr=0.0, sparsity=0.5
    )
    masking = pruner.masks[0]
    with torch.no_grad():
        masking.logits.copy_(
            torch.arange(masking.logits.numel()).view_as(masking.logits).float()
        )
    train(model, optimizer, pruner, batches(0, 1, (24,)))
    flat = masking.mask.reshape(-1)
    n_blocks = flat.numel()
    assert flat[n_blocks // 2 :].all() and not flat[: n_blocks // 2].any()


def test_sapp_logit_options_reach_the_parameter_group_and_leave_at_finalize():
    model = make_mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-4)
    pruner = neural.prune(
        model,
        "sapp",
        sparsity=0.5,
        block=4,
        total_steps=10,
        optimizer=optimizer,
        min_blocks=8,
        logit_lr=0.5,
        logit_weight_decay=1e-2,
    )
    group = optimizer.param_groups[-1]
    assert group["lr"] == 0.5 and group["weight_decay"] == 1e-2
    assert len(optimizer.param_groups) == 2
    pruner.finalize()
    assert len(optimizer.param_groups) == 1
    assert not any("logits" in name for name in model.state_dict())


def test_reenter_defaults_follow_each_method():
    # issue 15: Algorithm 1 only masks, so SA++ keeps pruned weights by default;
    # ACDC prunes (zero). Either is an explicit option.
    assert [build(m)[2].reenter for m in ("acdc", "sapp")] == ["zero", "keep"]
    assert build("sapp", reenter="zero")[2].reenter == "zero"
    assert build("acdc", reenter="keep")[2].reenter == "keep"


def test_sapp_keep_brings_pruned_weights_back_in_the_next_dense_phase():
    timeline = schedules.Timeline.from_fractions(
        [("dense", 0.25), ("sparse", 0.25), ("dense", 0.5)], 8
    )
    model, optimizer, pruner = build("sapp", timeline=timeline, total_steps=8, lr=0.0)
    before = model[0].parametrizations.weight.original.detach().clone()
    train(model, optimizer, pruner, batches(0, 4, (24,)))
    assert pruner.phase.kind == "dense" and not pruner.masks[0].mask.all()
    assert torch.equal(model[0].parametrizations.weight.original, before)


def test_logit_lr_multiplier_scales_the_optimizer_rate_in_its_own_group():
    model = make_mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    pruner = neural.prune(
        model,
        "sapp",
        sparsity=0.5,
        block=4,
        total_steps=40,
        optimizer=optimizer,
        min_blocks=8,
        logit_lr_multiplier=10.0,
        logit_weight_decay=0.0,
    )
    weights, logits = optimizer.param_groups
    assert logits["params"] == [m.logits for m in pruner.masks]
    assert logits["lr"] == pytest.approx(2e-2) and weights["lr"] == 2e-3
    assert (logits["weight_decay"], weights["weight_decay"]) == (0.0, 1e-4)


def test_phase_switches_clear_the_state_of_the_logits_group_too():
    timeline = schedules.Timeline.from_fractions([("dense", 0.5), ("sparse", 0.5)], 6)
    model, optimizer, pruner = build(
        "sapp", timeline=timeline, total_steps=6, logit_lr_multiplier=100.0
    )
    logits = pruner.masks[0].logits
    train(model, optimizer, pruner, batches(0, 2, (24,)))
    assert "exp_avg" in optimizer.state[logits]
    train(model, optimizer, pruner, batches(1, 1, (24,)))  # step 3: the switch
    assert logits not in optimizer.state and len(optimizer.state) == 0


def test_phases_without_an_optimizer_warn():
    with pytest.warns(UserWarning, match="no `optimizer` was given"):
        neural.prune(
            make_mlp(), "sapp", sparsity=0.5, block=4, total_steps=10, min_blocks=8
        )


def test_powerprop_starts_from_the_original_effective_weights():
    model = make_mlp()
    reference = model[0].weight.detach().clone()
    _, _, pruner = build("powerprop", model=model, alpha=3.0)
    torch.testing.assert_close(model[0].weight, reference, rtol=1e-5, atol=1e-6)
    original = model[0].parametrizations.weight.original
    grid = pruner.layers[0].grid
    # Stored blocks are ||u_b||^(1/alpha) in norm.
    torch.testing.assert_close(
        grid.block_norms(original),
        grid.block_norms(reference).pow(1 / 3),
        rtol=1e-5,
        atol=1e-6,
    )


def test_powerprop_zero_blocks_have_zero_scale_and_finite_gradients():
    model = make_mlp()
    with torch.no_grad():
        model[0].weight[:4, :4] = 0.0  # block (0, 0) of the 24 x 32 matrix
    _, _, pruner = build("powerprop", model=model)
    model(torch.randn(3, 24)).sum().backward()
    grad = model[0].parametrizations.weight.original.grad
    assert torch.isfinite(grad).all() and grad[:4, :4].eq(0).all()


def test_powerprop_alpha_one_is_plain_training():
    model = make_mlp()
    reference = model[0].weight.detach().clone()
    build("powerprop", model=model, alpha=1.0)
    assert torch.equal(model[0].parametrizations.weight.original, reference)


def test_acdc_is_top_k_by_magnitude_at_each_sparse_phase():
    timeline = schedules.acdc_criteo(100)
    model, optimizer, pruner = build("acdc", timeline=timeline, total_steps=100)
    train(model, optimizer, pruner, batches(0, 19, (24,)))
    norms = pruner.layers[0].grid.block_norms(model[0].weight.detach())
    train(model, optimizer, pruner, batches(1, 1, (24,)))
    assert pruner.phase.kind == "sparse"
    kept = pruner.masks[0].mask.reshape(-1)
    top = torch.sort(norms.reshape(-1), descending=True, stable=True).indices[:12]
    assert set(torch.nonzero(kept).flatten().tolist()) == set(top.tolist())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"alpha": 0.5}, ValueError, "`alpha` must be in"),
        ({"attention_bounds": (2.0, 4.0)}, ValueError, "low <= 1 <= high"),
        ({"attention_bounds": 3}, TypeError, "`attention_bounds` must be"),
        ({"logit_lr": -1.0}, ValueError, "`logit_lr`"),
        (
            {"logit_lr_multiplier": 0.0},
            ValueError,
            r"`logit_lr_multiplier` must be in \(0, inf\); got 0.0",
        ),
        ({"logit_lr_multiplier": "10"}, TypeError, "`logit_lr_multiplier`"),
        (
            {"logit_lr": 0.1, "logit_lr_multiplier": 10.0},
            ValueError,
            "`logit_lr` and `logit_lr_multiplier` are exclusive",
        ),
        ({"logit_weight_decay": -1e-4}, ValueError, "`logit_weight_decay` must be"),
        ({"reenter": "masked"}, ValueError, r"`reenter` must be one of \('zero'"),
    ],
)
def test_method_options_are_validated(kwargs, error, match):
    method = "powerprop" if "alpha" in kwargs else "sapp"
    with pytest.raises(error, match=match):
        build(method, **kwargs)


def test_every_method_trains_a_model_with_a_bias_free_layer():
    model = nn.Sequential(nn.Linear(24, 32, bias=False), nn.ReLU(), nn.Linear(32, 1))
    for method in neural.METHODS:
        _, optimizer, pruner = build(method, model=model, total_steps=4)
        train(model, optimizer, pruner, batches(0, 4, (24,)))
        pruner.finalize()


def test_sapp_finalize_removes_its_logit_group_after_optimizer_reload():
    # The trainer restores optimizers with load_state_dict, which replaces every
    # parameter-group dict; finalize() must still find the logits' group.
    model = nn.Sequential(nn.Linear(32, 32))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    pruner = neural.prune(
        model,
        "sapp",
        sparsity=0.5,
        block=4,
        total_steps=4,
        optimizer=optimizer,
        min_blocks=8,
    )
    optimizer.load_state_dict(optimizer.state_dict())
    assert len(optimizer.param_groups) == 2
    pruner.finalize()
    assert len(optimizer.param_groups) == 1
    assert all(p is not None for p in optimizer.param_groups[0]["params"])
