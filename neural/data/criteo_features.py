"""Criteo features: the numeric transform and the categorical hashing.

arXiv:2402.17902 (Section 4) embeds each of the 39 Criteo features in R^10 but gives no
preprocessing; ours (our choices) is

* numeric x (a 64-bit integer, possibly negative) ↦ ``sign(x)·log1p(|x|)``,
  computed in float64 and rounded to float32; no clipping, so negatives keep their sign;
  missing ↦ 0.0, the image of x = 0;
* categorical value v (an 8-hex-digit field read as an integer) in column j ↦
  bucket 1 + splitmix64(v ⊕ s_j) mod (B_j − 1), with column salt
  s_j = splitmix64(hash_seed + j) and B_j = ``buckets[j]``; missing ↦ bucket 0;
* splitmix64 is the finalizer of Steele et al.'s SplitMix64 generator:
  z += 0x9E3779B97F4A7C15; z = (z ⊕ z>>30)·0xBF58476D1CE4E5B9;
  z = (z ⊕ z>>27)·0x94D049BB133111EB; z ⊕ z>>31 (all mod 2^64).

The loader (:mod:`neural.data.criteo`) and the synthetic generator
(:mod:`neural.data.criteo_synthetic`) share these functions.
"""

from __future__ import annotations

import numbers

import numpy as np

from nonconvex_reg.validation import check_int

__all__ = [
    "DEFAULT_BUCKETS",
    "N_CATEGORICAL",
    "N_FIELDS",
    "N_INTEGER",
    "check_buckets",
    "hash_categorical",
    "splitmix64",
    "transform_dense",
]

#: Numeric (integer) features of a Criteo line: ``I1..I13``.
N_INTEGER = 13
#: Categorical (hashed) features of a Criteo line: ``C1..C26``.
N_CATEGORICAL = 26
N_FIELDS = 1 + N_INTEGER + N_CATEGORICAL
#: Buckets per categorical column when none are given (the paper does not say).
DEFAULT_BUCKETS = 2**18
_MAX_BUCKETS = 2**31 - 1  # bucket ids are stored as int32

_U = np.uint64
_GAMMA = _U(0x9E3779B97F4A7C15)
_MIX1 = _U(0xBF58476D1CE4E5B9)
_MIX2 = _U(0x94D049BB133111EB)
_S30, _S27, _S31 = _U(30), _U(27), _U(31)


# ----------------------------------------------------------------- the transforms
def _splitmix64_inplace(z):
    """Apply the splitmix64 finalizer to a uint64 array in place (wraps mod 2^64)."""
    z += _GAMMA
    z ^= z >> _S30
    z *= _MIX1
    z ^= z >> _S27
    z *= _MIX2
    z ^= z >> _S31
    return z


def splitmix64(values):
    """The splitmix64 mixing function, elementwise on unsigned 64-bit integers.

    Parameters
    ----------
    values : array-like of int
        Values in ``[0, 2^64)``.

    Returns
    -------
    ndarray of uint64
        Same shape as ``values``.

    Examples
    --------
    >>> int(splitmix64(0))
    16294208416658607535
    """
    return _splitmix64_inplace(np.array(values, dtype=np.uint64))


def _column_salts(hash_seed):
    """s_j = splitmix64(hash_seed + j) for the 26 categorical columns."""
    return splitmix64(_U(hash_seed) + np.arange(N_CATEGORICAL, dtype=np.uint64))


def check_buckets(buckets) -> tuple[int, ...]:
    """Return the 26 per-column bucket counts; an int applies to every column.

    Raises
    ------
    TypeError
        If ``buckets`` is neither an integer nor a sequence of integers.
    ValueError
        If a count lies outside ``[2, 2^31 - 1]`` or the sequence is not 26 long.
    """
    if isinstance(buckets, numbers.Integral) and not isinstance(buckets, bool):
        buckets = [buckets] * N_CATEGORICAL
    elif isinstance(buckets, str) or not hasattr(buckets, "__len__"):
        raise TypeError(
            "`buckets` must be an integer or a sequence of 26 integers; "
            f"got {buckets!r}."
        )
    if len(buckets) != N_CATEGORICAL:
        raise ValueError(
            f"`buckets` must list {N_CATEGORICAL} counts (one per categorical "
            f"column); got {len(buckets)}."
        )
    return tuple(check_int(b, "buckets", low=2, high=_MAX_BUCKETS) for b in buckets)


def transform_dense(values):
    """Numeric features: ``x ↦ sign(x)·log1p(|x|)`` as float32 (missing must be 0).

    Parameters
    ----------
    values : array-like of int
        Raw integer features, any shape; put 0 where a value is missing.

    Returns
    -------
    ndarray of float32
        Same shape; computed in float64, then rounded.

    Examples
    --------
    >>> transform_dense([-3, 0, 9]).tolist()
    [-1.3862943649291992, 0.0, 2.3025851249694824]
    """
    x = np.asarray(values, dtype=np.float64)  # float first: |int64 min| overflows
    return np.copysign(np.log1p(np.abs(x)), x).astype(np.float32)


def _bucketize_inplace(z, salts, moduli, missing):
    """Hash uint64 values ``z`` of shape (26, n) into buckets, in place."""
    z ^= salts[:, None]
    _splitmix64_inplace(z)
    z %= moduli[:, None]
    z += _U(1)
    z[missing] = 0
    return z


def hash_categorical(values, buckets=DEFAULT_BUCKETS, *, missing=None, hash_seed=0):
    """Categorical features: integer value ↦ bucket id, column by column.

    Bucket 1 + splitmix64(v ⊕ s_j) mod (buckets[j] − 1) for a present value v of
    column j, 0 for a missing one (module docstring).

    Parameters
    ----------
    values : array-like of int of shape (n_samples, 26)
        The hex fields read as integers (``int(h, 16)``), in ``[0, 2^64)``.
    buckets : int or sequence of 26 int, default=2**18
    missing : array-like of bool of shape (n_samples, 26), optional
        Where a field is missing; those entries map to bucket 0.
    hash_seed : int, default=0

    Returns
    -------
    ndarray of int32 of shape (n_samples, 26)

    Examples
    --------
    >>> ids = hash_categorical([[0x68FD1E64] * 26], buckets=100)
    >>> ids.shape, bool(((ids >= 1) & (ids < 100)).all())
    ((1, 26), True)
    """
    moduli = np.asarray(check_buckets(buckets), dtype=np.uint64) - _U(1)
    hash_seed = check_int(hash_seed, "hash_seed", low=0, high=2**63 - 1)
    z = np.array(values, dtype=np.uint64).T.copy()
    if z.ndim != 2 or z.shape[0] != N_CATEGORICAL:
        raise ValueError(
            f"`values` must have shape (n_samples, {N_CATEGORICAL}); "
            f"got {np.shape(values)}."
        )
    mask = np.zeros(z.shape, bool) if missing is None else np.asarray(missing, bool).T
    if mask.shape != z.shape:
        raise ValueError(
            f"`missing` must have the shape of `values`, {z.T.shape}; "
            f"got {mask.T.shape}."
        )
    return _bucketize_inplace(z, _column_salts(hash_seed), moduli, mask).T.astype(
        np.int32
    )
