"""benchmarks/results.py: run metadata, atomic result files, the table helper."""

import json
import sys
from dataclasses import dataclass

import numpy as np
import pytest

from benchmarks.results import (
    RunMetadata,
    json_ready,
    markdown_table,
    print_record,
    run_metadata,
    write_results,
)


def test_compact_table_has_a_rule_per_column():
    lines = markdown_table(["a", "b", "c"], [[1, 2.5, None], ["x", "", "z"]])
    assert lines == [
        "| a | b | c |",
        "|---|---|---|",
        "| 1 | 2.5 | None |",
        "| x |  | z |",
    ]


def test_aligned_table_pads_every_column_to_its_widest_cell():
    lines = markdown_table(
        ["solver", "t"], [["sapp", "0.25"], ["skglm", "1"]], aligned=True
    )
    assert lines == [
        "| solver | t    |",
        "|--------|------|",
        "| sapp   | 0.25 |",
        "| skglm  | 1    |",
    ]
    assert len({len(line) for line in lines}) == 1


def test_a_row_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="`rows` must have 2 cells each"):
        markdown_table(["a", "b"], [[1, 2], [3]])


def test_run_metadata_names_command_machine_versions_and_extras(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/some/bin/sapp", "bench", "startup"])
    meta = RunMetadata.collect(["numpy", "no-such-package-xyz"], seed=3, quick=True)
    record = meta.to_dict()
    assert list(record) == ["command", "machine", "python", "versions", "seed", "quick"]
    assert record["command"] == "sapp bench startup"
    assert record["versions"] == {"numpy": np.__version__, "no-such-package-xyz": None}
    assert "cores" in record["machine"]
    assert run_metadata(["numpy"], seed=3)["seed"] == 3


@dataclass
class _Record:
    value: float

    def to_dict(self):
        return {"value": self.value, "ints": (np.int64(2), np.float32(0.5))}


def test_json_ready_unpacks_records_tuples_and_numpy():
    assert json_ready([_Record(1.0)]) == [{"value": 1.0, "ints": [2, 0.5]}]
    assert type(json_ready(np.int64(2))) is int


def test_write_results_writes_json_and_markdown_atomically(tmp_path):
    paths = write_results(tmp_path / "new", "stem", _Record(0.25), "# title\n")
    assert [p.name for p in paths] == ["stem.json", "stem.md"]
    assert json.loads(paths[0].read_text()) == {"value": 0.25, "ints": [2, 0.5]}
    assert paths[1].read_text() == "# title\n"
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == [
        "stem.json",
        "stem.md",
    ]


def test_print_record_prints_json_or_markdown(capsys, tmp_path):
    print_record({"a": np.float64(1.5)}, "# md", [tmp_path / "x.md"], as_json=True)
    assert json.loads(capsys.readouterr().out) == {"a": 1.5}
    print_record({"a": 1}, "# md", [tmp_path / "x.md"], as_json=False)
    out = capsys.readouterr()
    assert out.out == "# md\n" and "x.md" in out.err
