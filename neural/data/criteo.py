"""Criteo click logs: streaming TSV parse into a memory-mapped binary cache.

arXiv:2402.17902, Section 4 (Criteo): each example has 13 numeric and 26
categorical features, and each of the 39 features is embedded in R^10. The file
format is that of the Criteo
Display Advertising Challenge: one example per line, 40 tab-separated fields
``label, I1..I13, C1..C26``, an empty field meaning "missing", no header. Numeric
fields go through sign(x)·log1p(|x|) and categorical hex fields (8 hex digits,
either case) are hashed into per-column buckets, as
:mod:`neural.data.criteo_features` states.

A line is *malformed*, counted and skipped (never fatal), when it does not have
40 fields, its label is not ``0``/``1``, an integer field is not a decimal
``-?[0-9]+`` in the int64 range or a categorical field is not 8 hex digits.
Blank lines are ignored.

The cache is a folder written atomically (:func:`neural.atomic.atomic_directory`):
``dense.f32`` (rows x 13 float32), ``categorical.i32`` (rows x 26 int32),
``label.u8`` (rows uint8), all C-order raw arrays, and ``meta.json`` written last.
:class:`CriteoDataset` memory-maps it for ``torch.utils.data.DataLoader``.
"""

from __future__ import annotations

import contextlib
import json
import numbers
import os
import queue
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from nonconvex_reg.validation import check_int

from ..atomic import atomic_directory
from .criteo_features import (
    DEFAULT_BUCKETS,
    N_CATEGORICAL,
    N_FIELDS,
    N_INTEGER,
    _bucketize_inplace,
    _column_salts,
    check_buckets,
    transform_dense,
)

__all__ = ["CriteoCacheInfo", "CriteoDataset", "convert_criteo_tsv"]

FORMAT_VERSION = 1
_FILES = {"dense": "dense.f32", "categorical": "categorical.i32", "label": "label.u8"}
_SAMPLE_BYTES = 1 << 16  # head of the file used to estimate the line length
_MIN_BLOCK_BYTES = 1 << 16
_INTEGER_PATTERN = r"^-?[0-9]+$"

_U = np.uint64
_HIGH = _U(0x8080808080808080)
_LOW_NIBBLES = _U(0x0F0F0F0F0F0F0F0F)
_ONES = _U(0x0101010101010101)


# ----------------------------------------------------------- the vectorized parser
def _string_buffers(array):
    """Offsets (int32, n + 1), data bytes and validity (bool or None) of strings."""
    n = len(array)
    validity, offsets, data = array.buffers()
    offsets = np.frombuffer(offsets, np.int32, n + 1, array.offset * 4)
    valid = None
    if validity is not None and array.null_count:
        bits = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
        valid = bits[array.offset : array.offset + n].view(bool)
    data = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offsets, data, valid


def _parse_labels(array, bad):
    offsets, data, _ = _string_buffers(array)
    ok = np.diff(offsets) == 1  # null labels have length 0
    label = np.zeros(len(array), np.uint8)
    label[ok] = data[offsets[:-1][ok]] - np.uint8(48)  # "0" -> 0, "1" -> 1
    bad |= ~ok | (label > 1)
    return label


def _parse_integers(array, bad, pc, pa):
    """int64 values (missing -> 0) of one integer column; marks bad rows."""
    offsets, data, _ = _string_buffers(array)
    chars = data[offsets[0] : offsets[-1]]
    # Fast path: only digits and '-' (Arrow's cast also accepts e.g. "0x10").
    if ((chars - np.uint8(48) <= 9) | (chars == 45)).all():
        try:
            return pc.fill_null(pc.cast(array, pa.int64()), 0).to_numpy()
        except pa.ArrowInvalid:
            pass  # a misplaced '-' or a value outside int64: slow path
    ok = pc.fill_null(pc.match_substring_regex(array, _INTEGER_PATTERN), True)
    ok = ok.to_numpy(zero_copy_only=False)
    long = np.flatnonzero(ok & (np.diff(offsets) >= 19))
    for i in long:  # rare: decimal strings that may overflow int64
        ok[i] = -(2**63) <= int(array[int(i)].as_py()) < 2**63
    bad |= ~ok
    cleaned = pc.if_else(pa.array(ok), array, pa.scalar(None, pa.string()))
    return pc.fill_null(pc.cast(cleaned, pa.int64()), 0).to_numpy()


def _hex_words(array, out, missing, bad):
    """Read 8-character fields as big-endian uint64 words into ``out`` (n,)."""
    offsets, data, valid = _string_buffers(array)
    lengths = np.diff(offsets)
    eight = lengths == 8
    n_eight = int(np.count_nonzero(eight))
    if n_eight == 0:
        words = None
        bad |= lengths != 0
    elif offsets[-1] - offsets[0] == 8 * n_eight:  # fast path: every field 0 or 8
        words = np.frombuffer(data, ">u8", n_eight, int(offsets[0]))
    else:  # some field has another length: malformed row
        bad |= (lengths != 0) & ~eight
        starts = offsets[:-1][eight]
        words = data[starts[:, None] + np.arange(8)].view(">u8")[:, 0]
    if n_eight:
        out[eight] = words
    missing[:] = ~eight if valid is None else ~(eight & valid)


def _decode_hex_inplace(x):
    """8 ASCII hex digits per uint64 word (first digit in the top byte) -> value.

    Returns a bool array: True where a word holds a character that is not a hex
    digit. SWAR: all 8 bytes of a word are tested and decoded at once. For a byte
    c < 0x80, bit 7 of c + (0x80 - lo) is set iff c >= lo, so bit 7 of
    [c >= '0'] xor [c >= ':'] xor [c|0x20 >= 'a'] xor [c|0x20 >= 'g'] is set
    iff c is a hex digit (the ranges are nested and disjoint).
    """
    scratch = np.empty_like(x)
    test = np.add(x, _U(0x50 * 0x0101010101010101))  # c >= 0x30
    test ^= np.add(x, _U(0x46 * 0x0101010101010101), out=scratch)  # c >= 0x3A
    lower = np.bitwise_or(x, _U(0x2020202020202020))
    test ^= np.add(lower, _U(0x1F * 0x0101010101010101), out=scratch)  # >= 0x61
    test ^= np.add(lower, _U(0x19 * 0x0101010101010101), out=scratch)  # >= 0x67
    np.invert(x, out=scratch)
    test &= scratch  # bytes >= 0x80 fail
    test &= _HIGH
    invalid = test != _HIGH
    # nibble per byte: low 4 bits, +9 for letters (bit 6 set)
    np.right_shift(x, _U(6), out=scratch)
    scratch &= _ONES
    scratch *= _U(9)
    x &= _LOW_NIBBLES
    x += scratch
    # byte k holds digit 7 - k: pack pairs, then 16- and 32-bit lanes
    for shift, mask in (
        (4, 0x00FF00FF00FF00FF),
        (8, 0x0000FFFF0000FFFF),
        (16, 0x00000000FFFFFFFF),
    ):
        np.right_shift(x, _U(shift), out=scratch)
        x |= scratch
        x &= _U(mask)
    return invalid


def _convert_batch(batch, salts, moduli, pc, pa):
    """One record batch of 40 string columns -> (dense, categorical, label, n_bad)."""
    n = batch.num_rows
    bad = np.zeros(n, bool)
    label = _parse_labels(batch.column(0), bad)
    integers = np.empty((N_INTEGER, n), np.int64)
    for i in range(N_INTEGER):
        integers[i] = _parse_integers(batch.column(1 + i), bad, pc, pa)
    words = np.zeros((N_CATEGORICAL, n), np.uint64)
    missing = np.empty((N_CATEGORICAL, n), bool)
    for j in range(N_CATEGORICAL):
        _hex_words(batch.column(1 + N_INTEGER + j), words[j], missing[j], bad)
    invalid = _decode_hex_inplace(words)
    invalid &= ~missing
    bad |= invalid.any(axis=0)
    _bucketize_inplace(words, salts, moduli, missing)
    keep = ~bad
    dense = transform_dense(integers.T[keep])
    categorical = words.T[keep].astype(np.int32)
    return dense, categorical, label[keep], int(n - keep.sum())


def _prefetch(batches, depth=2):
    """Iterate ``batches`` in a background thread, ``depth`` items ahead.

    Arrow's CSV parse releases the GIL, so parsing block k + 1 overlaps the numpy
    conversion of block k (two cores).
    """
    items = queue.Queue(depth)
    stop = threading.Event()

    def put(item):
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for batch in batches:
                if not put(("batch", batch)):
                    return
            put(("done", None))
        except BaseException as error:  # handed to the consumer
            put(("error", error))

    thread = threading.Thread(target=work, name="criteo-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = items.get()
            if kind == "done":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


# ------------------------------------------------------------------- the cache
@dataclass(frozen=True)
class CriteoCacheInfo:
    """What a conversion wrote: a binary cache's ``meta.json``, typed.

    Attributes
    ----------
    path : str
        The cache folder.
    rows : int
        Well-formed examples stored.
    malformed : int
        Lines counted and skipped.
    buckets : tuple of int
        Buckets per categorical column (26).
    hash_seed : int
    source : str
        File name of the TSV.
    source_bytes : int
    seconds : float
        Parse and write time of the conversion (before the atomic rename).
    bytes : int
        Size of the three array files.
    """

    path: str
    rows: int
    malformed: int
    buckets: tuple[int, ...]
    hash_seed: int
    source: str
    source_bytes: int
    seconds: float
    bytes: int

    @property
    def rows_per_second(self) -> float:
        """Input lines (well-formed and malformed) parsed per second."""
        return (self.rows + self.malformed) / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        """JSON-ready dictionary, ``rows_per_second`` included."""
        return {**asdict(self), "rows_per_second": self.rows_per_second}

    def __repr__(self) -> str:
        return (
            f"CriteoCacheInfo(rows={self.rows:,}, malformed={self.malformed:,}, "
            f"seconds={self.seconds:.3f}, rows_per_second={self.rows_per_second:,.0f}, "
            f"bytes={self.bytes:,}, path={self.path!r})"
        )


def _estimate_block_size(path, chunk_rows, pa):
    with pa.input_stream(str(path), compression="detect") as stream:
        sample = stream.read(_SAMPLE_BYTES)
    line_length = len(sample) / max(sample.count(b"\n"), 1)
    return max(_MIN_BLOCK_BYTES, int(np.ceil(chunk_rows * line_length)))


def _open_reader(stream, block_size, on_invalid, pa, csv):
    names = (
        ["label"]
        + [f"I{i}" for i in range(1, N_INTEGER + 1)]
        + [f"C{j}" for j in range(1, N_CATEGORICAL + 1)]
    )
    return csv.open_csv(
        stream,
        read_options=csv.ReadOptions(column_names=names, block_size=block_size),
        parse_options=csv.ParseOptions(
            delimiter="\t",
            quote_char=False,
            double_quote=False,
            escape_char=False,
            newlines_in_values=False,
            invalid_row_handler=on_invalid,
        ),
        convert_options=csv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=False,
        ),
    )


def _write_arrays(path, folder, buckets, hash_seed, chunk_rows, progress, started):
    """Parse ``path`` into the three raw files of ``folder``; returns the meta."""
    import pyarrow as pa  # deferred: importing this module stays light
    import pyarrow.compute as pc
    import pyarrow.csv as csv
    from tqdm import tqdm

    salts = _column_salts(hash_seed)
    moduli = np.asarray(buckets, dtype=np.uint64) - _U(1)
    block_size = _estimate_block_size(path, chunk_rows, pa)
    invalid_rows = []  # appended to by the reader thread

    def on_invalid(row):  # wrong number of fields
        invalid_rows.append(row.number)
        return "skip"

    size = path.stat().st_size
    rows = malformed = 0
    handles = {key: open(folder / name, "wb") for key, name in _FILES.items()}
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            seekable = not isinstance(stream, pa.CompressedInputStream)
            reader = _open_reader(stream, block_size, on_invalid, pa, csv)

            def batches():  # with the bytes read so far (rows when compressed)
                for batch in reader:
                    yield batch, stream.tell() if seekable else batch.num_rows

            bar = tqdm(
                total=size if seekable else None,
                unit="B" if seekable else " rows",
                unit_scale=True,
                desc=f"criteo {path.name}",
                disable=not progress,
            )
            position = 0
            try:
                with contextlib.closing(_prefetch(batches())) as prefetched:
                    for batch, done in prefetched:
                        dense, categorical, label, n_bad = _convert_batch(
                            batch, salts, moduli, pc, pa
                        )
                        dense.tofile(handles["dense"])
                        categorical.tofile(handles["categorical"])
                        label.tofile(handles["label"])
                        rows += len(label)
                        malformed += n_bad
                        bar.update(done - position if seekable else done)
                        position = done
            except pa.ArrowInvalid as error:
                raise ValueError(f"cannot parse {str(path)!r}: {error}") from error
            finally:
                bar.close()
    finally:
        for handle in handles.values():
            handle.close()
    malformed += len(invalid_rows)
    if rows == 0:
        raise ValueError(
            f"{str(path)!r} holds no well-formed Criteo line ({malformed} malformed "
            f"skipped); expected {N_FIELDS} tab-separated fields per line."
        )
    return {
        "format_version": FORMAT_VERSION,
        "rows": rows,
        "malformed": malformed,
        "buckets": list(buckets),
        "hash_seed": hash_seed,
        "source": path.name,
        "source_bytes": size,
        "seconds": time.perf_counter() - started,
        "bytes": sum((folder / name).stat().st_size for name in _FILES.values()),
        "files": {
            "dense": [_FILES["dense"], "float32", N_INTEGER],
            "categorical": [_FILES["categorical"], "int32", N_CATEGORICAL],
            "label": [_FILES["label"], "uint8", 1],
        },
    }


def convert_criteo_tsv(
    tsv_path,
    cache_dir,
    *,
    buckets=DEFAULT_BUCKETS,
    hash_seed=0,
    chunk_rows=4096,
    overwrite=False,
    progress=True,
) -> CriteoCacheInfo:
    r"""Parse a Criteo TSV into a binary cache folder, streaming, in bounded memory.

    dense = sign(x)·log1p(|x|), categorical = 1 + splitmix64(v ⊕ s_j) mod
    (buckets[j] − 1), missing ↦ 0 in both (module docstring).

    Parameters
    ----------
    tsv_path : str or path
        Criteo Display Advertising Challenge file (``train.txt``); ``.gz`` and
        other compressions Arrow detects from the suffix are read transparently.
    cache_dir : str or path
        Folder to create; written atomically, so a killed conversion leaves none.
    buckets : int or sequence of 26 int, default=2**18
        Hash buckets per categorical column (bucket 0 is "missing"), each in
        ``[2, 2^31 - 1]``; the paper does not give them, 2**18 is our default.
    hash_seed : int, default=0
        Seed of the column salts.
    chunk_rows : int, default=4096
        Rows per parsed block, approximately (the block size in bytes is
        ``chunk_rows`` times the mean line length of the file's first 64 KiB).
        Memory use is a few blocks; small blocks keep the conversion in cache.
    overwrite : bool, default=False
        Replace an existing cache (a folder holding ``meta.json``) at
        ``cache_dir``, once the new one is complete.
    progress : bool, default=True
        Show a progress bar over the file's bytes.

    Returns
    -------
    CriteoCacheInfo
        The written ``meta.json``, equal to ``CriteoDataset(cache_dir).info``.

    Raises
    ------
    FileNotFoundError
        If ``tsv_path`` does not exist.
    FileExistsError
        If ``cache_dir`` exists (and is not a cache replaced with ``overwrite``).
    ValueError
        On bad ``buckets`` or ``chunk_rows``, a file without well-formed lines, or
        a file Arrow's CSV reader cannot read at all.

    Notes
    -----
    Arrow's streaming CSV reader parses blocks in a background thread while the
    previous block is converted with numpy; malformed lines (wrong field count,
    bad label, integer or hex) are counted in ``malformed`` and skipped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> line = "\t".join(["1", "5", "-2"] + [""] * 11 + ["68fd1e64"] * 26)
    >>> _ = (folder / "day.tsv").write_text(line + "\nbad line\n")
    >>> info = convert_criteo_tsv(folder / "day.tsv", folder / "cache", progress=False)
    >>> info.rows, info.malformed
    (1, 1)
    """
    started = time.perf_counter()
    tsv_path = Path(tsv_path)
    cache_dir = Path(cache_dir)
    buckets = check_buckets(buckets)
    hash_seed = check_int(hash_seed, "hash_seed", low=0, high=2**63 - 1)
    chunk_rows = check_int(chunk_rows, "chunk_rows", low=1)
    if not tsv_path.is_file():
        raise FileNotFoundError(f"`tsv_path` {str(tsv_path)!r} is not a file.")
    replace = cache_dir.exists()
    if replace and not overwrite:
        raise FileExistsError(
            f"`cache_dir` {str(cache_dir)!r} already exists; pass overwrite=True "
            "to replace it."
        )
    if replace and not (cache_dir / "meta.json").is_file():
        raise FileExistsError(
            f"`cache_dir` {str(cache_dir)!r} exists and is not a Criteo cache (no "
            "meta.json); overwrite=True replaces only caches."
        )
    target = cache_dir.with_name(f".{cache_dir.name}.new") if replace else cache_dir
    trash = cache_dir.with_name(f".{cache_dir.name}.old")
    for leftover in (target, trash) if replace else ():
        if leftover.is_dir():  # left by an overwrite killed mid-swap
            shutil.rmtree(leftover)
    with atomic_directory(target) as folder:
        meta = _write_arrays(
            tsv_path, folder, buckets, hash_seed, chunk_rows, progress, started
        )
        (folder / "meta.json").write_text(json.dumps(meta, indent=2))
    if replace:
        os.rename(cache_dir, trash)
        os.rename(target, cache_dir)
        shutil.rmtree(trash)
    return _info_from_meta(meta, cache_dir)


def _info_from_meta(meta, cache_dir):
    return CriteoCacheInfo(
        path=str(cache_dir),
        rows=meta["rows"],
        malformed=meta["malformed"],
        buckets=tuple(meta["buckets"]),
        hash_seed=meta["hash_seed"],
        source=meta["source"],
        source_bytes=meta["source_bytes"],
        seconds=meta["seconds"],
        bytes=meta["bytes"],
    )


def _read_meta(cache_dir):
    """Load and check ``meta.json`` against the array files; ValueError if wrong."""
    path = cache_dir / "meta.json"
    if not path.is_file():
        raise ValueError(
            f"{str(cache_dir)!r} is not a Criteo cache: meta.json is missing "
            "(an interrupted conversion leaves no folder; convert again)."
        )
    try:
        meta = json.loads(path.read_text())
        rows = check_int(meta["rows"], "rows", low=1)
        check_buckets(meta["buckets"])
        _info_from_meta(meta, cache_dir)
    except KeyError as error:
        raise ValueError(f"corrupt {str(path)!r}: no key {error}.") from None
    except (ValueError, TypeError) as error:
        raise ValueError(f"corrupt {str(path)!r}: {error}") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} has format_version {meta.get('format_version')!r}; this "
            f"reader understands {FORMAT_VERSION}. Convert the TSV again."
        )
    for key, width, itemsize in (
        ("dense", N_INTEGER, 4),
        ("categorical", N_CATEGORICAL, 4),
        ("label", 1, 1),
    ):
        file = cache_dir / _FILES[key]
        expected = rows * width * itemsize
        actual = file.stat().st_size if file.is_file() else None
        if actual != expected:
            raise ValueError(
                f"corrupt Criteo cache {str(cache_dir)!r}: {_FILES[key]} has "
                f"{actual} bytes, meta.json's {rows} rows need {expected}."
            )
    return meta


class CriteoDataset(torch.utils.data.Dataset):
    r"""A converted Criteo cache, memory-mapped read-only, as a torch dataset.

    Item ``i`` is ``((dense, categorical), label)``: float32 of shape (13,), int64
    of shape (26,) and a float32 scalar. ``__getitems__`` (the batched fetch of
    ``DataLoader``) returns a whole batch already stacked, which
    :meth:`collate_fn` passes through.

    Parameters
    ----------
    cache_dir : str or path
        A folder written by :func:`convert_criteo_tsv`.

    Raises
    ------
    FileNotFoundError
        If ``cache_dir`` does not exist.
    ValueError
        If ``meta.json`` is missing or corrupt or disagrees with the array sizes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from torch.utils.data import BatchSampler, DataLoader, SequentialSampler
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> line = "\t".join(["0"] + ["3"] * 13 + ["68fd1e64"] * 26) + "\n"
    >>> _ = (folder / "day.tsv").write_text(line * 5)
    >>> _ = convert_criteo_tsv(folder / "day.tsv", folder / "c", progress=False)
    >>> data = CriteoDataset(folder / "c")
    >>> sampler = BatchSampler(SequentialSampler(data), batch_size=4, drop_last=False)
    >>> loader = DataLoader(data, batch_sampler=sampler, collate_fn=data.collate_fn)
    >>> (dense, categorical), label = next(iter(loader))
    >>> tuple(dense.shape), tuple(categorical.shape), tuple(label.shape)
    ((4, 13), (4, 26), (4,))
    """

    def __init__(self, cache_dir):
        self.cache_dir = Path(cache_dir)
        if not self.cache_dir.is_dir():
            raise FileNotFoundError(
                f"`cache_dir` {str(self.cache_dir)!r} is not a folder."
            )
        self._meta = _read_meta(self.cache_dir)
        rows = self._meta["rows"]
        self._dense = self._map("dense", np.float32, (rows, N_INTEGER))
        self._categorical = self._map("categorical", np.int32, (rows, N_CATEGORICAL))
        self._label = self._map("label", np.uint8, (rows,))

    def _map(self, key, dtype, shape):
        return np.memmap(self.cache_dir / _FILES[key], dtype, mode="r", shape=shape)

    # pickled for DataLoader workers by path, never by value
    def __getstate__(self):
        return {"cache_dir": self.cache_dir}

    def __setstate__(self, state):
        self.__init__(state["cache_dir"])

    def __len__(self) -> int:
        return self._meta["rows"]

    def __getitem__(self, index):
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"`index` must be an integer; got {index!r}.")
        dense = torch.from_numpy(np.array(self._dense[index]))
        categorical = torch.from_numpy(self._categorical[index].astype(np.int64))
        return (dense, categorical), torch.tensor(float(self._label[index]))

    def __getitems__(self, indices):
        """A batch stacked: ``((dense[B, 13], categorical[B, 26]), label[B])``."""
        index = np.asarray(indices, dtype=np.intp)
        dense = torch.from_numpy(np.asarray(self._dense[index]).view(np.ndarray))
        categorical = torch.from_numpy(self._categorical[index].astype(np.int64))
        label = torch.from_numpy(self._label[index].astype(np.float32))
        return (dense, categorical), label

    @staticmethod
    def collate_fn(batch):
        """Pass a batch from :meth:`__getitems__` through (it is already stacked)."""
        return batch

    @property
    def buckets(self) -> tuple[int, ...]:
        """Buckets per categorical column (26)."""
        return tuple(self._meta["buckets"])

    @property
    def info(self) -> CriteoCacheInfo:
        """The cache's ``meta.json``, typed."""
        return _info_from_meta(self._meta, self.cache_dir)

    @property
    def dense(self) -> np.ndarray:
        """Read-only memory map of shape (rows, 13), float32."""
        return self._dense

    @property
    def categorical(self) -> np.ndarray:
        """Read-only memory map of shape (rows, 26), int32 bucket ids."""
        return self._categorical

    @property
    def labels(self) -> np.ndarray:
        """Read-only memory map of shape (rows,), uint8 in {0, 1}."""
        return self._label

    def __repr__(self) -> str:
        return f"CriteoDataset({str(self.cache_dir)!r}, rows={len(self):,})"
