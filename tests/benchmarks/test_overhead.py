"""``sapp bench overhead`` (issue 6, item 3) on a tiny configuration; no timings."""

import argparse
import json

import pytest
import torch

from benchmarks import overhead
from benchmarks.overhead import (
    add_arguments,
    overhead_benchmark,
    overhead_markdown,
    plot_overhead,
    run,
    save_overhead,
)
from benchmarks.step_time import MODELS, STEP_BAR
from neural import METHODS

TINY = dict(models=("criteo",), steps=3, rounds=1, batch_sizes=(1, 4), repeats=1)


@pytest.fixture(scope="module")
def tiny_record():
    """One tiny run (a few seconds): the Criteo tower only, 3 steps, 1 round."""
    calls = []
    record = overhead_benchmark(
        threads=1, progress=lambda *args: calls.append(args), **TINY
    )
    return record, calls


def test_record_has_a_step_row_for_every_method(tiny_record):
    record, _ = tiny_record
    methods = [row["solver_name"] for row in record["step_time"]]
    assert methods == ["dense", *METHODS]
    for row in record["step_time"]:
        assert row["model"] == "criteo"
        assert row["time_ms"] > 0
        assert len(row["runs_ms"]) == 1
    assert record["step_time"][0]["ratio_to_dense"] == 1.0
    assert record["bar"] == STEP_BAR


def test_record_has_an_inference_row_per_batch(tiny_record):
    record, _ = tiny_record
    rows = record["inference"]
    assert [(r["model"], r["batch"]) for r in rows] == [("criteo", 1), ("criteo", 4)]
    for row in rows:
        assert row["speedup"] == pytest.approx(row["dense_ms"] / row["exported_ms"])
        assert row["ideal"] == pytest.approx(10.0)
        assert row["max_relative_error"] < 1e-4
    assert [entry["model"] for entry in record["export"]] == ["criteo"]


def test_metadata_names_threads_versions_and_the_effective_config(tiny_record):
    record, _ = tiny_record
    meta = record["meta"]
    assert meta["threads"] == 1 and meta["quick"] is False
    assert meta["versions"]["torch"] == torch.__version__
    assert meta["config"]["steps"] == {"criteo": 3}
    assert meta["config"]["batch_sizes"] == {"criteo": [1, 4]}
    json.dumps(record)  # JSON-ready


def test_threads_are_restored_after_the_run(tiny_record):
    before = torch.get_num_threads()
    overhead_benchmark(threads=1, **{**TINY, "models": ("criteo",), "steps": 1})
    assert torch.get_num_threads() == before


def test_progress_counts_every_task_up_to_the_total(tiny_record):
    _, calls = tiny_record
    done = [c[0] for c in calls]
    totals = {c[1] for c in calls}
    # warm-up, dense and every method once (1 round), then one inference task
    n_tasks = 1 + (1 + len(METHODS)) + 1
    assert totals == {n_tasks}
    assert done == list(range(1, n_tasks + 1))


def test_markdown_holds_both_tables(tiny_record):
    record, _ = tiny_record
    text = overhead_markdown(record)
    assert "| model | method | step (ms) | / dense |" in text
    assert "| model | sparsity | block | batch | dense ms | exported ms |" in text
    for method in METHODS:
        assert f"| {method} |" in text


def test_files_are_written_into_the_folder(tiny_record, tmp_path):
    record, _ = tiny_record
    paths = save_overhead(record, tmp_path)
    assert [p.name for p in paths] == ["overhead.json", "overhead.md", "overhead.png"]
    assert json.loads((tmp_path / "overhead.json").read_text()) == record
    assert (tmp_path / "overhead.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    quick = {**record, "meta": {**record["meta"], "quick": True}}
    names = [p.name for p in save_overhead(quick, tmp_path)]
    assert names == ["overhead_quick.json", "overhead_quick.md", "overhead_quick.png"]


def test_plot_with_two_models(tiny_record, tmp_path):
    record, _ = tiny_record
    renamed = lambda rows: [{**r, "model": "resnet18"} for r in rows]  # noqa: E731
    both = {
        **record,
        "step_time": record["step_time"] + renamed(record["step_time"]),
        "inference": record["inference"] + renamed(record["inference"]),
    }
    assert plot_overhead(both, tmp_path / "both.png").stat().st_size > 0


def test_run_writes_files_and_prints_json(tiny_record, tmp_path, monkeypatch, capsys):
    record, _ = tiny_record
    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        return record

    monkeypatch.setattr(overhead, "overhead_benchmark", fake)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--threads", "1", "--out", str(tmp_path), "--json"])
    assert run(args) == 0
    assert seen["threads"] == 1 and seen["quick"] is False
    assert json.loads(capsys.readouterr().out) == record
    assert {p.name for p in tmp_path.iterdir()} == {
        "overhead.json",
        "overhead.md",
        "overhead.png",
    }
    args = parser.parse_args(["--out", str(tmp_path)])
    assert run(args) == 0
    assert "# Block pruning overhead" in capsys.readouterr().out


def test_argument_defaults():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert (args.quick, args.threads, args.json) == (False, 2, False)
    assert args.step_only is False
    assert str(args.out) == "benchmarks/results"


def test_bad_threads_on_the_command_line_names_the_option(capsys):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--threads", "0"])
    assert "--threads" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"threads": 0}, "`threads`"),
        ({"models": ("vgg",)}, "`models`"),
        ({"models": ()}, "`models`"),
        ({"steps": 0}, "`steps`"),
        ({"rounds": 0}, "`rounds`"),
        ({"repeats": 0}, "`repeats`"),
        ({"batch_sizes": (1, 0)}, "`batch_sizes`"),
        ({"batch_sizes": ()}, "`batch_sizes`"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        overhead_benchmark(**kwargs)


def test_unknown_model_lists_the_valid_ones():
    with pytest.raises(ValueError, match="resnet18"):
        overhead_benchmark(models=("vgg",))
    assert MODELS == ("criteo", "resnet18")
