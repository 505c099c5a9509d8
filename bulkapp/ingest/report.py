"""The error report: a CSV of rejected rows, written incrementally and safe to open in Excel.

It is UTF-8 text: a character that UTF-8 or a spreadsheet cannot take (NUL, half of a surrogate
pair) is written as U+FFFD, so writing the report never fails on what a user uploaded.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from .normalise import replace_unstorable
from .validate import RowError

# OWASP CSV injection: a spreadsheet treats cells starting with these as formulas.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> str:
    """``value`` as text that a spreadsheet shows as text, never runs as a formula, and that
    UTF-8 can encode."""
    text = "" if value is None else replace_unstorable(str(value))
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def report_path(report_dir: str | os.PathLike, job_id: str) -> Path:
    """Where the error report of job ``job_id`` lives."""
    return Path(report_dir) / f"{job_id}.csv"


class ErrorReport:
    """Append rejected rows to ``path``; resumable at a recorded byte length.

    Columns: ``row``, the file's own columns, ``errors``.
    """

    def __init__(self, path: Path, headers: Sequence[str | None], resume_at: int = 0) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > resume_at:
            os.truncate(path, resume_at)
        self._file = open(path, "a", newline="", encoding="utf-8-sig")
        self._writer = csv.writer(self._file)
        if self._file.tell() == 0:
            self._writer.writerow(["row", *map(escape_cell, headers), "errors"])

    def add(
        self,
        frame: pd.DataFrame,
        first_row: int,
        positions: Iterable[int],
        errors: Iterable[RowError],
    ) -> None:
        """Write the rejected rows at ``positions`` with their messages.

        ``frame`` holds at least those rows, labelled by their position in the chunk.
        """
        messages: dict[int, list[str]] = {}
        for error in errors:
            messages.setdefault(error.position, []).append(error.message)
        positions = list(positions)
        if not positions:
            return
        rejected = frame.loc[positions].astype(object)
        rejected = rejected.where(rejected.notna(), None)
        for position, cells in zip(
            positions, rejected.itertuples(index=False, name=None), strict=True
        ):
            self._writer.writerow(
                [
                    first_row + position,
                    *map(escape_cell, cells),
                    escape_cell(" ".join(messages.get(position, []))),
                ]
            )

    def flush(self) -> int:
        """Flush to the file; returns its length in bytes (store it in the checkpoint)."""
        self._file.flush()
        return os.fstat(self._file.fileno()).st_size

    def close(self) -> int:
        """Flush and close; returns the file's length in bytes."""
        size = self.flush()
        self._file.close()
        return size
