"""Argument types shared by the ``sapp`` verbs: parse, or fail with the range.

Each raises :class:`argparse.ArgumentTypeError`, which argparse turns into a
usage error (exit status 2) naming the option.
"""

from __future__ import annotations

import argparse

__all__ = ["non_negative_int", "positive_int", "sparsity"]


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer >= 0; got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {value}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be an integer >= 1; got 0")
    return value


def sparsity(text: str) -> float:
    """A fraction in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number in [0, 1); got {text!r}"
        ) from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1); got {value}")
    return value
