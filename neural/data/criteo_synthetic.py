r"""Synthetic Criteo-format TSVs with labels from a planted block-sparse teacher.

Labels are y ~ Bernoulli(σ(ℓ)) with

    ℓ(x) = scale · w₂ᵀ tanh(W₁ e(x)) + bias,

where e(x) ∈ R^{39·d} embeds the 39 features in file order (I1..I13, then
C1..C26), d = ``embedding_dim`` (10) entries each, *after* the loader's transforms
of :mod:`neural.data.criteo` (the same functions, not copies): numeric feature f
gives t_f · v_f with t_f = sign(x)·log1p(|x|) and a fixed random v_f; categorical
column j gives a fixed random vector of its hashed bucket (zero for bucket 0,
"missing"), drawn from splitmix64 of the bucket, so no table is stored. W₁
(``hidden`` x 390) is block-sparse: a random ``density`` fraction of its
``block`` x ``block`` tiles is nonzero; with ``block == embedding_dim`` every
column block is one feature. ``scale`` and ``bias`` are calibrated on a sample so
that ℓ has standard deviation ``signal`` and the positive rate is
``positive_rate`` (0.25, near Criteo's).

This mirrors the paper's Criteo model (arXiv:2402.17902, Section 4), whose pruned layer
is the first dense layer (390 x 400): a block pruner should keep the blocks that
read the planted features. The construction is ours; the paper uses real data.
Raw features are drawn as: integers floor(exp(N(μ_i, σ_i))) (I2 shifted by −3,
so it has negatives, as in Criteo); categoricals from a per-column vocabulary of
random 32-bit values with power-law popularity (index ⌊V·u³⌋).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nonconvex_reg.validation import check_int, check_scalar

from ..atomic import atomic_file
from .criteo_features import (
    DEFAULT_BUCKETS,
    N_CATEGORICAL,
    N_INTEGER,
    check_buckets,
    hash_categorical,
    splitmix64,
    transform_dense,
)

__all__ = ["PlantedCriteoTeacher", "generate_criteo_tsv", "make_criteo_teacher"]

N_FEATURES = N_INTEGER + N_CATEGORICAL
_CHUNK_ROWS = 1 << 16  # rows generated at once; fixed, so files are reproducible
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
#: Malformed-line kinds inserted by ``malformed_rows``, in turn.
MALFORMED_KINDS = (
    "too few fields",
    "too many fields",
    "bad hex digit",
    "bad integer",
    "bad label",
    "short hex",
)


@dataclass(eq=False, repr=False)
class PlantedCriteoTeacher:
    """The ground truth behind a synthetic Criteo file (module docstring).

    Attributes
    ----------
    seed : int
    buckets : tuple of int
        Buckets per categorical column, as given to the loader.
    hash_seed : int
    embedding_dim : int
    block : int
    density : float
    support : ndarray of bool of shape (hidden // block, 39 * embedding_dim // block)
        Which blocks of ``weight`` are nonzero: the planted support.
    weight : ndarray of shape (hidden, 39 * embedding_dim)
        W₁, zero outside ``support``.
    output_weight : ndarray of shape (hidden,)
    scale, bias : float
        Calibrated logit scale and offset.
    numeric_embedding : ndarray of shape (13, embedding_dim)
    categorical_salts : ndarray of uint64 of shape (26, embedding_dim)
    integer_mean, integer_std : ndarray of shape (13,)
        Parameters of log(1 + integer), before the I2 shift.
    integer_shift : ndarray of int of shape (13,)
    vocabularies : tuple of 26 ndarray of uint32
    calibration : dict
        ``positive_rate`` reached and ``bayes_log_loss`` (the teacher's own mean
        cross-entropy, the best any model can do) on the calibration sample.
    """

    seed: int
    buckets: tuple[int, ...]
    hash_seed: int
    embedding_dim: int
    block: int
    density: float
    support: np.ndarray
    weight: np.ndarray
    output_weight: np.ndarray
    scale: float
    bias: float
    numeric_embedding: np.ndarray
    categorical_salts: np.ndarray
    integer_mean: np.ndarray
    integer_std: np.ndarray
    integer_shift: np.ndarray
    vocabularies: tuple[np.ndarray, ...]
    calibration: dict

    @property
    def hidden(self) -> int:
        """Width of the teacher's hidden layer."""
        return self.weight.shape[0]

    @property
    def relevant_features(self) -> tuple[int, ...]:
        """Features (0-12: I1..I13, 13-38: C1..C26) read by a nonzero block."""
        columns = np.repeat(self.support.any(axis=0), self.block)
        used = np.flatnonzero(columns.reshape(N_FEATURES, -1).any(axis=1))
        return tuple(int(f) for f in used)

    def embed_feature(self, feature, dense, categorical):
        """e_f(x) of shape (n_samples, embedding_dim) for one feature index."""
        if feature < N_INTEGER:
            column = np.asarray(dense[:, feature], dtype=np.float64)
            return column[:, None] * self.numeric_embedding[feature]
        j = feature - N_INTEGER
        ids = np.asarray(categorical[:, j], dtype=np.uint64)
        bits = splitmix64(ids[:, None] ^ self.categorical_salts[j])
        uniform = (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53
        embedding = np.sqrt(3.0) * (2.0 * uniform - 1.0)  # unit variance
        embedding[ids == 0] = 0.0  # missing
        return embedding

    def hidden_input(self, dense, categorical):
        """W₁ e(x), of shape (n_samples, hidden); only relevant features are read."""
        d = self.embedding_dim
        features = self.relevant_features
        embedded = np.concatenate(
            [self.embed_feature(f, dense, categorical) for f in features], axis=1
        )
        columns = np.concatenate([np.arange(f * d, (f + 1) * d) for f in features])
        return embedded @ self.weight[:, columns].T

    def logits(self, dense, categorical):
        """ℓ(x) for transformed features, as stored in a cache.

        Parameters
        ----------
        dense : array-like of shape (n_samples, 13)
            sign(x)·log1p(|x|) features (``CriteoDataset.dense``).
        categorical : array-like of int of shape (n_samples, 26)
            Bucket ids (``CriteoDataset.categorical``).

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        dense, categorical = np.asarray(dense), np.asarray(categorical)
        hidden = np.tanh(self.hidden_input(dense, categorical))
        return self.scale * (hidden @ self.output_weight) + self.bias

    def probabilities(self, dense, categorical):
        """σ(ℓ(x)), the click probability."""
        return 1.0 / (1.0 + np.exp(-self.logits(dense, categorical)))

    def sample_raw(self, n_samples, rng, missing_rate):
        """Raw features: integers, their missing mask, hex values, their mask."""
        normal = rng.standard_normal((n_samples, N_INTEGER))
        integers = np.floor(np.exp(self.integer_mean + self.integer_std * normal))
        integers = integers.astype(np.int64) - self.integer_shift
        uniform = rng.random((n_samples, N_CATEGORICAL))
        values = np.empty((n_samples, N_CATEGORICAL), np.uint32)
        for j, vocabulary in enumerate(self.vocabularies):
            index = (uniform[:, j] ** 3 * len(vocabulary)).astype(np.int64)
            values[:, j] = vocabulary[np.minimum(index, len(vocabulary) - 1)]
        missing = rng.random((n_samples, N_FEATURES)) < missing_rate
        return integers, missing[:, :N_INTEGER], values, missing[:, N_INTEGER:]

    def transform(self, integers, integer_missing, values, value_missing):
        """The loader's features of raw ones: ``(dense, categorical)``."""
        dense = transform_dense(np.where(integer_missing, 0, integers))
        categorical = hash_categorical(
            values, self.buckets, missing=value_missing, hash_seed=self.hash_seed
        )
        return dense, categorical

    def to_dict(self) -> dict:
        """JSON-ready summary: sizes, planted support and calibration."""
        return {
            "seed": self.seed,
            "hidden": self.hidden,
            "block": self.block,
            "density": self.density,
            "embedding_dim": self.embedding_dim,
            "n_blocks": int(self.support.size),
            "kept_blocks": int(self.support.sum()),
            "relevant_features": [int(f) for f in self.relevant_features],
            "support": self.support.astype(int).tolist(),
            **self.calibration,
        }

    def __repr__(self) -> str:
        return (
            f"PlantedCriteoTeacher(seed={self.seed}, hidden={self.hidden}, "
            f"block={self.block}, kept_blocks={int(self.support.sum())}/"
            f"{self.support.size}, relevant_features={list(self.relevant_features)})"
        )


def make_criteo_teacher(
    seed=0,
    *,
    hidden=40,
    block=10,
    density=0.1,
    embedding_dim=10,
    positive_rate=0.25,
    signal=2.0,
    missing_rate=0.05,
    buckets=DEFAULT_BUCKETS,
    hash_seed=0,
    calibration_rows=20000,
) -> PlantedCriteoTeacher:
    """Draw a planted teacher and calibrate its logit (module docstring).

    Parameters
    ----------
    seed : int, default=0
    hidden : int, default=40
        Width of the teacher's hidden layer; a multiple of ``block``.
    block : int, default=10
        Side of W₁'s square blocks; must divide 39 * ``embedding_dim``.
    density : float, default=0.1
        Fraction of nonzero blocks, in (0, 1]; at least one block is kept.
    embedding_dim : int, default=10
    positive_rate : float, default=0.25
        Target mean of σ(ℓ), in (0, 1).
    signal : float, default=2.0
        Standard deviation of ℓ over the calibration sample.
    missing_rate : float, default=0.05
        Missing-field rate of the calibration sample.
    buckets : int or sequence of 26 int, default=2**18
        Must equal the loader's ``buckets`` for :meth:`~PlantedCriteoTeacher.logits`
        to read a cache.
    hash_seed : int, default=0
    calibration_rows : int, default=20000

    Returns
    -------
    PlantedCriteoTeacher

    Examples
    --------
    >>> teacher = make_criteo_teacher(0)
    >>> teacher.support.shape, int(teacher.support.sum())
    ((4, 39), 16)
    >>> round(teacher.calibration["positive_rate"], 3)
    0.25
    """
    hidden = check_int(hidden, "hidden", low=1)
    block = check_int(block, "block", low=1)
    embedding_dim = check_int(embedding_dim, "embedding_dim", low=1)
    width = N_FEATURES * embedding_dim
    if hidden % block or width % block:
        raise ValueError(
            f"`block` must divide `hidden` ({hidden}) and the embedding width "
            f"({width}); got {block}."
        )
    density = check_scalar(density, "density", low=0.0, high=1.0, low_inclusive=False)
    positive_rate = check_scalar(
        positive_rate,
        "positive_rate",
        low=0.0,
        high=1.0,
        low_inclusive=False,
        high_inclusive=False,
    )
    signal = check_scalar(signal, "signal", low=0.0, low_inclusive=False)
    missing_rate = check_scalar(
        missing_rate, "missing_rate", low=0.0, high=1.0, high_inclusive=False
    )
    calibration_rows = check_int(calibration_rows, "calibration_rows", low=100)
    rng = np.random.default_rng([check_int(seed, "seed", low=0), 0])

    grid = (hidden // block, width // block)
    n_kept = max(1, round(density * grid[0] * grid[1]))
    support = np.zeros(grid[0] * grid[1], bool)
    support[rng.choice(support.size, n_kept, replace=False)] = True
    support = support.reshape(grid)
    weight = rng.standard_normal((hidden, width))
    weight *= np.kron(support, np.ones((block, block)))
    shift = np.zeros(N_INTEGER, np.int64)
    shift[1] = 3  # I2 takes values down to -3, as in Criteo
    teacher = PlantedCriteoTeacher(
        seed=seed,
        buckets=check_buckets(buckets),
        hash_seed=check_int(hash_seed, "hash_seed", low=0, high=2**63 - 1),
        embedding_dim=embedding_dim,
        block=block,
        density=density,
        support=support,
        weight=weight,
        output_weight=rng.standard_normal(hidden),
        scale=1.0,
        bias=0.0,
        numeric_embedding=np.sqrt(3.0) * rng.uniform(-1, 1, (N_INTEGER, embedding_dim)),
        categorical_salts=rng.integers(
            0, 2**63, (N_CATEGORICAL, embedding_dim), dtype=np.uint64
        ),
        integer_mean=rng.uniform(0.0, 4.0, N_INTEGER),
        integer_std=rng.uniform(0.5, 2.0, N_INTEGER),
        integer_shift=shift,
        vocabularies=tuple(
            rng.integers(0, 2**32, int(size), dtype=np.uint64).astype(np.uint32)
            for size in np.exp(rng.uniform(np.log(3), np.log(1e5), N_CATEGORICAL))
        ),
        calibration={},
    )
    _calibrate(teacher, rng, calibration_rows, missing_rate, signal, positive_rate)
    return teacher


def _calibrate(teacher, rng, n_rows, missing_rate, signal, positive_rate):
    """Unit-variance hidden inputs, std(ℓ) = signal and mean σ(ℓ) = positive_rate."""
    dense, categorical = teacher.transform(
        *teacher.sample_raw(n_rows, rng, missing_rate)
    )
    spread = teacher.hidden_input(dense, categorical).std(axis=0)
    teacher.weight /= np.where(spread > 0, spread, 1.0)[:, None]
    z = np.tanh(teacher.hidden_input(dense, categorical)) @ teacher.output_weight
    teacher.scale = signal / z.std()
    low, high = -30.0, 30.0  # mean σ(scale·z + bias) increases with bias
    for _ in range(100):
        bias = 0.5 * (low + high)
        rate = np.mean(1.0 / (1.0 + np.exp(-(teacher.scale * z + bias))))
        low, high = (bias, high) if rate < positive_rate else (low, bias)
    teacher.bias = 0.5 * (low + high)
    p = 1.0 / (1.0 + np.exp(-(teacher.scale * z + teacher.bias)))
    p = np.clip(p, 1e-12, 1 - 1e-12)
    teacher.calibration = {
        "positive_rate": float(p.mean()),
        "bayes_log_loss": float(-np.mean(p * np.log(p) + (1 - p) * np.log1p(-p))),
    }


def _string_column(pa, values, missing):
    """Arrow strings of integers or 8-digit hex (uint32), null where missing."""
    if values.dtype == np.uint32:
        pairs = values.astype(">u4").view(np.uint8).reshape(-1, 4)
        chars = np.empty((len(values), 8), np.uint8)
        chars[:, 0::2] = _HEX[pairs >> 4]
        chars[:, 1::2] = _HEX[pairs & 15]
        offsets = np.arange(0, 8 * len(values) + 1, 8, dtype=np.int32)
        validity = np.packbits(~missing, bitorder="little")
        return pa.StringArray.from_buffers(
            len(values),
            pa.py_buffer(offsets),
            pa.py_buffer(chars),
            pa.py_buffer(validity),
            int(missing.sum()),
        )
    return pa.array(values, mask=missing).cast(pa.string())


def _corrupt(line, kind):
    """A malformed version of a well-formed line."""
    fields = line.split("\t")
    if kind == "too few fields":
        fields = fields[:-1]
    elif kind == "too many fields":
        fields.append("0")
    elif kind == "bad hex digit":
        fields[1 + N_INTEGER] = "68fd1e6g"
    elif kind == "bad integer":
        fields[1] = "1.5"
    elif kind == "bad label":
        fields[0] = "2"
    else:  # "short hex"
        fields[-1] = "68fd1e6"
    return "\t".join(fields)


def generate_criteo_tsv(
    path, n_rows, *, seed=0, missing_rate=0.05, malformed_rows=0, teacher=None
) -> PlantedCriteoTeacher:
    r"""Write ``n_rows`` lines in the Criteo TSV format, labelled by a teacher.

    Parameters
    ----------
    path : str or path
        Written atomically; the same arguments give a byte-identical file.
    n_rows : int
        Lines written, malformed ones included.
    seed : int, default=0
        Seed of the rows (and of the teacher when none is given).
    missing_rate : float, default=0.05
        Probability that each of the 39 feature fields is empty.
    malformed_rows : int, default=0
        Lines, at seeded positions, made malformed (:data:`MALFORMED_KINDS` in
        turn): the loader should keep ``n_rows - malformed_rows`` rows.
    teacher : PlantedCriteoTeacher, optional
        Labelling teacher; default ``make_criteo_teacher(seed,
        missing_rate=missing_rate)``. Pass one teacher to draw train and
        validation files from the same ground truth.

    Returns
    -------
    PlantedCriteoTeacher
        The teacher used, with the planted ``support``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "day.tsv"
    >>> teacher = generate_criteo_tsv(path, 3, malformed_rows=1)
    >>> [len(line.split("\t")) for line in path.read_text().splitlines()]
    [40, 40, 39]
    """
    import pyarrow as pa  # deferred, as in neural.data.criteo
    import pyarrow.compute as pc

    n_rows = check_int(n_rows, "n_rows", low=1)
    seed = check_int(seed, "seed", low=0)
    missing_rate = check_scalar(
        missing_rate, "missing_rate", low=0.0, high=1.0, high_inclusive=False
    )
    malformed_rows = check_int(malformed_rows, "malformed_rows", low=0, high=n_rows)
    if teacher is None:
        teacher = make_criteo_teacher(seed, missing_rate=missing_rate)
    elif not isinstance(teacher, PlantedCriteoTeacher):
        raise TypeError(
            f"`teacher` must be a PlantedCriteoTeacher or None; got {teacher!r}."
        )
    rng = np.random.default_rng([seed, 1])
    positions = np.sort(
        np.random.default_rng([seed, 2]).choice(n_rows, malformed_rows, replace=False)
    )
    with atomic_file(path) as tmp, open(tmp, "wb") as handle:
        for start in range(0, n_rows, _CHUNK_ROWS):
            n = min(_CHUNK_ROWS, n_rows - start)
            raw = teacher.sample_raw(n, rng, missing_rate)
            p = teacher.probabilities(*teacher.transform(*raw))
            labels = (rng.random(n) < p).astype(np.uint8)
            integers, integer_missing, values, value_missing = raw
            columns = [pa.array(labels).cast(pa.string())]
            columns += [
                _string_column(pa, integers[:, i], integer_missing[:, i])
                for i in range(N_INTEGER)
            ]
            columns += [
                _string_column(pa, values[:, j].copy(), value_missing[:, j])
                for j in range(N_CATEGORICAL)
            ]
            lines = pc.binary_join_element_wise(
                *columns, "\t", null_handling="replace", null_replacement=""
            )
            chosen = np.flatnonzero((positions >= start) & (positions < start + n))
            if len(chosen):
                rows = positions[chosen] - start
                mask = np.zeros(n, bool)
                mask[rows] = True
                bad = [
                    _corrupt(
                        lines[int(row)].as_py(),
                        MALFORMED_KINDS[k % len(MALFORMED_KINDS)],
                    )
                    for row, k in zip(rows, chosen, strict=True)
                ]
                lines = pc.replace_with_mask(lines, pa.array(mask), pa.array(bad))
            text = pc.binary_join_element_wise(lines, "", "\n")
            _, offsets, data = text.buffers()
            offsets = np.frombuffer(offsets, np.int32, n + 1, text.offset * 4)
            handle.write(memoryview(data)[offsets[0] : offsets[-1]])
    return teacher
