"""The error report: a CSV of rejected rows, safe to open in Excel, built from the rows as
they are kept (``rejected.Rejection``, stored per job).

Columns: ``row``, the file's own columns, ``errors``. It is UTF-8 text with a byte-order mark
(so Excel reads it as UTF-8): a character that UTF-8 or a spreadsheet cannot take (NUL, half
of a surrogate pair) is written as U+FFFD, so the report never fails on what a user uploaded.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

import pandas as pd

from .normalise import FORMULA_PREFIXES, replace_unstorable

ROW_COLUMN, ERRORS_COLUMN = "row", "errors"

# One rejected row as the report shows it: its row number, its cells, its messages.
ReportLine = tuple[int, Sequence[Any], Sequence[str]]


def report_columns(headers: Sequence[object]) -> frozenset[int]:
    """The positions of an error report's own columns (``row`` first, ``errors`` last) in a
    file with these ``headers``: a report fixed in a spreadsheet uploads as it is, and an
    import reads neither."""
    names = [str(h or "").strip().lower() for h in headers]
    if len(names) > 2 and names[0] == ROW_COLUMN and names[-1] == ERRORS_COLUMN:
        return frozenset({0, len(names) - 1})
    return frozenset()


def reported_rows(frame: pd.DataFrame, rejected: Sequence[int]) -> list[int]:
    """The row numbers an error report's ``row`` column (its first) gives the rows of
    ``frame`` (a chunk of the report, labelled by position) not at the positions
    ``rejected``: the original's rows that the chunk carries. A cell that is not a whole
    number names no row."""
    skip = set(rejected)
    cells = (
        cell for position, cell in enumerate(frame.iloc[:, 0].tolist()) if position not in skip
    )
    return [row for row in map(_row_number, cells) if row is not None]


def _row_number(value: object) -> int | None:
    try:
        number = float(cast(Any, value))
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() and number > 0 else None


def escape_cell(value: object) -> str:
    """``value`` as text that a spreadsheet shows as text, never runs as a formula, and that
    UTF-8 can encode."""
    text = "" if value is None else replace_unstorable(str(value))
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def report_bytes(headers: Sequence[str], lines: Iterable[ReportLine]) -> Iterator[bytes]:
    """The report of ``lines`` (in row order) under the file's ``headers``, as UTF-8 with a
    byte-order mark, in pieces of about a thousand rows."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([ROW_COLUMN, *map(escape_cell, headers), ERRORS_COLUMN])
    yield codecs.BOM_UTF8
    for count, (row, cells, messages) in enumerate(lines, start=1):
        writer.writerow([row, *map(escape_cell, cells), escape_cell(" ".join(messages))])
        if count % 1000 == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode("utf-8")
