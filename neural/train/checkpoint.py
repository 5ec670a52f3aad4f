"""Atomic, integrity-checked training checkpoints and the run folder's rotation.

A checkpoint is two files written in this order, each atomically (temporary
file, ``fsync``, rename: :func:`neural.atomic.atomic_file`):

1. ``ckpt-00001000.pt``: ``torch.save`` of a dict holding tensors and plain
   containers only (``format_version`` plus the caller's entries), so it loads
   with ``torch.load(weights_only=True)``;
2. ``ckpt-00001000.pt.sha256``: the SHA-256 of the first file, in
   ``sha256sum`` format (``sha256sum -c`` checks it by hand).

Then ``latest`` (a one-line text file naming the newest checkpoint) is replaced
atomically, and checkpoints beyond the ``keep`` newest are deleted. A process
killed at any point therefore leaves either a complete, verified checkpoint or
files that :func:`load_checkpoint` refuses: a leftover temporary file (removed
by :meth:`CheckpointManager.remove_temporaries`), a payload without its
``.sha256`` record, or a payload whose digest does not match (truncated or
corrupted later). Loading checks the digest before unpickling, then
``torch.load(weights_only=True)``, then the format version; each refusal raises
:class:`CheckpointError` naming the file.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

import torch

from nonconvex_reg.validation import check_int

from ..atomic import atomic_file

__all__ = [
    "FORMAT_VERSION",
    "MODEL_NAME",
    "CheckpointError",
    "CheckpointManager",
    "CheckpointWarning",
    "checkpoint_name",
    "load_checkpoint",
    "save_checkpoint",
    "verify_checkpoint",
]

FORMAT_VERSION = 1
"""Version of the checkpoint layout; a checkpoint of another version is refused."""

_NAME = re.compile(r"ckpt-(\d{8,})\.pt")
_LATEST = "latest"
MODEL_NAME = "model.pt"
"""File name of the finished (finalized) model in a run folder."""
_SIDECAR = ".sha256"
_CHUNK = 1 << 20


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, incomplete, corrupt or of another format."""


class CheckpointWarning(UserWarning):
    """A checkpoint was skipped while looking for the newest valid one."""


def checkpoint_name(step: int) -> str:
    """File name of the checkpoint taken after ``step`` steps.

    Examples
    --------
    >>> checkpoint_name(1000)
    'ckpt-00001000.pt'
    """
    return f"ckpt-{check_int(step, 'step', low=0):08d}.pt"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _step_of(path: Path) -> int:
    return int(_NAME.fullmatch(path.name).group(1))


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + _SIDECAR)


def _write_payload(state: dict, path: Path) -> None:
    # One function, so tests can stop a process in the middle of a write.
    torch.save(state, path)


def save_checkpoint(path, state: dict) -> str:
    """Write ``state`` to ``path`` atomically, then its SHA-256 record.

    Parameters
    ----------
    path : str or os.PathLike
        Destination (``.pt``); the record goes to ``path + ".sha256"``.
    state : dict
        Tensors and plain containers (dict, list, tuple, str, int, float, bool,
        None) only; ``"format_version"`` is added.

    Returns
    -------
    str
        The hexadecimal SHA-256 of the written file.

    Raises
    ------
    TypeError
        If ``state`` is not a dict or uses the reserved key ``format_version``.
    """
    if not isinstance(state, dict) or "format_version" in state:
        raise TypeError(
            "`state` must be a dict without the reserved key 'format_version'; "
            f"got {type(state).__name__}."
        )
    path = Path(path)
    with atomic_file(path) as tmp:
        _write_payload({"format_version": FORMAT_VERSION, **state}, tmp)
        digest = _sha256(tmp)
    with atomic_file(_sidecar(path)) as tmp:
        tmp.write_text(f"{digest}  {path.name}\n")
    return digest


def verify_checkpoint(path) -> None:
    """Check that ``path`` matches its ``.sha256`` record; raise otherwise.

    Raises
    ------
    CheckpointError
        If the file or its record is missing or unreadable, or the digests differ.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist.")
    record = _sidecar(path)
    if not record.is_file():
        raise CheckpointError(
            f"checkpoint {str(path)!r} has no integrity record {record.name!r}: "
            "its writer stopped before finishing, or it was not written by "
            "neural.train; refusing it."
        )
    fields = record.read_text().split()
    expected = fields[0] if fields else ""
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise CheckpointError(
            f"checkpoint {str(path)!r}: integrity record {record.name!r} is "
            "malformed; refusing the checkpoint."
        )
    actual = _sha256(path)
    if actual != expected:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is corrupt or truncated: its SHA-256 is "
            f"{actual}, its record {record.name!r} says {expected}; refusing it."
        )


def load_checkpoint(path, *, map_location="cpu", verify: bool = True) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`.

    The digest is checked first (``verify``), then the file is read with
    ``torch.load(weights_only=True)`` (tensors and plain containers only: nothing
    in it can run code), then its ``format_version``.

    Parameters
    ----------
    path : str or os.PathLike
    map_location : str or torch.device, default="cpu"
        Where tensors are put (``torch.load``'s argument).
    verify : bool, default=True
        Check the SHA-256 record before unpickling.

    Returns
    -------
    dict
        The saved ``state`` with ``format_version``.

    Raises
    ------
    CheckpointError
        Naming the file, if it is incomplete, corrupt, holds objects that
        ``weights_only`` loading refuses, or has another format version.
    """
    path = Path(path)
    if verify:
        verify_checkpoint(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # zip, pickle and weights_only errors alike
        raise CheckpointError(
            f"checkpoint {str(path)!r} could not be loaded with "
            f"torch.load(weights_only=True): {error}"
        ) from error
    version = state.get("format_version") if isinstance(state, dict) else None
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format_version {version!r}; this "
            f"version of neural.train reads {FORMAT_VERSION}."
        )
    return state


class CheckpointManager:
    """The checkpoints of one run folder: save, rotate, find the newest valid one.

    Parameters
    ----------
    run_dir : str or os.PathLike
        The run's folder (created on the first save).
    keep : int, default=3
        Newest checkpoints kept, ``>= 1``; older ones are deleted after a save.

    Examples
    --------
    >>> import tempfile, torch
    >>> manager = CheckpointManager(tempfile.mkdtemp(), keep=2)
    >>> for step in (10, 20, 30):
    ...     _ = manager.save(step, {"weight": torch.ones(2) * step})
    >>> [p.name for p in manager.checkpoints()]
    ['ckpt-00000020.pt', 'ckpt-00000030.pt']
    >>> path, state = manager.load_latest()
    >>> path.name, state["weight"].tolist()
    ('ckpt-00000030.pt', [30.0, 30.0])
    """

    def __init__(self, run_dir, keep: int = 3):
        self.run_dir = Path(run_dir)
        self.keep = check_int(keep, "keep", low=1)

    def checkpoints(self) -> list[Path]:
        """Checkpoint payloads in the folder (valid or not), oldest first."""
        if not self.run_dir.is_dir():
            return []
        found = [p for p in self.run_dir.iterdir() if _NAME.fullmatch(p.name)]
        return sorted(found, key=_step_of)

    def save(self, step: int, state: dict) -> Path:
        """Write ``ckpt-<step>.pt`` and its record, point ``latest`` at it, rotate.

        Returns
        -------
        pathlib.Path
            The checkpoint's path.
        """
        path = self.run_dir / checkpoint_name(step)
        save_checkpoint(path, state)
        with atomic_file(self.run_dir / _LATEST) as tmp:
            tmp.write_text(path.name + "\n")
        # Rotate among steps up to this one; a newer file can only be a stale
        # leftover of a killed run, which this run overwrites when it gets there.
        earlier = [p for p in self.checkpoints() if _step_of(p) <= step]
        for old in earlier[: -self.keep]:
            old.unlink(missing_ok=True)
            _sidecar(old).unlink(missing_ok=True)
        return path

    def save_model(self, state_dict: dict) -> Path:
        """Write a finished model's ``state_dict`` to ``model.pt`` (+ its record).

        Load it with ``load_checkpoint(path)["model"]``.
        """
        path = self.run_dir / MODEL_NAME
        save_checkpoint(path, {"model": state_dict})
        return path

    def load_latest(self, *, map_location="cpu") -> tuple[Path, dict] | None:
        """The newest checkpoint that passes :func:`load_checkpoint`, loaded.

        Candidates are tried from the newest step down (``latest`` names the last
        one written, for tools; a crash between a checkpoint and the pointer can
        leave it one behind); each refused one is reported by a
        :class:`CheckpointWarning` naming it.

        Returns
        -------
        (pathlib.Path, dict) or None
            ``None`` when the folder holds no valid checkpoint.
        """
        for path in reversed(self.checkpoints()):
            try:
                return path, load_checkpoint(path, map_location=map_location)
            except CheckpointError as error:
                warnings.warn(str(error), CheckpointWarning, stacklevel=2)
        return None

    def remove_temporaries(self) -> list[Path]:
        """Delete temporary files left by writers killed mid-write; return them.

        Only this module's names (``.ckpt-*``, ``.latest.*``, ``.model.pt*``
        ending in ``.tmp``) are touched. Call it when no writer is running.
        """
        if not self.run_dir.is_dir():
            return []
        removed = []
        for path in self.run_dir.iterdir():
            name = path.name
            ours = name.startswith((".ckpt-", ".latest.", ".model.pt"))
            if ours and name.endswith(".tmp") and path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed
