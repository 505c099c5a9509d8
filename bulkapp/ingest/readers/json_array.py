"""The JSON reader: an array of objects, parsed one record at a time in bounded memory.

A nested object becomes columns of its own, named by the path to each value
(``{"workshop": {"city": "Pretoria"}}`` is the column ``workshop.city``), so that its parts
match and map like any header. A list stays one cell, written as JSON: a field joins it or
rejects it (``Field.list_joiner``)."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import pandas

from ..errors import EMPTY_FILE, ImportFailed
from .common import (
    MAX_LINE_BYTES,
    Chunk,
    check_column_count,
    chunks_from_frames,
    storable_headers,
)

_BLOCK_BYTES = 256 * 1024
_WHITESPACE = " \t\r\n"
_EMPTY = float("nan")  # how frames mark an empty cell until chunks_from_frames makes it None
PLAIN_DIGITS = 30  # numbers with an exponent up to this are written out in full


def _whole_number(digits: str) -> int | Decimal:
    """A JSON integer; a Decimal past the 4,300 digits ``int`` reads, so that its row (not the
    whole file) is rejected."""
    try:
        return int(digits)
    except ValueError:
        return Decimal(digits)


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=_whole_number)


def json_text(value: Any) -> str | None:
    """A JSON value as text: numbers keep their digits (written out without an exponent),
    booleans are ``true``/``false``, objects and arrays become compact JSON; None for null
    and ""."""
    if isinstance(value, str):
        return value or None
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        # 1e5 is 100000, as a person writes it; an exponent too large to write out stays.
        return f"{value:f}" if abs(value.adjusted()) <= PLAIN_DIGITS else str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=float)


def _paths(record: dict, prefix: str) -> Iterator[tuple[str, Any]]:
    """Each value of ``record`` with its path, nested objects opened (see the module)."""
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _paths(value, f"{path}.")  # an empty object adds nothing
        else:
            yield path, value


class _Text:
    """The file decoded as UTF-8 block by block, with a cursor; counts bytes and lines."""

    def __init__(self, raw: BinaryIO, filename: str) -> None:
        self._raw = raw
        self._filename = filename
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buffer, self.pos, self.eof, self.lines_before = "", 0, False, 0

    def more(self) -> bool:
        """Append the next block to the buffer (dropping what was consumed); False at EOF."""
        if self.eof:
            return False
        block = self._raw.read(_BLOCK_BYTES)
        self.eof = not block
        try:
            text = self._decoder.decode(block, final=self.eof)
        except UnicodeDecodeError as exc:
            raise ImportFailed(
                f"{self._filename} is not UTF-8 encoded text, as JSON must be. "
                "Save it as UTF-8 and upload it again."
            ) from exc
        self.lines_before += self.buffer.count("\n", 0, self.pos)
        self.buffer, self.pos = self.buffer[self.pos :] + text, 0
        return bool(block)

    def next_char(self) -> str:
        """The next character that is not whitespace ("" at the end of the file)."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer) or not self.more():
                return self.buffer[self.pos : self.pos + 1]


class JsonReader:
    """Reads a JSON array of objects; see ``bulkapp.ingest.readers.Reader``.

    A first pass checks the whole file and collects the keys (the headers, in first-seen
    order); ``chunks`` parses it again. Records are numbered from 1.
    """

    def __init__(self, path: Path, filename: str) -> None:
        self._path = path
        self._filename = filename
        self._size = path.stat().st_size
        self._consumed = 0
        self._columns: dict[str, int] = {}
        count = 0
        with open(path, "rb") as raw:
            for record in self._records(_Text(raw, filename)):
                count += 1
                for key, value in self._flattened(record, count):
                    if key not in self._columns:
                        self._columns[key] = len(self._columns)
                        check_column_count(len(self._columns))
                    if isinstance(value, list):
                        self._check_nested(value, count)
        if not count:
            raise ImportFailed(
                f"{filename} holds an empty list: there are no records to import.", EMPTY_FILE
            )
        if not self._columns:
            raise ImportFailed(f"The records in {filename} have no fields.")
        self.headers = storable_headers(key.strip() for key in self._columns)

    def _records(self, text: _Text) -> Iterator[dict]:
        first = text.next_char()
        if first != "[":
            raise ImportFailed(self._shape_message(first))
        text.pos += 1
        number = 0
        if text.next_char() == "]":
            return
        while True:
            number += 1
            record = self._decode(text, number)
            if not isinstance(record, dict):
                raise ImportFailed(
                    f"Record {number} in {self._filename} is not an object: the file must be a "
                    'list of objects like [{"firstName": "John", "email": "john@example.com"}].'
                )
            yield record
            separator = text.next_char()
            text.pos += 1
            if separator == "]":
                if text.next_char():
                    raise ImportFailed(
                        f"{self._filename} has text after the closing ']' of its "
                        "list of records. Remove it and upload again."
                    )
                return
            if not separator:
                raise ImportFailed(
                    f"{self._filename} ends before the closing ']' of its list "
                    "of records: the file may be cut off. Upload it again."
                )
            if separator != ",":
                raise ImportFailed(
                    f"{self._filename} is not valid JSON: a ',' or ']' is "
                    f"missing after record {number}."
                )

    def _decode(self, text: _Text, number: int) -> Any:
        """Decode the record at the cursor, reading more of the file as long as it needs."""
        text.next_char()
        while True:
            try:
                value, end = _DECODER.raw_decode(text.buffer, text.pos)
            except json.JSONDecodeError as exc:
                line = text.lines_before + exc.lineno
                if len(text.buffer) - text.pos <= MAX_LINE_BYTES and text.more():
                    continue
                raise ImportFailed(
                    f"{self._filename} is not valid JSON near line {line:,} (record {number:,}): "
                    f"{exc.msg}. Records larger than {MAX_LINE_BYTES // (1024 * 1024)} MB are "
                    "not accepted either."
                ) from exc
            except RecursionError as exc:
                raise self._too_deep(number) from exc
            except ValueError as exc:
                raise ImportFailed(
                    f"Record {number:,} in {self._filename} has a value that cannot be read: {exc}"
                ) from exc
            text.pos = end
            return value

    def _flattened(self, record: dict, number: int) -> list[tuple[str, Any]]:
        """The values of record ``number`` by column name: a nested object's values under
        their path (``workshop.city``)."""
        try:
            return list(_paths(record, ""))
        except RecursionError as exc:
            raise self._too_deep(number) from exc

    def _check_nested(self, value: list, number: int) -> None:
        try:
            json_text(value)
        except RecursionError as exc:
            raise self._too_deep(number) from exc

    def _too_deep(self, number: int) -> ImportFailed:
        return ImportFailed(
            f"Record {number:,} in {self._filename} is nested too deeply. Each record should be "
            "an object of field names and values, with groups of values a few levels deep."
        )

    def _shape_message(self, first: str) -> str:
        if first == "{":
            return (
                f"{self._filename} holds a single JSON object, not a list of records. Put "
                'the records in a list: [{"firstName": "John", ...}, {...}].'
            )
        if not first:
            return f"{self._filename} is empty: it contains no records."
        return (
            f"{self._filename} is not a JSON list of records: it must start with '[' "
            'and look like [{"firstName": "John", "email": "john@example.com"}].'
        )

    def chunks(self, chunk_rows: int, skip_rows: int = 0) -> Iterator[Chunk]:
        """Yield the records in chunks of ``chunk_rows``, after ``skip_rows`` records."""
        yield from chunks_from_frames(self._frames(chunk_rows), 1, skip_rows)
        self._consumed = self._size

    def _frames(self, chunk_rows: int) -> Iterator[pandas.DataFrame]:
        width = len(self._columns)
        with open(self._path, "rb") as raw:
            rows: list[list[Any]] = []
            for number, record in enumerate(self._records(_Text(raw, self._filename)), 1):
                row: list[str | float] = [_EMPTY] * width
                for key, value in self._flattened(record, number):
                    row[self._columns[key]] = json_text(value) or _EMPTY
                rows.append(row)
                if len(rows) == chunk_rows:
                    self._consumed = raw.tell()
                    yield pandas.DataFrame(rows, columns=range(width), dtype=object)
                    rows = []
            if rows:
                yield pandas.DataFrame(rows, columns=range(width), dtype=object)

    def progress(self) -> float:
        """The fraction of the file's bytes consumed so far."""
        return min(self._consumed / self._size, 1.0) if self._size else 1.0
