import math

import matplotlib
import pytest

from neural import schedules
from neural.schedules import CubicCurve, ExponentialCurve, Phase, Timeline

matplotlib.use("Agg")

# Fraction of s reached by sparsity(t) = s(1-e^-ct)/(1-e^-c), the schedule of
# arXiv:2402.17902, Section 3.1, at t = 0.1, 0.25, 0.5, 0.75, 1 (computed by us;
# the paper prints no such table).
FRACTIONS = {
    2: [0.2096, 0.4551, 0.7311, 0.8985, 1.0],
    4: [0.3358, 0.6439, 0.8808, 0.9679, 1.0],
    8: [0.5509, 0.8650, 0.9820, 0.9979, 1.0],
}


@pytest.mark.parametrize("c", sorted(FRACTIONS))
def test_exponential_curve_matches_computed_fractions(c):
    curve = ExponentialCurve(c)
    got = [curve(t) for t in (0.1, 0.25, 0.5, 0.75, 1.0)]
    assert got == pytest.approx(FRACTIONS[c], abs=5e-5)


@pytest.mark.parametrize(
    "curve", [ExponentialCurve(0.5), ExponentialCurve(4.0), CubicCurve()]
)
def test_curves_start_at_zero_end_at_one_monotone_and_concave(curve):
    ts = [i / 200 for i in range(201)]
    values = [curve(t) for t in ts]
    assert values[0] == 0.0 and values[-1] == 1.0
    diffs = [b - a for a, b in zip(values, values[1:], strict=False)]
    assert all(d > 0 for d in diffs)
    assert all(d2 <= d1 + 1e-15 for d1, d2 in zip(diffs, diffs[1:], strict=False))


def test_acdc_imagenet_phase_boundaries():
    timeline = schedules.acdc_imagenet(1000)
    got = [(p.kind, p.start, p.stop) for p in timeline.phases]
    expected = [("dense", 0, 100)]
    for i in range(7):
        expected += [("sparse", 100 + 100 * i, 150 + 100 * i)]
        expected += [("dense", 150 + 100 * i, 200 + 100 * i)]
    expected[-1] = ("dense", 750, 850)  # the last dense phase extended by 5%
    expected += [("sparse", 850, 1000)]
    assert got == expected


def test_sapp_imagenet_rewrites_each_phase_and_the_last():
    timeline = schedules.sapp_imagenet(1200)
    kinds = [p.kind for p in timeline.phases]
    assert kinds == ["dense"] + ["sparsify", "sparse", "dense"] * 6 + [
        "sparsify",
        "sparse",
    ]
    first, last_sparsify, final = (
        timeline.phases[1],
        timeline.phases[-2],
        timeline.phases[-1],
    )
    assert (first.start, first.stop) == (120, 160)  # a third of a 10% phase
    assert (last_sparsify.start, last_sparsify.stop) == (840, 1020)  # 15%
    assert (final.start, final.stop) == (1020, 1200)  # 15%
    assert all(
        p.curve == ExponentialCurve(4.0)
        for p in timeline.phases
        if p.kind == "sparsify"
    )


def test_criteo_timelines():
    acdc = schedules.acdc_criteo(1000)
    assert [(p.kind, p.n_steps) for p in acdc.phases] == [("dense", 200)] + [
        ("sparse", 30),
        ("dense", 30),
    ] * 10 + [("sparse", 200)]
    sapp = schedules.sapp_criteo(1000)
    assert [p.kind for p in sapp.phases][-2:] == ["sparsify", "sparse"]
    assert sapp.phases[-2].n_steps == 60 and sapp.phases[-1].n_steps == 200


def test_sparsity_at_follows_the_curve_and_reaches_the_target():
    timeline = schedules.gradual(100, start=0.2, stop=0.6)
    phase = timeline.phase_at(20)
    assert phase.kind == "sparsify" and (phase.start, phase.stop) == (20, 60)
    assert timeline.sparsity_at(19, 0.9) == 0.0
    assert timeline.sparsity_at(20, 0.9) == pytest.approx(0.9 * (1 - (1 - 1 / 40) ** 3))
    assert timeline.sparsity_at(59, 0.9) == 0.9
    assert timeline.sparsity_at(99, 0.9) == 0.9
    assert timeline.phase_at(10_000) is timeline.phases[-1]


def test_from_fractions_drops_empty_phases_and_merges_neighbours():
    timeline = Timeline.from_fractions(
        [("dense", 0.5), ("sparse", 0.001), ("dense", 0.499)], total_steps=10
    )
    assert [(p.kind, p.start, p.stop) for p in timeline.phases] == [("dense", 0, 10)]


def test_one_shot_at_step_zero():
    timeline = schedules.one_shot(7, finetune=1.0)
    assert [(p.kind, p.start, p.stop) for p in timeline.phases] == [("sparse", 0, 7)]


def test_printable_and_plottable():
    timeline = schedules.sapp_criteo(500)
    text = str(timeline)
    assert text.count("\n") == len(timeline.phases)
    assert "sparsify" in text and "ExponentialCurve(c=4.0)" in text
    ax = timeline.plot(sparsity=0.9)
    assert ax.get_xlabel() == "step"
    record = timeline.to_dict()
    assert record["total_steps"] == 500 and len(record["phases"]) == len(
        timeline.phases
    )


@pytest.mark.parametrize("name", sorted(schedules.PRESETS))
@pytest.mark.parametrize("total_steps", [1, 7, 100, 12_345])
def test_every_preset_covers_every_step(name, total_steps):
    timeline = schedules.PRESETS[name](total_steps)
    assert timeline.phases[0].start == 0 and timeline.phases[-1].stop == total_steps
    assert math.isclose(sum(p.n_steps for p in timeline.phases), total_steps)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: ExponentialCurve(0.0), "`c` must be in"),
        (lambda: Timeline((), 5), "at least one phase"),
        (lambda: Timeline((Phase("dense", 0, 3),), 5), "must end at total_steps=5"),
        (lambda: Timeline((Phase("dense", 1, 5),), 5), "consecutive from step 0"),
        (lambda: Timeline((Phase("sparsify", 0, 5),), 5), "curve must be given"),
        (lambda: Timeline((Phase("pruned", 0, 5),), 5), "`phase kind` must be one of"),
        (lambda: Timeline.from_fractions([("dense", 0.5)], 10), "sum to 1"),
        (lambda: schedules.one_shot(10, finetune=0.0), "`finetune` must be in"),
        (lambda: schedules.gradual(10, start=0.5, stop=0.5), "`stop`"),
        (lambda: schedules.sapp_imagenet(10, split=(0.5, 0.5)), "`split`"),
        (lambda: schedules.acdc_imagenet(0), "`total_steps` must be"),
    ],
)
def test_bad_input(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_markdown_table_has_the_rows_of_str():
    # issue 8: a Timeline renders as a Markdown table in Jupyter
    timeline = schedules.sapp_imagenet(1000)
    lines = timeline._repr_markdown_().splitlines()
    assert lines[0] == f"**Timeline of 1000 steps, {len(timeline.phases)} phases**"
    assert lines[2] == "| phase | kind | steps | share | curve |"
    rows = lines[4:]
    assert len(rows) == len(timeline.phases) == len(str(timeline).splitlines()) - 1
    assert rows[0] == "| 0 | dense | 0-100 | 10.0% |  |"
    assert rows[1] == "| 1 | sparsify | 100-133 | 3.3% | ExponentialCurve(c=4.0) |"
    assert str(timeline).splitlines()[2].split() == [
        "1",
        "sparsify",
        "100-133",
        "3.3%",
        "ExponentialCurve(c=4.0)",
    ]
