import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

import neural
from neural import schedules
from neural.pruning import PrunerFinalizedError, n_kept_blocks

from .conftest import batches, build, make_cnn, make_mlp, train

TOTAL = 40
# A timeline with every phase kind, to stop training inside each of them.
ALL_KINDS = schedules.Timeline.from_fractions(
    [
        ("dense", 0.2),
        ("sparsify", 0.2),
        ("sparse", 0.2),
        ("dense", 0.2),
        ("sparse", 0.2),
    ],
    TOTAL,
)


def _zero_blocks(pruner):
    return [
        int((spec.grid.block_norms(spec.module.weight) == 0).sum())
        for spec in pruner.layers
    ]


@pytest.mark.parametrize(
    "stop", [3, 10, 20, 30, 39]
)  # dense, sparsify, sparse, dense, sparse
def test_finalize_gives_exact_block_sparsity_in_any_phase(method, stop):
    model, optimizer, pruner = build(method, timeline=ALL_KINDS, total_steps=TOTAL)
    train(model, optimizer, pruner, batches(0, stop, (24,)))
    weights = [spec.module.parametrizations.weight.original for spec in pruner.layers]
    plain = pruner.finalize()
    assert plain is model
    for spec, weight in zip(pruner.layers, weights, strict=True):
        assert not parametrize.is_parametrized(spec.module)
        assert spec.module.weight is weight  # written back into the same object
    expected = [
        spec.grid.n_blocks - n_kept_blocks(spec.grid.n_blocks, 0.75)
        for spec in pruner.layers
    ]
    assert _zero_blocks(pruner) == expected
    report = pruner.report()
    assert report.phase == "final"
    assert [r.kept_blocks for r in report.layers if r.status == "pruned"] == [12, 10]


def test_finalized_forward_equals_the_masked_forward(method):
    model, optimizer, pruner = build(method, timeline=ALL_KINDS, total_steps=TOTAL)
    train(model, optimizer, pruner, batches(0, 20, (24,)))
    assert pruner.phase.kind == "sparse"
    x = torch.randn(16, 24)
    with torch.no_grad():
        masked = model(x)
        plain = pruner.finalize()(x)
    torch.testing.assert_close(plain, masked, rtol=1e-6, atol=1e-6)


def test_pruning_is_monotone_inside_a_sparsify_phase(method):
    model, optimizer, pruner = build(method, timeline=ALL_KINDS, total_steps=TOTAL)
    train(model, optimizer, pruner, batches(0, 7, (24,)))
    previous = [torch.ones_like(m.mask) for m in pruner.masks]
    phase = ALL_KINDS.phases[1]
    for x in batches(1, phase.n_steps, (24,)):
        train(model, optimizer, pruner, [x])
        if pruner.phase.kind != "sparsify":
            break
        step = pruner.current_step
        for masking, before, spec in zip(
            pruner.masks, previous, pruner.layers, strict=True
        ):
            assert not (masking.mask & ~before).any()  # nothing comes back
            expected = n_kept_blocks(
                spec.grid.n_blocks, 0.75 * phase.curve(phase.progress(step))
            )
            assert int(masking.mask.sum()) == expected
        previous = [m.mask.clone() for m in pruner.masks]
    assert [int(m.sum()) for m in previous] == [12, 10]  # the phase reached k


def test_optimizer_state_is_reset_at_every_phase_switch(method):
    model, optimizer, pruner = build(method, timeline=ALL_KINDS, total_steps=TOTAL)
    for step, x in enumerate(batches(0, TOTAL - 1, (24,)), start=1):
        train(model, optimizer, pruner, [x])
        switched = ALL_KINDS.index_at(step) != ALL_KINDS.index_at(step - 1)
        assert (len(optimizer.state) == 0) == switched, step


def test_resume_from_a_checkpoint_matches_an_uninterrupted_run(method, tmp_path):
    inputs = batches(0, TOTAL, (24,))
    model, optimizer, pruner = build(method, timeline=ALL_KINDS, total_steps=TOTAL)
    train(model, optimizer, pruner, inputs)

    first, first_opt, first_pruner = build(
        method, timeline=ALL_KINDS, total_steps=TOTAL
    )
    train(first, first_opt, first_pruner, inputs[:13])  # stop inside the sparsify phase
    path = tmp_path / "checkpoint.pt"
    torch.save(
        {
            "model": first.state_dict(),
            "optimizer": first_opt.state_dict(),
            "pruner": first_pruner.state_dict(),
        },
        path,
    )
    checkpoint = torch.load(path, weights_only=True)
    resumed, resumed_opt, resumed_pruner = build(
        method, model=make_mlp(seed=1), timeline=ALL_KINDS, total_steps=TOTAL
    )
    resumed.load_state_dict(checkpoint["model"])
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    resumed_pruner.load_state_dict(checkpoint["pruner"])
    train(resumed, resumed_opt, resumed_pruner, inputs[13:])
    for (name, a), b in zip(
        model.state_dict().items(), resumed.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name


def test_state_dict_carries_weights_masks_and_phase(method):
    model, _, pruner = build(method)
    keys = set(model.state_dict())
    assert "0.parametrizations.weight.original" in keys
    assert "0.parametrizations.weight.0.mask" in keys
    assert ("0.parametrizations.weight.0.logits" in keys) == (method == "sapp")
    state = pruner.state_dict()
    assert state["step"] == 0 and state["config"]["method"] == method


def test_load_state_dict_refuses_another_configuration():
    _, _, pruner = build("acdc", sparsity=0.5)
    _, _, other = build("acdc", sparsity=0.75)
    with pytest.raises(ValueError, match="another configuration"):
        other.load_state_dict(pruner.state_dict())


def test_reenter_zero_restarts_pruned_weights_at_zero_and_keep_restores_them():
    timeline = schedules.Timeline.from_fractions(
        [("dense", 0.25), ("sparse", 0.25), ("dense", 0.5)], 8
    )
    for reenter in ("zero", "keep"):
        model, optimizer, pruner = build(
            "acdc", timeline=timeline, total_steps=8, reenter=reenter, lr=0.0
        )
        before = model[0].parametrizations.weight.original.detach().clone()
        train(model, optimizer, pruner, batches(0, 4, (24,)))  # now in the dense phase
        mask = pruner.masks[0].mask
        after = model[0].parametrizations.weight.original
        pruned = pruner.layers[0].grid.expand((~mask).float()).bool()
        if reenter == "zero":
            assert after[pruned].eq(0).all()
        else:
            assert torch.equal(after[pruned], before[pruned])
        assert torch.equal(after[~pruned], before[~pruned])


def test_global_scope_selects_one_top_k_over_all_layers():
    model, optimizer, pruner = build("magnitude", scope="global", total_steps=10)
    with torch.no_grad():
        model[2].weight.mul_(100.0)  # the second layer dominates the global ranking
    train(model, optimizer, pruner, batches(0, 10, (24,)))
    pruner.finalize()
    kept = [r.kept_blocks for r in pruner.report().layers if r.status == "pruned"]
    assert sum(kept) == n_kept_blocks(48 + 40, 0.75)
    assert kept[1] == 22 and kept[0] == 0


def test_global_scope_ranks_sapp_blocks_by_attention_not_raw_logits():
    # issue 15: each layer's softmax fixes its logits only up to a constant. Layer
    # 0's logits are all 5 (A = 1), layer 1's ~N(0, 0.1); ranking the raw logits
    # kept 100 of layer 0's blocks and none of layer 1's.
    model = nn.Sequential(nn.Linear(40, 40), nn.Linear(40, 40))  # 100 blocks each
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    pruner = neural.prune(
        model,
        "sapp",
        sparsity=0.5,
        block=4,
        total_steps=2,
        timeline=schedules.one_shot(2, finetune=0.5),
        scope="global",
        optimizer=optimizer,
    )
    first, second = pruner.masks
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        first.logits.fill_(5.0)
        second.logits.copy_(0.1 * torch.randn(10, 10, generator=generator))
    pruner.step()
    kept = [int(m.mask.sum()) for m in pruner.masks]
    assert sum(kept) == 100 and kept[0] > 0 and kept[1] > 0
    # Layer 1 keeps exactly its blocks attended more than layer 0's (A = 1).
    assert kept[1] == int((second.attention() > 1.0).sum())
    assert second.mask.equal(second.attention() > 1.0)


def test_global_scope_needs_one_block_shape():
    with pytest.raises(ValueError, match="per-layer `block` overrides need"):
        build(
            "magnitude",
            scope="global",
            layers=[{"tensor_fqn": "0", "block": 2}, "2"],
        )


def test_update_every_prunes_in_bursts_and_still_reaches_k():
    timeline = schedules.Timeline.from_fractions([("sparsify", 1.0)], 10)
    model, optimizer, pruner = build(
        "sapp", timeline=timeline, total_steps=10, update_every=4
    )
    counts = [int(pruner.masks[0].mask.sum())]
    for x in batches(0, 9, (24,)):
        train(model, optimizer, pruner, [x])
        counts.append(int(pruner.masks[0].mask.sum()))
    assert len(set(counts[0:4])) == 1 and counts[4] < counts[3]
    assert counts[-1] == 12


def test_convolutions_are_pruned_on_the_paper_matrix():
    model, optimizer, pruner = build(
        "sapp",
        model=make_cnn(),
        block=(8, 4),
        min_blocks=9,
        total_steps=12,
        timeline="one_shot",
    )
    # The first conv (27x8 -> 4x2 blocks) has too few blocks; 72x16 -> 9x4.
    assert [spec.name for spec in pruner.layers] == ["2"]
    assert pruner.layers[0].grid.grid_shape == (9, 4)
    train(model, optimizer, pruner, batches(0, 12, (3, 6, 6)))
    pruner.finalize()
    assert pruner.report().layers[0].kept_blocks == n_kept_blocks(36, 0.75)


def test_step_after_finalize_is_refused():
    model, optimizer, pruner = build("magnitude")
    pruner.finalize()
    with pytest.raises(PrunerFinalizedError, match="after finalize"):
        pruner.step()
    with pytest.raises(ValueError, match="after finalize"):  # also a ValueError
        pruner.finalize()


def test_bf16_autocast_forward_and_backward_on_cpu():
    model, optimizer, pruner = build("sapp", timeline=ALL_KINDS, total_steps=TOTAL)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(torch.randn(8, 24)).float().square().mean()
    loss.backward()
    assert pruner.masks[0].logits.grad is not None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_keeps_everything_on_the_device(method):
    model = make_mlp().cuda()
    model, optimizer, pruner = build(method, model=model, timeline=ALL_KINDS)
    inputs = [x.cuda() for x in batches(0, TOTAL, (24,))]
    torch.cuda.set_sync_debug_mode("error")  # a host sync in the hot path raises
    try:
        train(model, optimizer, pruner, inputs[:-1])
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert all(m.mask.is_cuda for m in pruner.masks)
    pruner.finalize()
    assert _zero_blocks(pruner) == [36, 30]


def test_deepcopy_of_a_prepared_model_keeps_working():
    model, _, _ = build("sapp")
    clone = copy.deepcopy(model)
    torch.testing.assert_close(clone(torch.ones(2, 24)), model(torch.ones(2, 24)))
