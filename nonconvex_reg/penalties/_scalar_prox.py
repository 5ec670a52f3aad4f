"""Certified global minimization of the scalar prox objective (derived here).

For a penalty ``q`` on group norms, a norm ``a >= 0`` and a step ``s > 0``, the prox
of ``base.py`` minimizes

    phi(b) = 1/2 (b - a)^2 + s q(b)    over b in [0, a],

whose slope and curvature are ``g(b) = b - a + s q'(b)`` and
``g'(b) = 1 + s q''(b)``. When q is nonconvex, phi can have two local minima and a
local solver may return the wrong one. This module finds the *global* minimizer
without a grid, for any q whose second derivative is monotone on each piece between
known breakpoints (the certificate, derived here):

1. On a piece where q'' is monotone, g' is monotone, so it has at most one root c;
   splitting the piece at c leaves sub-pieces where g' has one sign.
2. On such a sub-piece g is monotone, so it has at most one root, found by bisection
   when g changes sign across the sub-piece.
3. The global minimizer of phi on ``[0, a]`` is a stationary point or an endpoint,
   and ``b = a`` is never optimal when ``q'(a) > 0``; so it lies among
   ``{0} ∪ {roots of g}``, and the candidate with the smallest phi is returned
   (ties resolve to the smallest b, as ``base.py`` requires).

Every step is vectorized over arrays of ``a`` (and ``step``); the only Python loops
run over pieces and bisection halvings, never over elements. Bisection halves each
bracket at most ``MAX_HALVINGS = 100`` times and stops early once every bracket is
down to a few ulps, so a root ``r`` found in ``[0, a]`` is accurate to
``max(4 eps r, a 2^-100)``: relative ``~1e-16`` whenever ``r >= 1e-14 a``.

The module also holds the argument checks that every ``prox`` shares.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..validation import check_array

__all__ = ["MAX_HALVINGS", "bisect_root", "certified_prox", "check_prox_args"]

MAX_HALVINGS = 100
_CONVERGED_ULPS = 4 * np.finfo(np.float64).eps


def check_prox_args(a, step) -> tuple[np.ndarray, np.ndarray]:
    """Validate the arguments of ``prox(a, step)`` and broadcast them together.

    Parameters
    ----------
    a : float or array-like
        Group norms; every entry must be finite and ``>= 0``.
    step : float or array-like
        Prox step(s); every entry must be finite and ``> 0``. An array must
        broadcast against ``a``.

    Returns
    -------
    a, step : ndarray
        Float64 arrays of the common broadcast shape.

    Raises
    ------
    TypeError
        If ``a`` or ``step`` is not real-valued.
    ValueError
        If an entry of ``a`` is negative or not finite, an entry of ``step`` is not
        finite and positive, or the shapes do not broadcast.
    """
    a = check_array(a, "a", nonnegative=True)
    step = check_array(step, "step")
    if not (step > 0).all():
        got = float(step) if step.ndim == 0 else step.min()
        raise ValueError(f"`step` must be in (0, inf); got {got!r}.")
    if step.shape == a.shape:
        return a, step
    if step.ndim == 0:  # the common case of one step for every norm
        return a, np.full(a.shape, step)
    try:
        a, step = np.broadcast_arrays(a, step)
    except ValueError:
        raise ValueError(
            f"`step` of shape {step.shape} must broadcast against `a` of shape "
            f"{a.shape}."
        ) from None
    return a, step


def bisect_root(
    func: Callable[[np.ndarray], np.ndarray], lo, hi
) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise root of a monotone function on brackets ``[lo, hi]``.

    ``func`` must be monotone (either direction, element by element) on each
    bracket. Where it changes sign across a bracket (or vanishes at an end), the
    bracket is halved until it is a few ulps wide or ``MAX_HALVINGS`` halvings
    are done; elsewhere the bracket collapses to ``lo`` at once.

    Parameters
    ----------
    func : callable
        Vectorized function mapping an array of the brackets' shape to an array of
        the same shape.
    lo, hi : ndarray
        Bracket ends, ``lo <= hi``, of a common shape.

    Returns
    -------
    root : ndarray
        Midpoint of the final bracket (``lo`` where there is no root).
    has_root : ndarray of bool
        Whether ``func`` changes sign (or vanishes) on the bracket.
    """
    lo = np.array(lo, dtype=np.float64)
    hi = np.array(hi, dtype=np.float64)
    f_lo, f_hi = func(lo), func(hi)
    has_root = ((f_lo <= 0) & (f_hi >= 0)) | ((f_lo >= 0) & (f_hi <= 0))
    rising = f_hi >= f_lo
    hi = np.where(has_root, hi, lo)
    for _ in range(MAX_HALVINGS):
        width = hi - lo
        if np.all(width <= _CONVERGED_ULPS * np.maximum(np.abs(lo), np.abs(hi))):
            break
        mid = lo + 0.5 * width
        # The root lies right of mid iff func(mid) is on the same side as func(lo).
        go_right = (func(mid) < 0) == rising
        lo = np.where(go_right, mid, lo)
        hi = np.where(go_right, hi, mid)
    return lo + 0.5 * (hi - lo), has_root


def certified_prox(penalty, a, step, breakpoints: Sequence[float] = ()) -> np.ndarray:
    """Global minimizer of ``1/2 (b - a)^2 + step q(b)`` over ``b >= 0``.

    Valid for an increasing penalty whose second derivative is monotone on each
    piece of ``[0, inf)`` cut at ``breakpoints`` (see the module docstring).

    Parameters
    ----------
    penalty : GroupPenalty
        Supplies ``value``, ``derivative`` and ``second_derivative``.
    a : float or array-like
        Group norms, ``>= 0``.
    step : float or array-like
        Prox step(s), ``> 0``, broadcastable against ``a``.
    breakpoints : sequence of float, default=()
        The norms where ``q''`` changes monotonicity, in any order.

    Returns
    -------
    ndarray
        The prox, of the broadcast shape of ``a`` and ``step``, in ``[0, a]``.

    Raises
    ------
    ValueError
        On invalid ``a`` or ``step`` (see :func:`check_prox_args`).

    Examples
    --------
    >>> from nonconvex_reg.penalties import LogPenalty
    >>> certified_prox(LogPenalty(), [0.5, 2.0], 1.0)
    array([0.        , 1.6180...])
    """
    a, step = check_prox_args(a, step)

    def slope(b):
        return b - a + step * penalty.derivative(b)

    def curvature(b):
        return 1.0 + step * penalty.second_derivative(b)

    def gain(b):
        # phi(b) - phi(0), without the cancellation of (b - a)^2 - a^2.
        return b * (0.5 * b - a) + step * penalty.value(b)

    edges = [np.zeros_like(a)]
    edges += [np.minimum(float(point), a) for point in sorted(breakpoints)]
    edges.append(a)
    best = np.zeros_like(a)
    best_gain = np.zeros_like(a)  # candidate b = 0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        # Split the piece where g' changes sign; without a sign change the second
        # sub-piece [hi, hi] is empty.
        split, has_split = bisect_root(curvature, lo, hi)
        split = np.where(has_split, split, hi)
        for sub_lo, sub_hi in ((lo, split), (split, hi)):
            root, has_root = bisect_root(slope, sub_lo, sub_hi)
            root_gain = np.where(has_root, gain(root), np.inf)
            # Strict < keeps the smaller b on ties: candidates come in increasing b.
            better = root_gain < best_gain
            best = np.where(better, root, best)
            best_gain = np.where(better, root_gain, best_gain)
    return best
