import numpy as np
import pytest

import neural.data.criteo_synthetic as synthetic
from neural.data.criteo import CriteoDataset, convert_criteo_tsv
from neural.data.criteo_synthetic import (
    MALFORMED_KINDS,
    PlantedCriteoTeacher,
    generate_criteo_tsv,
    make_criteo_teacher,
)

BUCKETS = 1000


@pytest.fixture(scope="module")
def teacher():
    return make_criteo_teacher(3, buckets=BUCKETS)


def auc(scores, labels):
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return (ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def test_same_seed_same_bytes(tmp_path, teacher):
    paths = [tmp_path / f"{name}.tsv" for name in "abc"]
    generate_criteo_tsv(paths[0], 2000, seed=5, malformed_rows=7, teacher=teacher)
    generate_criteo_tsv(paths[1], 2000, seed=5, malformed_rows=7, teacher=teacher)
    generate_criteo_tsv(paths[2], 2000, seed=6, malformed_rows=7, teacher=teacher)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()
    # the default teacher is a function of the seed too
    generate_criteo_tsv(paths[0], 500, seed=1)
    generate_criteo_tsv(paths[1], 500, seed=1)
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_format_and_malformed_lines(tmp_path, teacher):
    path = tmp_path / "day.tsv"
    n_rows, n_bad = 3000, 12
    generate_criteo_tsv(path, n_rows, malformed_rows=n_bad, teacher=teacher)
    lines = path.read_bytes().decode().split("\n")
    assert lines[-1] == "" and len(lines) == n_rows + 1
    widths = np.array([len(line.split("\t")) for line in lines[:-1]])
    per_kind = n_bad // len(MALFORMED_KINDS)
    assert (widths == 39).sum() == per_kind and (widths == 41).sum() == per_kind
    good = [line.split("\t") for line in lines[:-1]][:50]
    assert all(f[0] in "01" for f in good if len(f) == 40 and f[0] != "2")
    cats = [f for row in good for f in row[14:] if f]
    assert all(len(f) == 8 and int(f, 16) >= 0 for f in cats if "g" not in f)
    info = convert_criteo_tsv(path, tmp_path / "c", buckets=BUCKETS, progress=False)
    assert (info.rows, info.malformed) == (n_rows - n_bad, n_bad)


def test_planted_support_recorded(teacher):
    assert isinstance(teacher, PlantedCriteoTeacher)
    assert teacher.support.shape == (4, 39)
    assert teacher.support.sum() == round(0.1 * 4 * 39)
    tiles = np.abs(teacher.weight).reshape(4, 10, 39, 10).sum(axis=(1, 3))
    np.testing.assert_array_equal(tiles > 0, teacher.support)
    features = np.flatnonzero(teacher.support.any(axis=0))
    assert teacher.relevant_features == tuple(features)
    record = teacher.to_dict()
    assert record["kept_blocks"] == 16 and record["n_blocks"] == 156
    assert record["relevant_features"] == list(features)
    assert "kept_blocks=16/156" in repr(teacher)


def test_other_block_shapes():
    teacher = make_criteo_teacher(0, hidden=30, block=5, density=0.02)
    assert teacher.support.shape == (6, 78)
    assert teacher.support.sum() == round(0.02 * 6 * 78)
    # a 5-wide column block covers half a feature
    assert len(teacher.relevant_features) <= teacher.support.sum()


def test_labels_follow_the_teacher(tmp_path, teacher):
    path = tmp_path / "day.tsv"
    generate_criteo_tsv(path, 6000, seed=2, teacher=teacher)
    convert_criteo_tsv(path, tmp_path / "c", buckets=BUCKETS, progress=False)
    data = CriteoDataset(tmp_path / "c")
    labels = np.asarray(data.labels)
    assert abs(labels.mean() - 0.25) < 0.03
    assert abs(teacher.calibration["positive_rate"] - 0.25) < 1e-6
    p = teacher.probabilities(data.dense, data.categorical)
    assert auc(p, labels) > 0.8
    log_loss = -np.mean(labels * np.log(p) + (1 - labels) * np.log1p(-p))
    assert log_loss == pytest.approx(teacher.calibration["bayes_log_loss"], abs=0.03)
    # irrelevant features do not move the logit
    dense = np.array(data.dense[:100])
    irrelevant = [f for f in range(13) if f not in teacher.relevant_features]
    dense[:, irrelevant] += 5.0
    np.testing.assert_allclose(
        teacher.logits(dense, data.categorical[:100]),
        teacher.logits(data.dense[:100], data.categorical[:100]),
    )


def test_failure_leaves_no_file(tmp_path, teacher, monkeypatch):
    def failing(line, kind):
        raise RuntimeError("killed")

    monkeypatch.setattr(synthetic, "_corrupt", failing)
    path = tmp_path / "day.tsv"
    with pytest.raises(RuntimeError, match="killed"):
        generate_criteo_tsv(path, 100, malformed_rows=1, teacher=teacher)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_rows": 0}, ValueError, "`n_rows`"),
        ({"malformed_rows": 11}, ValueError, r"`malformed_rows`.*\[0, 10\]"),
        ({"missing_rate": 1.0}, ValueError, "`missing_rate`"),
        ({"teacher": "t"}, TypeError, "`teacher`"),
    ],
)
def test_bad_generate_arguments(tmp_path, kwargs, error, message):
    arguments = {"n_rows": 10, **kwargs}
    with pytest.raises(error, match=message):
        generate_criteo_tsv(tmp_path / "x.tsv", **arguments)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"block": 7}, "`block` must divide"),
        ({"density": 0.0}, "`density`"),
        ({"positive_rate": 1.0}, "`positive_rate`"),
        ({"buckets": 1}, "`buckets`"),
    ],
)
def test_bad_teacher_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_criteo_teacher(0, **kwargs)
