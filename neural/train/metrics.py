"""Training metrics on disk: ``metrics.jsonl``, ``metrics.csv``, optional TensorBoard.

Every record is one dict with at least ``step`` and ``split`` (``"train"`` for a
logging interval, ``"eval"`` for a periodic evaluation, ``"final"`` for the
evaluation of the finalized model). It is appended as one JSON line to
``metrics.jsonl`` (every key) and as one row to ``metrics.csv`` (the columns of
:data:`CSV_COLUMNS`, empty where the record has no value). Lines are appended
and flushed one at a time; whole-file rewrites (:meth:`MetricsWriter.truncate`,
used when a run resumes from a checkpoint taken before its last records) are
atomic. Only rank 0 writes.

Tables a run produces once, at its end, go to sibling CSV files
(:meth:`MetricsWriter.write_table`): the pruner's support history is
``support.csv`` (:data:`SUPPORT_NAME`), one row per pruned layer per entry into
a sparse phase (:class:`~neural.pruning.SupportRecord`).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from ..atomic import atomic_file

__all__ = ["CSV_COLUMNS", "SUPPORT_NAME", "MetricsWriter", "read_metrics"]

CSV_COLUMNS = (
    "step",
    "epoch",
    "split",
    "loss",
    "accuracy",
    "auc",
    "lr",
    "phase",
    "samples_per_s",
    "elapsed_s",
)
"""Columns of ``metrics.csv``, in order."""

JSONL_NAME, CSV_NAME = "metrics.jsonl", "metrics.csv"
SUPPORT_NAME = "support.csv"
"""File of the pruner's support history in a run folder."""


def _check_record(record) -> dict:
    if not isinstance(record, dict) or "step" not in record or "split" not in record:
        raise ValueError(
            f"`record` must be a dict with at least 'step' and 'split'; got {record!r}."
        )
    for key, value in record.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"`record[{key!r}]` must be finite; got {value!r}.")
    return record


def read_metrics(run_dir) -> list[dict]:
    """The records of ``run_dir/metrics.jsonl``; a torn last line is skipped.

    Parameters
    ----------
    run_dir : str or os.PathLike

    Returns
    -------
    list of dict
    """
    path = Path(run_dir) / JSONL_NAME
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by a killed writer
    return records


class MetricsWriter:
    """Append metric records to JSONL and CSV files (and TensorBoard).

    Parameters
    ----------
    run_dir : str or os.PathLike or None
        Folder of the files; ``None`` writes nothing.
    enabled : bool, default=True
        ``False`` on every rank but 0: all methods do nothing.
    tensorboard : {"auto", True, False}, default="auto"
        Also write TensorBoard scalars (``split/key``) to ``run_dir/tensorboard``:
        ``"auto"`` when ``torch.utils.tensorboard`` imports, ``True`` requires it.

    Raises
    ------
    ImportError
        With ``tensorboard=True`` when TensorBoard is not installed.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with MetricsWriter(folder, tensorboard=False) as writer:
    ...     writer.write({"step": 10, "split": "train", "loss": 0.5})
    ...     writer.write({"step": 20, "split": "train", "loss": 0.25})
    ...     writer.truncate(10)
    >>> read_metrics(folder)
    [{'step': 10, 'split': 'train', 'loss': 0.5}]
    """

    def __init__(self, run_dir, *, enabled: bool = True, tensorboard="auto"):
        if tensorboard not in ("auto", True, False):
            raise ValueError(
                "`tensorboard` must be one of ('auto', True, False); "
                f"got {tensorboard!r}."
            )
        self.enabled = bool(enabled) and run_dir is not None
        self.run_dir = None if run_dir is None else Path(run_dir)
        self._tensorboard = None
        if self.enabled and tensorboard is not False:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as error:
                if tensorboard is True:
                    raise ImportError(
                        "`tensorboard=True` needs the tensorboard package "
                        "(pip install tensorboard)."
                    ) from error
            else:
                self._tensorboard = SummaryWriter(str(self.run_dir / "tensorboard"))

    @property
    def jsonl_path(self) -> Path | None:
        """Path of ``metrics.jsonl`` (``None`` without a folder)."""
        return None if self.run_dir is None else self.run_dir / JSONL_NAME

    @property
    def csv_path(self) -> Path | None:
        """Path of ``metrics.csv`` (``None`` without a folder)."""
        return None if self.run_dir is None else self.run_dir / CSV_NAME

    def write(self, record: dict) -> None:
        """Append ``record`` (finite numbers, strings) to every output.

        Raises
        ------
        ValueError
            If ``record`` lacks ``step`` or ``split``, or holds a NaN or infinity.
        """
        if not self.enabled:
            return
        _check_record(record)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.jsonl_path, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        new_csv = not self.csv_path.is_file() or self.csv_path.stat().st_size == 0
        with open(self.csv_path, "a", newline="") as handle:
            writer = csv.writer(handle)
            if new_csv:
                writer.writerow(CSV_COLUMNS)
            writer.writerow([_cell(record.get(column)) for column in CSV_COLUMNS])
        if self._tensorboard is not None:
            for key, value in record.items():
                if isinstance(value, int | float) and key not in ("step", "epoch"):
                    self._tensorboard.add_scalar(
                        f"{record['split']}/{key}", value, record["step"]
                    )

    def truncate(self, step: int) -> None:
        """Keep the records with ``record["step"] <= step`` (atomic rewrite).

        A resumed run calls it with its checkpoint's step: the records its killed
        predecessor wrote after that checkpoint are written again as it retraces
        the steps. Records of split ``"final"`` (written after the last step) and
        a line cut by a killed writer are dropped too.
        """
        if not self.enabled:
            return
        kept = [
            r
            for r in read_metrics(self.run_dir)
            if r.get("step", 0) <= step and r.get("split") != "final"
        ]
        if self.jsonl_path.is_file() or kept:
            with atomic_file(self.jsonl_path) as tmp:
                tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
        if self.csv_path.is_file() or kept:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(CSV_COLUMNS)
            for record in kept:
                writer.writerow([_cell(record.get(column)) for column in CSV_COLUMNS])
            with atomic_file(self.csv_path) as tmp:
                tmp.write_text(buffer.getvalue())

    def write_table(self, name: str, rows) -> Path | None:
        """Write ``rows`` as the CSV file ``run_dir/name``, atomically, replacing it.

        Parameters
        ----------
        name : str
            File name, e.g. :data:`SUPPORT_NAME`.
        rows : sequence of dict
            Dicts with the same keys, which give the columns in order; ``None``
            is written as an empty cell.

        Returns
        -------
        pathlib.Path or None
            The file, or ``None`` when nothing was written (disabled writer, or
            no rows).

        Raises
        ------
        ValueError
            If the rows do not share their keys.
        """
        rows = list(rows)
        if not self.enabled or not rows:
            return None
        columns = list(rows[0])
        for row in rows:
            if list(row) != columns:
                raise ValueError(
                    f"`rows` must share the columns {columns}; got {list(row)}."
                )
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row[column]) for column in columns])
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / name
        with atomic_file(path) as tmp:
            tmp.write_text(buffer.getvalue())
        return path

    def close(self) -> None:
        """Flush and close TensorBoard (the text files are closed after each write)."""
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)
