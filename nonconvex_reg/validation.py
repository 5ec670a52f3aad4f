"""Input validation shared by the whole toolkit (public: `omp` and `neural` use it).

Every check raises ``ValueError`` (bad value) or ``TypeError`` (bad type) with a
message of the form "`name` must be <accepted range>; got <value>." so that a user
sees which argument was wrong and what would have been accepted. Nothing here clips,
pads or coerces: a value is either accepted as it is or rejected.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_array",
    "check_choice",
    "check_int",
    "check_scalar",
    "check_subset",
]


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_scalar(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a float after checking it is a finite real in a range.

    Parameters
    ----------
    value : object
        The candidate value.
    name : str
        Argument name used in the error message.
    low, high : float or None, default=None
        Bounds of the accepted interval; ``None`` means unbounded.
    low_inclusive, high_inclusive : bool, default=True
        Whether each bound belongs to the interval.

    Returns
    -------
    float
        The validated value.

    Raises
    ------
    TypeError
        If ``value`` is not a real number (booleans are rejected).
    ValueError
        If ``value`` is not finite or lies outside the interval.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number; got {_short(value)}.")
    value = float(value)
    left = "[" if low_inclusive and low is not None else "("
    right = "]" if high_inclusive and high is not None else ")"
    interval = (
        f"{left}{'-inf' if low is None else f'{low:g}'}, "
        f"{'inf' if high is None else f'{high:g}'}{right}"
    )
    if not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite, in {interval}; got {value!r}.")
    too_low = low is not None and (value < low or (value == low and not low_inclusive))
    too_high = high is not None and (
        value > high or (value == high and not high_inclusive)
    )
    if too_low or too_high:
        raise ValueError(f"`{name}` must be in {interval}; got {value!r}.")
    return value


def check_int(value, name: str, *, low: int | None = None, high: int | None = None):
    """Return ``value`` as an int after checking it is an integer in ``[low, high]``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (booleans and floats are rejected).
    ValueError
        If ``value`` lies outside ``[low, high]``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer; got {_short(value)}.")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        interval = (
            f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        )
        raise ValueError(f"`{name}` must be an integer in {interval}; got {value}.")
    return value


def check_array(
    value,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: tuple[int | None, ...] | None = None,
    nonnegative: bool = False,
) -> np.ndarray:
    """Return ``value`` as a float64 array after checking it is finite and well shaped.

    Integer and boolean arrays are converted to float64, since that loses nothing;
    complex or object arrays are rejected rather than coerced.

    Parameters
    ----------
    value : array-like
        The candidate array.
    name : str
        Argument name used in the error message.
    ndim : int or tuple of int, optional
        Accepted number(s) of dimensions.
    shape : tuple of (int or None), optional
        Required shape; ``None`` entries accept any size on that axis.
    nonnegative : bool, default=False
        Whether every entry must be ``>= 0``.

    Raises
    ------
    TypeError
        If the array is not real-valued.
    ValueError
        On NaN/inf entries, a wrong number of dimensions or shape, or negative
        entries where ``nonnegative`` is set.
    """
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"`{name}` must be a real-valued array; got dtype {array.dtype}."
        )
    array = array.astype(np.float64, copy=False)
    if ndim is not None:
        accepted = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if array.ndim not in accepted:
            raise ValueError(
                f"`{name}` must have ndim in {accepted}; got shape {array.shape}."
            )
    if shape is not None:
        ok = len(shape) == array.ndim and all(
            want is None or want == got
            for want, got in zip(shape, array.shape, strict=True)
        )
        if not ok:
            wanted = tuple("any" if s is None else s for s in shape)
            raise ValueError(f"`{name}` must have shape {wanted}; got {array.shape}.")
    # Array methods rather than np.all/np.any: these checks run in solvers'
    # inner loops (every prox), where the function wrappers' overhead shows.
    if not np.isfinite(array).all():
        raise ValueError(f"`{name}` must contain only finite values; found NaN or inf.")
    if nonnegative and (array < 0).any():
        raise ValueError(
            f"`{name}` must be nonnegative; smallest entry is {array.min()!r}."
        )
    return array


def check_choice(value, name: str, choices) -> str:
    """Return ``value`` if it is one of ``choices``; otherwise list the valid ones.

    Raises
    ------
    ValueError
        If ``value`` is not among ``choices``.
    """
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}; got {_short(value)}.")
    return value


def check_subset(values, name: str, choices) -> tuple:
    """Return ``values`` as a tuple if it is a non-empty subset of ``choices``.

    Raises
    ------
    ValueError
        If ``values`` is empty or holds anything not among ``choices``.
    """
    values, choices = tuple(values), list(choices)
    if not values or any(v not in choices for v in values):
        raise ValueError(
            f"`{name}` must be a non-empty subset of {choices}; got {list(values)}."
        )
    return values
