"""File readers: CSV, XLSX and JSON → header cells and chunks of raw text rows.

Every reader raises ``ImportFailed`` with a message for the user when the file cannot be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas

from ..errors import EMPTY_FILE, FILE_GONE, WRONG_TYPE, ImportFailed
from .common import Chunk, HeaderScore, Reader
from .delimited import CsvReader
from .json_array import JsonReader
from .workbook import XlsxReader

__all__ = [
    "Chunk",
    "ImportFailed",
    "Reader",
    "READABLE_EXTENSIONS",
    "open_reader",
    "rereading",
]

READABLE_EXTENSIONS = (".csv", ".xlsx", ".json")


def open_reader(
    path: Path, filename: str, *, header_score: HeaderScore | None = None, sheet: str | None = None
) -> Reader:
    """Pick the reader by the extension of ``filename`` (.csv, .xlsx, .json).

    Args:
        path: where the upload is stored.
        filename: the name the user gave it (used for the extension and in messages).
        header_score: how many cells of a row look like known headers; finds the header row.
        sheet: the XLSX sheet to read (default: the first non-empty one).
    """
    path = Path(path)
    extension = Path(filename).suffix.lower()
    if not path.exists():
        raise ImportFailed("The uploaded file is no longer available. Upload it again.", FILE_GONE)
    if path.stat().st_size == 0:
        raise ImportFailed(f"{filename} is empty: it has no header row and no data.", EMPTY_FILE)
    if extension == ".csv":
        return CsvReader(path, filename, header_score)
    if extension == ".xlsx":
        return XlsxReader(path, filename, header_score, sheet)
    if extension == ".json":
        return JsonReader(path, filename)
    raise ImportFailed(
        f"{filename} is not a supported file type. Upload a {', '.join(READABLE_EXTENSIONS)} file.",
        WRONG_TYPE,
    )


def rereading(
    path: Path, filename: str, header_score: HeaderScore | None, chunk_rows: int
) -> Callable[[], Iterator[pandas.DataFrame]]:
    """A function that reads the file again from its first data row, as ``open_reader``
    with the same arguments reads it, in frames of ``chunk_rows`` (columns by position)."""

    def frames() -> Iterator[pandas.DataFrame]:
        reader = open_reader(path, filename, header_score=header_score)
        return (chunk.frame for chunk in reader.chunks(chunk_rows))

    return frames
