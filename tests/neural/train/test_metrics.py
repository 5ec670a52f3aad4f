import csv

import pytest

from neural.train.metrics import (
    CSV_COLUMNS,
    SUPPORT_NAME,
    MetricsWriter,
    read_metrics,
)


def _csv_rows(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_jsonl_keeps_every_key_and_csv_the_fixed_columns(tmp_path):
    with MetricsWriter(tmp_path, tensorboard=False) as writer:
        writer.write({"step": 5, "split": "train", "loss": 0.5, "lr": 0.1, "x": 1})
        writer.write({"step": 5, "split": "eval", "loss": 0.7, "accuracy": 0.25})
    assert read_metrics(tmp_path) == [
        {"step": 5, "split": "train", "loss": 0.5, "lr": 0.1, "x": 1},
        {"step": 5, "split": "eval", "loss": 0.7, "accuracy": 0.25},
    ]
    rows = _csv_rows(tmp_path / "metrics.csv")
    assert rows[0] == list(CSV_COLUMNS)
    assert dict(zip(CSV_COLUMNS, rows[1], strict=True))["lr"] == "0.1"
    assert dict(zip(CSV_COLUMNS, rows[2], strict=True))["accuracy"] == "0.25"
    assert dict(zip(CSV_COLUMNS, rows[2], strict=True))["lr"] == ""


def test_truncate_drops_later_records_final_ones_and_torn_lines(tmp_path):
    writer = MetricsWriter(tmp_path, tensorboard=False)
    for step in (10, 20, 30):
        writer.write({"step": step, "split": "train", "loss": 1.0 / step})
    writer.write({"step": 20, "split": "final", "loss": 0.1})
    with open(tmp_path / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 40, "spl')  # a writer killed mid-line
    assert [r["step"] for r in read_metrics(tmp_path)] == [10, 20, 30, 20]
    writer.truncate(20)
    assert read_metrics(tmp_path) == [
        {"step": 10, "split": "train", "loss": 0.1},
        {"step": 20, "split": "train", "loss": 0.05},
    ]
    assert [row[0] for row in _csv_rows(tmp_path / "metrics.csv")] == [
        "step",
        "10",
        "20",
    ]
    assert not list(tmp_path.glob(".*.tmp"))
    writer.truncate(0)
    assert read_metrics(tmp_path) == []
    assert _csv_rows(tmp_path / "metrics.csv") == [list(CSV_COLUMNS)]


def test_disabled_writer_writes_nothing(tmp_path):
    MetricsWriter(tmp_path, enabled=False).write({"step": 1, "split": "train"})
    MetricsWriter(None).write({"step": 1, "split": "train"})
    rows = [{"layer": "a", "kept": 3}]
    assert MetricsWriter(tmp_path, enabled=False).write_table("t.csv", rows) is None
    assert list(tmp_path.iterdir()) == []


def test_write_table_replaces_a_sibling_csv_atomically(tmp_path):
    # issue 15: the support history goes next to metrics.csv
    writer = MetricsWriter(tmp_path, tensorboard=False)
    rows = [
        {"layer": "a", "swapped_in": None, "jaccard_final": 0.5},
        {"layer": "b", "swapped_in": 3, "jaccard_final": 1.0},
    ]
    path = writer.write_table(SUPPORT_NAME, rows)
    assert path == tmp_path / "support.csv"
    assert _csv_rows(path) == [
        ["layer", "swapped_in", "jaccard_final"],
        ["a", "", "0.5"],
        ["b", "3", "1.0"],
    ]
    writer.write_table(SUPPORT_NAME, rows[1:])
    assert len(_csv_rows(path)) == 2 and not list(tmp_path.glob(".*.tmp"))
    assert writer.write_table(SUPPORT_NAME, []) is None
    with pytest.raises(ValueError, match="`rows` must share the columns"):
        writer.write_table(SUPPORT_NAME, [{"a": 1}, {"b": 2}])


def test_bad_records_are_refused(tmp_path):
    writer = MetricsWriter(tmp_path, tensorboard=False)
    with pytest.raises(ValueError, match="'step' and 'split'"):
        writer.write({"loss": 1.0})
    with pytest.raises(ValueError, match=r"`record\['loss'\]` must be finite"):
        writer.write({"step": 1, "split": "train", "loss": float("nan")})
    with pytest.raises(ValueError, match="`tensorboard` must be one of"):
        MetricsWriter(tmp_path, tensorboard="yes")


def test_tensorboard_true_needs_the_package(tmp_path):
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="tensorboard package"):
            MetricsWriter(tmp_path, tensorboard=True)
        MetricsWriter(tmp_path, tensorboard="auto").close()  # silently without it
    else:
        with MetricsWriter(tmp_path, tensorboard=True) as writer:
            writer.write({"step": 1, "split": "train", "loss": 0.5})
        assert (tmp_path / "tensorboard").is_dir()
