import gzip
import json
import math
import pickle
import re
import shutil

import numpy as np
import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler

import neural.data.criteo as criteo
from neural.data.criteo import CriteoDataset, convert_criteo_tsv
from neural.data.criteo_features import (
    check_buckets,
    hash_categorical,
    splitmix64,
    transform_dense,
)
from neural.data.criteo_synthetic import generate_criteo_tsv, make_criteo_teacher

N_ROWS, N_MALFORMED = 5000, 12
# per-column bucket counts, from the smallest allowed to a large one
BUCKETS = [2, 3, 7, 1000, 2**18, 2**31 - 1] + [97] * 20

MASK64 = 2**64 - 1


def slow_splitmix64(z):
    z = (z + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def slow_parse(line, buckets, hash_seed=0):
    """Reference parse of one line: None if malformed, else (dense, cat, label)."""
    fields = line.split("\t")
    if len(fields) != 40 or fields[0] not in ("0", "1"):
        return None
    dense = []
    for text in fields[1:14]:
        if text == "":
            dense.append(0.0)
        elif re.fullmatch(r"-?[0-9]+", text) and -(2**63) <= int(text) < 2**63:
            x = int(text)
            dense.append(math.copysign(math.log1p(abs(x)), x))
        else:
            return None
    cat = []
    for j, text in enumerate(fields[14:]):
        if text == "":
            cat.append(0)
        elif re.fullmatch(r"[0-9a-fA-F]{8}", text):
            salt = slow_splitmix64(hash_seed + j)
            cat.append(1 + slow_splitmix64(int(text, 16) ^ salt) % (buckets[j] - 1))
        else:
            return None
    return np.float32(dense), np.int32(cat), int(fields[0])


def slow_convert(path, buckets, hash_seed=0):
    lines = path.read_text().splitlines()
    parsed = [slow_parse(line, buckets, hash_seed) for line in lines]
    good = [p for p in parsed if p is not None]
    return (
        np.stack([p[0] for p in good]),
        np.stack([p[1] for p in good]),
        np.array([p[2] for p in good], np.uint8),
        len(parsed) - len(good),
    )


@pytest.fixture(scope="module")
def tsv(tmp_path_factory):
    path = tmp_path_factory.mktemp("criteo") / "day.tsv"
    teacher = make_criteo_teacher(0, buckets=BUCKETS)
    generate_criteo_tsv(
        path, N_ROWS, missing_rate=0.1, malformed_rows=N_MALFORMED, teacher=teacher
    )
    return path


@pytest.fixture(scope="module")
def cache(tsv):
    folder = tsv.parent / "cache"
    info = convert_criteo_tsv(
        tsv, folder, buckets=BUCKETS, chunk_rows=200, progress=False
    )
    return folder, info


@pytest.fixture(scope="module")
def reference(tsv):
    return slow_convert(tsv, BUCKETS)


def test_splitmix64_reference_value():
    # first output of SplitMix64 seeded with 0 (Steele, Lea & Flood 2014)
    assert int(splitmix64(0)) == 0xE220A8397B1DCDAF
    values = [0, 1, 2**63, MASK64, 0x68FD1E64]
    assert splitmix64(values).tolist() == [slow_splitmix64(v) for v in values]


def test_counts_and_info(cache):
    folder, info = cache
    assert info.rows == N_ROWS - N_MALFORMED
    assert info.malformed == N_MALFORMED
    assert info.buckets == tuple(BUCKETS)
    assert info.bytes == info.rows * (13 * 4 + 26 * 4 + 1)
    assert CriteoDataset(folder).info == info
    record = info.to_dict()
    assert record["rows_per_second"] == pytest.approx(info.rows_per_second)
    assert json.loads(json.dumps(record))["rows"] == info.rows
    assert f"rows={info.rows:,}" in repr(info)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["source"] == "day.tsv" and meta["hash_seed"] == 0


def test_matches_slow_reference(cache, reference):
    data = CriteoDataset(cache[0])
    dense, cat, label, n_bad = reference
    assert n_bad == N_MALFORMED
    np.testing.assert_allclose(data.dense, dense, rtol=1e-6, atol=0)
    np.testing.assert_array_equal(data.categorical, cat)
    np.testing.assert_array_equal(data.labels, label)


def test_missing_and_range(cache, reference):
    data = CriteoDataset(cache[0])
    cat = np.asarray(data.categorical)
    assert ((cat >= 0) & (cat < np.array(BUCKETS))).all()
    assert (cat[:, 0] <= 1).all()  # 2 buckets: missing or the one bucket
    # about 10% of the fields are missing, and missing is exactly bucket 0
    assert 0.07 < np.mean(cat[:, 6:] == 0) < 0.13
    assert 0.07 < np.mean(np.asarray(data.dense) == 0) < 0.3
    assert set(np.unique(data.labels)) == {0, 1}


def test_deterministic_and_seeded(tsv, cache, tmp_path):
    again = convert_criteo_tsv(
        tsv, tmp_path / "again", buckets=BUCKETS, chunk_rows=5000, progress=False
    )
    for name in ("dense.f32", "categorical.i32", "label.u8"):
        assert (tmp_path / "again" / name).read_bytes() == (
            cache[0] / name
        ).read_bytes()
    assert again.rows == cache[1].rows
    convert_criteo_tsv(
        tsv, tmp_path / "seeded", buckets=BUCKETS, hash_seed=7, progress=False
    )
    other = CriteoDataset(tmp_path / "seeded").categorical
    first = CriteoDataset(cache[0]).categorical
    assert np.mean(other[:, 3:] == first[:, 3:]) < 0.2
    _, expected, _, _ = slow_convert(tsv, BUCKETS, hash_seed=7)
    np.testing.assert_array_equal(other, expected)


def test_public_transforms_agree_with_the_cache(cache):
    assert transform_dense([-3, 0, 5]).dtype == np.float32
    values = np.array([[0x68FD1E64] * 26, [0] * 26], dtype=np.uint64)
    missing = np.zeros((2, 26), bool)
    missing[1, 5] = True
    ids = hash_categorical(values, BUCKETS, missing=missing)
    salts = [slow_splitmix64(j) for j in range(26)]
    expected = [1 + slow_splitmix64(0x68FD1E64 ^ s) % (b - 1) for s, b in
                zip(salts, BUCKETS, strict=True)]  # fmt: skip
    assert ids[0].tolist() == expected
    assert ids[1, 5] == 0 and ids.dtype == np.int32
    with pytest.raises(ValueError, match="`values`"):
        hash_categorical(np.zeros((3, 25)), BUCKETS)


def test_edge_values(tmp_path):
    good = ["68fd1e64"] * 26

    def line(label="1", ints=("1",) * 13, cats=good):
        return "\t".join([label, *ints, *cats])

    ints_ok = ["-0", "007", "-9223372036854775808", "", "0" * 30 + "5"] + ["1"] * 8
    lines = [
        line(ints=ints_ok),  # kept
        line(cats=["68FD1E64", *good[1:]]),  # uppercase hex: kept
        line(ints=["0x10", *["1"] * 12]),  # Arrow would cast it to 16: rejected
        line(ints=["+5", *["1"] * 12]),
        line(ints=["9223372036854775808", *["1"] * 12]),  # int64 max + 1
        line(ints=["9223372036854775807", "x", *["1"] * 11]),  # slow path, 2 bad
        line(ints=["-", *["1"] * 12]),
        line(ints=["1-2", *["1"] * 12]),
        line(cats=["68fd1e6", *good[1:]]),  # 7 hex digits
        line(cats=["68fd1e644", *good[1:]]),  # 9 hex digits
        line(cats=["68fd1e\u00e9", *good[1:]]),  # 8 bytes, non-ASCII
        line(label=""),
        line(label="10"),
        line() + "\t",  # 41 fields
        "",  # blank line: ignored, not counted
        line(),  # kept
    ]
    path = tmp_path / "edge.tsv"
    path.write_text("\n".join(lines) + "\n")
    info = convert_criteo_tsv(path, tmp_path / "c", buckets=BUCKETS, progress=False)
    assert (info.rows, info.malformed) == (3, 12)
    data = CriteoDataset(tmp_path / "c")
    expected = [0.0, math.log1p(7), -math.log1p(2**63), 0.0, math.log1p(5)]
    np.testing.assert_allclose(data.dense[0, :5], expected, rtol=1e-7)
    np.testing.assert_array_equal(data.categorical[0], data.categorical[1])


def test_getitem(cache):
    data = CriteoDataset(cache[0])
    (dense, cat), label = data[3]
    assert dense.shape == (13,) and dense.dtype == torch.float32
    assert cat.shape == (26,) and cat.dtype == torch.int64
    assert label.shape == () and label.dtype == torch.float32
    (dense_last, _), _ = data[-1]
    torch.testing.assert_close(dense_last, torch.from_numpy(data.dense[-1].copy()))
    with pytest.raises(TypeError, match="`index`"):
        data[1.0]
    with pytest.raises(IndexError):
        data[len(data)]


def test_dataloader_batches(cache):
    data = CriteoDataset(cache[0])
    sampler = BatchSampler(RandomSampler(data), batch_size=512, drop_last=False)
    loader = DataLoader(data, batch_sampler=sampler, collate_fn=data.collate_fn)
    seen = 0
    for (dense, cat), label in loader:
        assert dense.dtype == torch.float32 and dense.shape[1:] == (13,)
        assert cat.dtype == torch.int64 and cat.shape[1:] == (26,)
        assert label.dtype == torch.float32 and label.shape == (len(dense),)
        seen += len(label)
    assert seen == len(data)
    (dense, cat), label = data.__getitems__([5, 0, 5])
    (dense5, cat5), label5 = data[5]
    torch.testing.assert_close(dense[0], dense5)
    torch.testing.assert_close(cat[2], cat5)
    assert label[0] == label5
    plain = DataLoader(data, batch_size=100, collate_fn=data.collate_fn)
    (dense, cat), label = next(iter(plain))
    assert dense.shape == (100, 13) and cat.shape == (100, 26)


def test_pickles_by_path(cache):
    data = CriteoDataset(cache[0])
    blob = pickle.dumps(data)
    assert len(blob) < 1000
    clone = pickle.loads(blob)
    assert len(clone) == len(data)
    np.testing.assert_array_equal(clone.categorical[:10], data.categorical[:10])


def test_gzip_input(tsv, cache, tmp_path):
    packed = tmp_path / "day.tsv.gz"
    packed.write_bytes(gzip.compress(tsv.read_bytes(), compresslevel=1))
    info = convert_criteo_tsv(packed, tmp_path / "c", buckets=BUCKETS, progress=False)
    assert (info.rows, info.malformed) == (cache[1].rows, N_MALFORMED)
    assert (tmp_path / "c" / "categorical.i32").read_bytes() == (
        cache[0] / "categorical.i32"
    ).read_bytes()


def test_failure_leaves_no_cache(tsv, tmp_path, monkeypatch):
    calls = []
    original = criteo._convert_batch

    def failing(*args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("killed mid-conversion")
        return original(*args)

    monkeypatch.setattr(criteo, "_convert_batch", failing)
    with pytest.raises(RuntimeError, match="killed"):
        convert_criteo_tsv(tsv, tmp_path / "cache", chunk_rows=200, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_existing_cache(tsv, cache, tmp_path):
    with pytest.raises(FileExistsError, match=re.escape(str(cache[0]))):
        convert_criteo_tsv(tsv, cache[0], buckets=BUCKETS, progress=False)
    folder = tmp_path / "c"
    convert_criteo_tsv(tsv, folder, buckets=BUCKETS, progress=False)
    info = convert_criteo_tsv(tsv, folder, buckets=50, overwrite=True, progress=False)
    assert CriteoDataset(folder).buckets == (50,) * 26 == info.buckets
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]
    (tmp_path / "other").mkdir()
    with pytest.raises(FileExistsError, match="not a Criteo cache"):
        convert_criteo_tsv(tsv, tmp_path / "other", overwrite=True, progress=False)


def test_missing_source(tmp_path):
    path = tmp_path / "nope.tsv"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        convert_criteo_tsv(path, tmp_path / "c", progress=False)
    with pytest.raises(FileNotFoundError, match="`cache_dir`"):
        CriteoDataset(tmp_path / "absent")


@pytest.mark.parametrize(
    ("buckets", "error", "message"),
    [
        (1, ValueError, r"`buckets` must be an integer in \[2, 2147483647\]; got 1"),
        (2**31, ValueError, r"\[2, 2147483647\]"),
        ([10] * 25, ValueError, "26 counts"),
        ([10] * 25 + [0], ValueError, r"`buckets`.*got 0"),
        (2.5, TypeError, "`buckets`"),
        ("10", TypeError, "`buckets`"),
        (True, TypeError, "`buckets`"),
    ],
)
def test_bad_buckets(tsv, tmp_path, buckets, error, message):
    with pytest.raises(error, match=message):
        convert_criteo_tsv(tsv, tmp_path / "c", buckets=buckets, progress=False)
    assert not (tmp_path / "c").exists()


def test_check_buckets_expands_an_int():
    assert check_buckets(5) == (5,) * 26
    assert check_buckets(np.int64(5)) == (5,) * 26


def test_no_wellformed_line(tmp_path):
    path = tmp_path / "test.txt"  # Criteo's test file has no label: 39 fields
    path.write_text("\t".join(["1"] * 13 + ["68fd1e64"] * 26) + "\n")
    with pytest.raises(ValueError, match="no well-formed"):
        convert_criteo_tsv(path, tmp_path / "c", progress=False)
    assert not (tmp_path / "c").exists()


def corrupt_copy(cache, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(cache[0], folder)
    return folder


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "meta.json").unlink(), "meta.json is missing"),
        (lambda f: (f / "meta.json").write_text("{not json"), "corrupt"),
        (lambda f: (f / "label.u8").write_bytes(b"\x00"), "label.u8 has 1 bytes"),
        (lambda f: (f / "dense.f32").unlink(), "dense.f32 has None bytes"),
    ],
)
def test_corrupt_cache_refused(cache, tmp_path, damage, message):
    folder = corrupt_copy(cache, tmp_path)
    damage(folder)
    with pytest.raises(ValueError, match=message):
        CriteoDataset(folder)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("rows", 10, "dense.f32 has"),
        ("rows", "many", "corrupt"),
        ("buckets", [1] * 26, "corrupt"),
        ("format_version", 99, "format_version 99"),
        ("hash_seed", None, "no key"),
    ],
)
def test_bad_meta_refused(cache, tmp_path, key, value, message):
    folder = corrupt_copy(cache, tmp_path)
    meta = json.loads((folder / "meta.json").read_text())
    if value is None:
        del meta[key]
    else:
        meta[key] = value
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=message):
        CriteoDataset(folder)
