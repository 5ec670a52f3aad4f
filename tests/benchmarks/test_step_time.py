"""The step-time half of ``sapp bench overhead`` and its ``--step-only`` mode."""

import argparse
import json

import pytest
import torch

from benchmarks import overhead
from benchmarks.step_time import (
    STEP_BAR,
    save_step_time,
    step_time_benchmark,
    step_time_markdown,
    step_time_record,
)
from neural import METHODS


@pytest.fixture(scope="module")
def tiny_record():
    """Two training steps of every method on the Criteo tower, one round."""
    return step_time_record(["criteo"], threads=1, steps=2, rounds=1)


def test_rounds_rotate_the_order_and_report_the_best_round():
    labels = []
    rows = step_time_benchmark(
        ["criteo"], steps=2, rounds=2, progress=lambda *args: labels.append(args[2])
    )
    methods = ["dense", *METHODS]
    assert labels[1:] == [
        *(f"criteo {m}" for m in methods),
        *(f"criteo {m}" for m in methods[1:] + methods[:1]),
    ]
    dense = rows[0]
    for row in rows:
        assert len(row["runs_ms"]) == 2
        assert row["time_ms"] == min(row["runs_ms"])
        assert row["ratio_to_dense"] == row["time_ms"] / dense["time_ms"]


def test_record_carries_the_threads_and_restores_them(tiny_record):
    assert tiny_record["meta"]["threads"] == 1
    assert tiny_record["meta"]["quick"] is False
    assert set(tiny_record["meta"]["versions"]) == {"sapp", "torch"}
    methods = [row["solver_name"] for row in tiny_record["rows"]]
    assert methods == ["dense", *METHODS]


def test_threads_are_restored():
    before = torch.get_num_threads()
    step_time_record(["criteo"], threads=before + 1, steps=1, rounds=1)
    assert torch.get_num_threads() == before


def test_bad_threads_name_the_argument():
    with pytest.raises(ValueError, match="`threads`"):
        step_time_record(["criteo"], threads=0, steps=1, rounds=1)


def test_markdown_has_one_table_row_per_method_and_the_bar(tiny_record):
    text = step_time_markdown(tiny_record["rows"], tiny_record["meta"])
    assert f"SA++ <= {STEP_BAR}x dense" in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(tiny_record["rows"])


def test_files_keep_the_prune_step_names(tiny_record, tmp_path):
    paths = save_step_time(tiny_record, tmp_path)
    assert [p.name for p in paths] == ["prune_step.json", "prune_step.md"]
    quick = {**tiny_record, "meta": {**tiny_record["meta"], "quick": True}}
    assert [p.name for p in save_step_time(quick, tmp_path)] == [
        "prune_step_quick.json",
        "prune_step_quick.md",
    ]
    assert json.loads((tmp_path / "prune_step.json").read_text()) == tiny_record


def test_step_only_writes_the_step_files(tiny_record, tmp_path, monkeypatch, capsys):
    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        return tiny_record

    monkeypatch.setattr(overhead, "step_time_record", fake)
    monkeypatch.setattr(
        overhead, "overhead_benchmark", lambda **_: pytest.fail("ran both halves")
    )
    parser = argparse.ArgumentParser()
    overhead.add_arguments(parser)
    args = parser.parse_args(["--step-only", "--threads", "1", "--out", str(tmp_path)])
    assert overhead.run(args) == 0
    assert seen["threads"] == 1 and seen["quick"] is False
    assert "# Training-step time" in capsys.readouterr().out
    assert {p.name for p in tmp_path.iterdir()} == {"prune_step.json", "prune_step.md"}
