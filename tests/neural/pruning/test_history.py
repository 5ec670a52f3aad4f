"""Support history (issue 15): swaps between sparse phases, overlap with the end."""

import json

import pytest
import torch

from neural import schedules
from neural.pruning import SupportRecord, SupportSummary
from neural.pruning.history import SupportHistory, support_records

from .conftest import batches, build, make_mlp, train


def _support(n, kept):
    mask = torch.zeros(n, dtype=torch.bool)
    mask[list(kept)] = True
    return mask


# Two layers of 6 and 4 blocks, three sparse entries written by hand.
ENTRIES = [
    (10, [_support(6, {0, 1, 2}), _support(4, {0, 1})]),
    (20, [_support(6, {0, 1, 3}), _support(4, {0, 1})]),  # 2 -> 3 in layer a
    (30, [_support(6, {3, 4, 5}), _support(4, {2, 3})]),  # 2 in, 2 out in each
]
FINAL = [_support(6, {3, 4, 5}), _support(4, {1, 2})]


def test_swaps_and_jaccard_of_a_scripted_sequence_of_supports():
    # issue 15: counts on supports constructed by hand
    records = support_records(["a", "b"], ENTRIES, FINAL)
    rows = [
        (r.layer, r.entry, r.step, r.kept, r.swapped_in, r.swapped_out) for r in records
    ]
    assert rows == [
        ("a", 0, 10, 3, None, None),
        ("b", 0, 10, 2, None, None),
        ("a", 1, 20, 3, 1, 1),
        ("b", 1, 20, 2, 0, 0),
        ("a", 2, 30, 3, 2, 2),
        ("b", 2, 30, 2, 2, 2),
    ]
    # |S & F| / |S | F|: {0,1,2} vs {3,4,5} -> 0/6; {0,1,3} -> 1/5; equal -> 1;
    # {0,1} vs {1,2} -> 1/3; {2,3} vs {1,2} -> 1/3.
    jaccard = [r.jaccard_final for r in records]
    assert jaccard == pytest.approx([0.0, 1 / 3, 0.2, 1 / 3, 1.0, 1 / 3])
    assert all(r.jaccard_final is None for r in support_records(["a", "b"], ENTRIES))


def test_a_layer_may_gain_more_than_it_loses_and_empty_supports_match():
    # With scope="global" the kept count of one layer can change between phases.
    entries = [(0, [_support(4, set())]), (5, [_support(4, {1, 2})])]
    first, second = support_records(["a"], entries, [_support(4, set())])
    assert (second.swapped_in, second.swapped_out) == (2, 0)
    assert first.jaccard_final == 1.0 and second.jaccard_final == 0.0


def test_summary_adds_the_swaps_and_keeps_the_first_overlap():
    records = support_records(["a", "b"], ENTRIES, FINAL)
    assert SupportSummary.summarize(records) == (
        SupportSummary("a", 3, 3, 3, 0.0),
        SupportSummary("b", 3, 2, 2, pytest.approx(1 / 3)),
    )
    assert SupportSummary.summarize(()) == ()


def test_records_serialize():
    record = support_records(["a", "b"], ENTRIES, FINAL)[2]
    assert isinstance(record, SupportRecord)
    assert json.loads(json.dumps(record.to_dict())) == {
        "layer": "a",
        "entry": 1,
        "step": 20,
        "kept": 3,
        "swapped_in": 1,
        "swapped_out": 1,
        "jaccard_final": 0.2,
    }


def test_history_keeps_copies_and_round_trips_its_state(tmp_path):
    history = SupportHistory(["a", "b"])
    masks = [m.clone() for m in ENTRIES[0][1]]
    history.record(10, masks)
    masks[0].fill_(True)  # later changes to the pruner's masks do not leak in
    for step, supports in ENTRIES[1:]:
        history.record(step, supports)
    path = tmp_path / "history.pt"
    torch.save(history.state_dict(), path)
    fresh = SupportHistory(["a", "b"])
    fresh.load_state_dict(torch.load(path, weights_only=True), FINAL)
    assert fresh.records() == history.records() == support_records(["a", "b"], ENTRIES)
    fresh.finish(FINAL)
    assert fresh.records() == support_records(["a", "b"], ENTRIES, FINAL)
    with pytest.raises(ValueError, match="does not fit"):
        SupportHistory(["a"]).load_state_dict(history.state_dict(), FINAL[:1])


# The pruner's bookkeeping


ALTERNATING = schedules.Timeline.from_fractions(
    [
        ("dense", 0.2),
        ("sparse", 0.2),
        ("dense", 0.2),
        ("sparsify", 0.2),
        ("sparse", 0.2),
    ],
    40,
)


def _sparse_starts(timeline):
    return [p.start for p in timeline.phases if p.kind == "sparse"]


@pytest.mark.parametrize("timeline", [ALTERNATING, "one_shot", "gradual"])
def test_one_record_per_sparse_entry_per_layer_for_every_method(method, timeline):
    model, optimizer, pruner = build(method, timeline=timeline, total_steps=40)
    train(model, optimizer, pruner, batches(0, 40, (24,)))
    starts = _sparse_starts(pruner.timeline)
    assert len(starts) == (2 if timeline is ALTERNATING else 1)
    before = pruner.history()
    assert all(r.jaccard_final is None for r in before)  # training not over
    pruner.finalize()
    records = pruner.history()
    assert [(r.layer, r.step) for r in records] == [
        (name, step) for step in starts for name in ("0", "2")
    ]
    assert [r.kept for r in records] == [12, 10] * len(starts)
    assert [r.jaccard_final for r in records[-2:]] == [1.0, 1.0]  # ended sparse
    swaps = [(r.swapped_in, r.swapped_out) for r in records[2:]]
    assert all(a == b for a, b in swaps)  # per-layer sparsity: as many in as out
    summary = pruner.report().support
    assert [s.sparse_entries for s in summary] == [len(starts)] * 2


def test_swaps_count_the_blocks_moved_by_hand_between_two_sparse_phases():
    timeline = schedules.Timeline.from_fractions(
        [("dense", 0.25), ("sparse", 0.25), ("dense", 0.25), ("sparse", 0.25)], 8
    )
    model, optimizer, pruner = build(
        "acdc", timeline=timeline, total_steps=8, reenter="keep", lr=0.0
    )
    train(model, optimizer, pruner, batches(0, 4, (24,)))  # into the dense phase
    grid, weight = pruner.layers[0].grid, model[0].parametrizations.weight.original
    first = pruner.masks[0].mask.clone()
    pruned, kept = torch.nonzero(~first), torch.nonzero(first)
    with torch.no_grad():  # two pruned blocks become the largest, two kept ones 0
        scale = torch.ones(grid.grid_shape)
        for i, j in pruned[:2].tolist():
            scale[i, j] = 1e3
        for i, j in kept[:2].tolist():
            scale[i, j] = 0.0
        weight.copy_(grid.scale(weight, scale))
    train(model, optimizer, pruner, batches(1, 4, (24,)))
    pruner.finalize()
    layer0 = [r for r in pruner.history() if r.layer == "0"]
    assert [(r.swapped_in, r.swapped_out) for r in layer0] == [(None, None), (2, 2)]
    assert layer0[0].jaccard_final == pytest.approx(10 / 14)  # 12 kept, 10 shared
    assert pruner.report().support[0] == SupportSummary("0", 2, 2, 2, 10 / 14)


def test_history_round_trips_through_state_dict_into_a_fresh_pruner(tmp_path):
    inputs = batches(0, 40, (24,))
    model, optimizer, pruner = build("sapp", timeline=ALTERNATING, total_steps=40)
    train(model, optimizer, pruner, inputs[:25])  # after the first sparse phase
    path = tmp_path / "state.pt"
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "pruner": pruner.state_dict(),
        },
        path,
    )
    state = torch.load(path, weights_only=True)
    fresh_model, fresh_optimizer, fresh = build(
        "sapp", model=make_mlp(seed=1), timeline=ALTERNATING, total_steps=40
    )
    fresh_model.load_state_dict(state["model"])
    fresh_optimizer.load_state_dict(state["optimizer"])
    fresh.load_state_dict(state["pruner"])
    assert fresh.history() == pruner.history() and len(fresh.history()) == 2
    train(model, optimizer, pruner, inputs[25:])
    train(fresh_model, fresh_optimizer, fresh, inputs[25:])
    pruner.finalize(), fresh.finalize()
    assert fresh.history() == pruner.history() and len(fresh.history()) == 4


def test_a_state_without_history_loads_an_empty_one():
    _, _, pruner = build("acdc", timeline=ALTERNATING, total_steps=40)
    state = pruner.state_dict()
    del state["support_history"]
    _, _, fresh = build("acdc", timeline=ALTERNATING, total_steps=40)
    fresh.load_state_dict(state)
    assert fresh.history() == ()
