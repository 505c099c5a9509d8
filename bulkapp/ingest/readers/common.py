"""What every reader shares: the chunk it yields, limits, and header-row detection."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy
import pandas

from ..errors import EMPTY_FILE, ImportFailed
from ..normalise import replace_unstorable

HeaderScore = Callable[[list[str]], int]

HEADER_SCAN_ROWS = 10  # the header row is looked for among this many rows
MAX_COLUMNS = 500  # more columns than this is not a file of ours
MAX_LINE_BYTES = 1024 * 1024  # a longer line or cell is refused


@dataclass
class Chunk:
    """A slice of a file's data records, as raw text.

    Attributes:
        frame: columns 0..len(headers)-1, dtype object; each value a str or None (empty).
        first_row: the spreadsheet row number of the frame's first row (header on row 1 →
            first data row is 2).
        rows_before: data records before this chunk.
    """

    frame: pandas.DataFrame
    first_row: int
    rows_before: int


class Reader(Protocol):
    """A file opened for import: its header cells and its data records in chunks."""

    headers: list[str]

    def chunks(self, chunk_rows: int, skip_rows: int = 0) -> Iterator[Chunk]:
        """Yield the data records in chunks of ``chunk_rows``, skipping ``skip_rows`` first."""
        ...

    def progress(self) -> float:
        """The fraction (0.0–1.0) of the input consumed so far."""
        ...


def find_header_row(rows: Sequence[Sequence[str]], header_score: HeaderScore | None) -> int:
    """The index of the header among ``rows`` (a file's first rows, as stripped text).

    The best-scoring row wins (ties: the first). Without a scorer, or when nothing scores,
    the first row with the most non-empty cells. Blank rows never win.
    """
    if not any(any(row) for row in rows):
        raise ImportFailed("The file has no header row: its first rows are empty.", EMPTY_FILE)
    if header_score is not None:
        scores = [header_score(list(row)) if any(row) else 0 for row in rows]
        if max(scores) > 0:
            return scores.index(max(scores))
    filled = [sum(1 for cell in row if cell) for row in rows]
    return filled.index(max(filled))


def storable_headers(cells: Iterable[str]) -> list[str]:
    """Header cells with every character that cannot be stored replaced: headers end up in
    the error report, in warnings and in messages."""
    return [replace_unstorable(cell) for cell in cells]


def check_column_count(count: int) -> None:
    """Refuse a header wider than ``MAX_COLUMNS``."""
    if count > MAX_COLUMNS:
        raise ImportFailed(
            f"The header row has {count:,} columns; at most {MAX_COLUMNS} are supported. "
            "Check that this is the right file and that it has one header row."
        )


def chunks_from_frames(
    frames: Iterable[pandas.DataFrame], first_row: int, skip_rows: int
) -> Iterator[Chunk]:
    """Turn parsed frames (every row of a file from ``first_row`` on) into chunks.

    Empty cells become None; each chunk's frame is indexed from 0. Blank rows are dropped; a
    chunk ends at them, so every row's number stays the one the user sees. The first
    ``skip_rows`` data records are skipped.

    Raises:
        ImportFailed: the file has no data records at all.
    """
    row_number, records = first_row, 0
    for frame in frames:
        blank = _none_for_missing(frame)
        for start, stop in _runs_of_data(blank):
            size = stop - start
            skip = min(max(skip_rows - records, 0), size)
            if skip < size:
                piece = frame.iloc[start + skip : stop].reset_index(drop=True)
                yield Chunk(piece, row_number + start + skip, records + skip)
            records += size
        row_number += len(frame)
    if not records:
        raise ImportFailed(
            "The file has a header row but no data rows below it. Add the "
            "records under the header and upload it again.",
            EMPTY_FILE,
        )


def _none_for_missing(frame: pandas.DataFrame) -> numpy.ndarray:
    """Replace NaN markers of empty cells by None in place (columns stay dtype object);
    returns a mask of the rows where every cell is empty."""
    blank = numpy.ones(len(frame), dtype=bool)
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position].to_numpy()
        missing = values != values  # NaN is the only value not equal to itself
        blank &= missing
        if missing.any():
            values = values.copy()
            values[missing] = None
            frame.isetitem(position, pandas.Series(values, index=frame.index, dtype=object))
    return blank


def _runs_of_data(blank: numpy.ndarray) -> list[tuple[int, int]]:
    """The [start, stop) ranges of consecutive non-blank rows."""
    if not blank.any():
        return [(0, len(blank))]
    edges = numpy.flatnonzero(numpy.diff(numpy.concatenate(([True], blank, [True])).astype(int)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
