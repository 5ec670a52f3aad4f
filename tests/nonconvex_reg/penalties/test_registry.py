"""The penalty registry: complete, consistent, and read by every reader."""

import inspect

import pytest

import nonconvex_reg.penalties as penalties_module
from nonconvex_reg.penalties import (
    PENALTY_REGISTRY,
    GroupPenalty,
    LqPenalty,
    PenaltyFamily,
    penalty_examples,
    penalty_label,
)

FAMILIES = {family.name: family for family in PENALTY_REGISTRY}
by_family = pytest.mark.parametrize("family", PENALTY_REGISTRY, ids=list(FAMILIES))


def test_every_public_penalty_class_has_one_entry():
    public = {
        obj
        for obj in vars(penalties_module).values()
        if inspect.isclass(obj)
        and issubclass(obj, GroupPenalty)
        and not inspect.isabstract(obj)
    }
    registered = [family.penalty for family in PENALTY_REGISTRY]
    assert len(registered) == len(set(registered)) == len(FAMILIES)
    assert set(registered) == public


def test_labels_are_unique_over_every_registered_instance():
    labels = [penalty_label(p) for f in PENALTY_REGISTRY for p in f.penalties()]
    assert len(labels) == len(set(labels))
    assert penalty_label(LqPenalty(0.25)) == "lq_0.25"


@by_family
def test_entries_build_instances_of_their_class(family):
    assert isinstance(family, PenaltyFamily)
    assert family.examples, "a family needs a representative instance"
    instances = family.penalties()
    assert len(instances) == len(family.examples) + len(family.edge_cases)
    assert all(type(p) is family.penalty for p in instances)
    assert all(penalty_label(p).startswith(family.name) for p in instances)
    # Hyperparameters reach the instance: to_dict round-trips through make().
    for penalty in instances:
        params = penalty.to_dict()
        del params["penalty"]
        assert repr(family.make(**params)) == repr(penalty)


@by_family
def test_ranges_name_constructor_arguments_and_build_at_their_ends(family):
    accepted = set(inspect.signature(family.penalty).parameters)
    assert family.ranges
    for box in family.ranges:
        assert set(box) <= accepted
        for end in (0, 1):
            penalty = family.make(**{k: interval[end] for k, interval in box.items()})
            assert type(penalty) is family.penalty


@by_family
def test_curvature_breakpoints_are_positive_norms(family):
    assert all(b > 0 for b in family.curvature_breakpoints)


def test_examples_split_on_the_declared_subadditivity():
    everything = penalty_examples()
    inside = penalty_examples(subadditive=True)
    controls = penalty_examples(subadditive=False)
    assert inside and controls  # Theorem 1.1 is checked on both sides
    assert all(p.is_subadditive for p in inside.values())
    assert not any(p.is_subadditive for p in controls.values())
    assert {**inside, **controls}.keys() == everything.keys()
    assert list(everything) == [
        penalty_label(p) for f in PENALTY_REGISTRY for p in f.example_penalties()
    ]


def test_unregistered_penalty_has_no_label():
    class Halved(LqPenalty):
        pass

    with pytest.raises(ValueError, match="`penalty` must be an instance of a regis"):
        penalty_label(Halved(0.5))
