"""The CSV reader: sniff encoding, delimiter and header row; parse with pandas' C engine."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pandas
from pandas.errors import ParserError

from ..errors import EMPTY_FILE, ImportFailed
from .common import (
    HEADER_SCAN_ROWS,
    MAX_LINE_BYTES,
    Chunk,
    HeaderScore,
    check_column_count,
    chunks_from_frames,
    find_header_row,
    storable_headers,
)
from .text import GuardedStream, detect_delimiter, detect_encoding, looks_binary, not_text

_TOO_MANY_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


class CsvReader:
    """Reads a delimited text file in chunks; see ``bulkapp.ingest.readers.Reader``."""

    def __init__(self, path: Path, filename: str, header_score: HeaderScore | None = None) -> None:
        self._path = path
        self._filename = filename
        self._size = path.stat().st_size
        self._consumed = 0
        self.encoding, bom_bytes = detect_encoding(path, filename)
        text = self._sample_text(bom_bytes)
        if not text.strip():
            raise ImportFailed(
                f"{filename} is empty: it has no header row and no data.", EMPTY_FILE
            )
        if looks_binary(text):
            raise not_text(filename)
        self.delimiter = detect_delimiter(text)
        self._newline = "\n" if "\n" in text or "\r" not in text else "\r"
        rows, ends = self._head_records(text)
        header_index = find_header_row(rows, header_score)
        self.headers = storable_headers(rows[header_index])
        check_column_count(len(self.headers))
        header_end, header_lines = ends[header_index]
        self._first_row = header_index + 2
        self._first_line = header_lines + 1
        self._data_offset = bom_bytes + len(text[:header_end].encode(self.encoding))

    def _sample_text(self, bom_bytes: int) -> str:
        """The first whole lines of the file (up to ``MAX_LINE_BYTES``), decoded."""
        with open(self._path, "rb") as fh:
            fh.seek(bom_bytes)
            raw = fh.read(MAX_LINE_BYTES)
        whole = bom_bytes + len(raw) >= self._size
        text = codecs.getincrementaldecoder(self.encoding)(errors="strict").decode(raw, final=whole)
        if whole:
            return text
        cut = max(text.rfind("\n"), text.rfind("\r"))
        if cut < 0:
            raise ImportFailed(
                f"Line 1 of {self._filename} is longer than {MAX_LINE_BYTES // (1024 * 1024)} MB. "
                "A CSV row is expected to be short text; check that this is the right file."
            )
        return text[: cut + 1]

    def _head_records(self, text: str) -> tuple[list[list[str]], list[tuple[int, int]]]:
        """The first records of ``text`` as stripped cells, each with where it ends
        (character offset, number of lines)."""
        rows: list[list[str]] = []
        ends: list[tuple[int, int]] = []
        position = [0, 0]

        def counted_lines() -> Iterator[str]:
            for line in io.StringIO(text, newline=""):
                position[0] += len(line)
                position[1] += 1
                yield line

        try:
            for cells in csv.reader(counted_lines(), delimiter=self.delimiter):
                rows.append([cell.strip() for cell in cells])
                ends.append((position[0], position[1]))
                if sum(1 for row in rows if any(row)) == HEADER_SCAN_ROWS:
                    break
        except csv.Error as exc:
            raise ImportFailed(
                f"The first rows of {self._filename} are not readable as CSV "
                f"({exc}). Save the file as CSV and upload it again."
            ) from exc
        return rows, ends

    def chunks(self, chunk_rows: int, skip_rows: int = 0) -> Iterator[Chunk]:
        """Yield the data records in chunks of ``chunk_rows``, after ``skip_rows`` records."""
        with open(self._path, "rb") as raw:
            raw.seek(self._data_offset)
            stream = GuardedStream(raw, self._newline.encode(self.encoding), self._first_line)
            try:
                for chunk in chunks_from_frames(
                    self._frames(stream, chunk_rows), self._first_row, skip_rows
                ):
                    self._consumed = raw.tell()
                    yield chunk
            except ParserError as exc:
                raise self._parser_failure(exc) from exc
            except UnicodeDecodeError as exc:
                raise ImportFailed(
                    f"Near line {stream.line:,}, {self._filename} has bytes that are not valid "
                    f"{self.encoding} text. Save it as 'CSV UTF-8' and upload it again."
                ) from exc
        self._consumed = self._size

    def _frames(self, stream: GuardedStream, chunk_rows: int) -> Iterator[pandas.DataFrame]:
        return pandas.read_csv(
            stream,
            sep=self.delimiter,
            header=None,
            names=range(len(self.headers)),
            index_col=False,
            dtype=object,
            keep_default_na=False,
            na_values=[""],
            encoding=self.encoding,
            engine="c",
            chunksize=chunk_rows,
            skip_blank_lines=False,
            lineterminator=self._newline if self._newline == "\r" else None,
        )

    def _parser_failure(self, exc: ParserError) -> ImportFailed:
        message = str(exc)
        if match := _TOO_MANY_FIELDS.search(message):
            expected, line, saw = (int(n) for n in match.groups())
            return ImportFailed(
                f"Line {self._first_line + line - 1:,} has {saw:,} values but the header has "
                f"{expected:,} columns. Check the delimiters on that line: a value that contains "
                f"a {_describe(self.delimiter)} must be enclosed in double quotes."
            )
        if match := _OPEN_QUOTE.search(message):
            row = self._first_row + int(match.group(1))
            return ImportFailed(
                f"A quoted value that starts near row {row:,} is never closed (a double quote "
                "is missing). Check the quotes on that row and upload the file again."
            )
        return ImportFailed(
            f"{self._filename} could not be read as CSV near line "
            f"{self._first_line:,} or later: {message}"
        )

    def progress(self) -> float:
        """The fraction of the file's bytes consumed so far."""
        return min(self._consumed / self._size, 1.0) if self._size else 1.0


def _describe(delimiter: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}[delimiter]
