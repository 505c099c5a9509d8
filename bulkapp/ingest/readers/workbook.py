"""The XLSX reader: guarded, then read with python-calamine; cells become text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import numpy
import pandas
from python_calamine import (
    CalamineError,
    CalamineSheet,
    CalamineWorkbook,
    SheetTypeEnum,
    SheetVisibleEnum,
)

from ..errors import EMPTY_FILE, ImportFailed
from .common import (
    HEADER_SCAN_ROWS,
    Chunk,
    HeaderScore,
    check_column_count,
    chunks_from_frames,
    find_header_row,
    storable_headers,
)
from .guards import check_xlsx, not_a_workbook

_EMPTY = float("nan")  # how frames mark an empty cell until chunks_from_frames makes it None


def cell_text(value: Any) -> str | None:
    """A calamine cell as the text a user expects; None for an empty cell.

    Dates become ``YYYY-MM-DD`` (with a time: ``YYYY-MM-DDTHH:MM:SS``), integral numbers keep
    their digits (no ``.0``, no exponent), other numbers their shortest text, booleans
    ``true``/``false``.
    """
    if type(value) is str:
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not value.is_integer():
            return repr(value)
        # Past 1e16 int() would show binary noise; the shortest repr's digits are the real ones.
        return str(int(value)) if abs(value) < 1e16 else str(int(Decimal(repr(value))))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if value is None:
        return None
    return str(value)


def _text_column(values: numpy.ndarray) -> numpy.ndarray:
    """The cells of one column as text (NaN for empty), converted in place where possible.

    Columns of text only, or of numbers and empty cells, are converted without a Python
    call per cell; anything else goes through ``cell_text``.
    """
    kinds = set(map(type, values))
    empty = values == "" if str in kinds else numpy.zeros(len(values), dtype=bool)
    if kinds == {str}:
        values[empty] = _EMPTY
    elif kinds <= {str, float} and set(map(type, values[~empty])) == {float}:
        values[~empty] = _numbers_text(values[~empty].astype(float))
        values[empty] = _EMPTY
    else:
        values = numpy.array([cell_text(value) or _EMPTY for value in values], dtype=object)
    return values


def _numbers_text(numbers: numpy.ndarray) -> numpy.ndarray:
    """``cell_text`` of every float in ``numbers``, vectorised for integral ones."""
    text = numpy.empty(len(numbers), dtype=object)
    integral = (numbers == numpy.trunc(numbers)) & (numpy.abs(numbers) < 1e16)
    text[integral] = numbers[integral].astype(numpy.int64).astype(str)
    text[~integral] = [cell_text(number) for number in numbers[~integral].tolist()]
    return text


def _is_blank(row: list[Any]) -> bool:
    return all(value == "" or value is None for value in row)


class XlsxReader:
    """Reads one sheet of an .xlsx workbook in chunks; see ``bulkapp.ingest.readers.Reader``."""

    def __init__(
        self,
        path: Path,
        filename: str,
        header_score: HeaderScore | None = None,
        sheet: str | None = None,
    ) -> None:
        check_xlsx(path, filename)
        try:
            self._workbook = CalamineWorkbook.from_path(str(path))
            self._sheet = self._pick_sheet(filename, sheet)
            head = list(self._head_rows())
        except CalamineError as exc:
            raise not_a_workbook(filename) from exc
        texts = [[(cell_text(value) or "").strip() for value in row] for row in head]
        if not any(any(row) for row in texts):
            raise ImportFailed(f"Sheet {self._sheet.name!r} of {filename} is empty.", EMPTY_FILE)
        header_index = find_header_row(texts, header_score)
        headers = texts[header_index]
        while headers and not headers[-1]:
            headers.pop()
        check_column_count(len(headers))
        self.headers = storable_headers(headers)
        self.sheet_name = self._sheet.name
        self._header_index = header_index
        self._total_rows = self._sheet.end[0] + 1 if self._sheet.end else 1
        self._rows_read = 0

    def _pick_sheet(self, filename: str, wanted: str | None) -> CalamineSheet:
        """The sheet called ``wanted``, else the first visible worksheet holding data."""
        names = self._workbook.sheet_names
        if wanted is not None:
            if wanted not in names:
                raise ImportFailed(
                    f"{filename} has no sheet called {wanted!r}. Its sheets are: "
                    f"{', '.join(names)}."
                )
            return self._workbook.get_sheet_by_name(wanted)
        for meta in self._workbook.sheets_metadata:
            if meta.visible != SheetVisibleEnum.Visible or meta.typ != SheetTypeEnum.WorkSheet:
                continue
            sheet = self._workbook.get_sheet_by_name(meta.name)
            if sheet.start is not None and any(
                not _is_blank(row)
                for row in islice(sheet.iter_rows(), sheet.start[0], sheet.start[0] + 1000)
            ):
                return sheet
        raise ImportFailed(
            f"{filename} is empty: none of its visible sheets contains any data.", EMPTY_FILE
        )

    def _head_rows(self) -> Iterator[list[Any]]:
        """The sheet's rows up to the ``HEADER_SCAN_ROWS``-th non-blank one."""
        seen = 0
        for row in self._sheet.iter_rows():
            yield row
            seen += not _is_blank(row)
            if seen == HEADER_SCAN_ROWS:
                return

    def chunks(self, chunk_rows: int, skip_rows: int = 0) -> Iterator[Chunk]:
        """Yield the data records in chunks of ``chunk_rows``, after ``skip_rows`` records."""
        rows = self._sheet.iter_rows()
        for _ in islice(rows, self._header_index + 1):
            pass
        self._rows_read = self._header_index + 1
        yield from chunks_from_frames(
            self._frames(rows, chunk_rows), self._header_index + 2, skip_rows
        )
        self._rows_read = self._total_rows

    def _frames(self, rows: Iterator[list[Any]], chunk_rows: int) -> Iterator[pandas.DataFrame]:
        width = len(self.headers)
        while batch := list(islice(rows, chunk_rows)):
            self._rows_read += len(batch)
            # calamine's rows all have the sheet's width, so this is a rows × columns grid.
            grid = numpy.array(batch, dtype=object)[:, :width]
            for position in range(width):
                grid[:, position] = _text_column(grid[:, position])
            yield pandas.DataFrame(grid, dtype=object)

    def progress(self) -> float:
        """The fraction of the sheet's rows read so far."""
        return min(self._rows_read / self._total_rows, 1.0)
