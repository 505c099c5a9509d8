"""Text-file sniffing for the CSV reader: encoding, delimiter, and a guard on line length."""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path
from typing import BinaryIO

from charset_normalizer import from_bytes

from ..errors import WRONG_TYPE, ImportFailed
from .common import MAX_LINE_BYTES

DELIMITERS = (",", ";", "\t", "|")
SNIFF_LINES = 20
DETECT_SAMPLE_BYTES = 64 * 1024
_BLOCK_BYTES = 1024 * 1024
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WESTERN = "cp1252"
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def not_text(filename: str) -> ImportFailed:
    """The error for a file that is not text at all."""
    return ImportFailed(
        f"{filename} does not look like a CSV text file: it contains binary data. "
        "If it is an Excel workbook, upload it with its .xlsx extension; otherwise open it "
        "in a spreadsheet program and save it as CSV.",
        WRONG_TYPE,
    )


def detect_encoding(path: Path, filename: str) -> tuple[str, int]:
    """The text encoding of the file at ``path`` and the length of its byte-order mark.

    A BOM decides; else UTF-8 when the whole file decodes as UTF-8; else charset-normalizer's
    guess on a sample, preferring Windows-1252 when it reads the sample as cleanly. A file
    whose start looks binary (UTF-16 without a BOM included) is refused; its ASCII bytes are
    judged alone, since the others may be letters of any encoding.
    """
    with open(path, "rb") as fh:
        head = fh.read(DETECT_SAMPLE_BYTES)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    if looks_binary(head.decode("ascii", errors="ignore")):
        raise not_text(filename)
    bad_at = _first_undecodable(path, "utf-8")
    if bad_at is None:
        return "utf-8", 0
    with open(path, "rb") as fh:
        fh.seek(max(bad_at - DETECT_SAMPLE_BYTES // 2, 0))
        sample = head + b"\n" + fh.read(DETECT_SAMPLE_BYTES)
    best = from_bytes(sample).best()
    western = from_bytes(sample, cp_isolation=[_WESTERN]).best()
    if western is not None and (best is None or western.chaos <= best.chaos):
        best = western
    if best is None or _first_undecodable(path, best.encoding) is not None:
        raise ImportFailed(
            f"{filename} is not readable text in any known encoding (it may be a binary "
            "file). Save it as 'CSV UTF-8' in your spreadsheet program and upload it again.",
            WRONG_TYPE,
        )
    return best.encoding, 0


def _first_undecodable(path: Path, encoding: str) -> int | None:
    """The byte offset where the file stops decoding as ``encoding``, or None if it never does."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(_BLOCK_BYTES)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                return offset + max(exc.start, 0)
            if not block:
                return None
            offset += len(block)


def looks_binary(text: str) -> bool:
    """True when control characters other than tab and line breaks are more than 1% of
    ``text`` and more than one per line: binary data, or UTF-16 read byte by byte (every
    other byte of it is NUL). A few stray ones, such as a NUL in a cell, are left to the
    validation of their rows."""
    controls = len(_CONTROL_CHARACTERS.findall(text))
    lines = max(text.count("\n"), text.count("\r"))
    return controls > len(text) // 100 and controls > lines


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the first lines of ``text`` most consistently.

    Each candidate scores the number of rows that have its most common field count (when
    that count is at least 2); ties go to more fields, then to the order of ``DELIMITERS``.
    """
    head = "".join(io.StringIO(text, newline="").readlines()[:SNIFF_LINES])
    best, best_score = DELIMITERS[0], (0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [
                len(row)
                for row in csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
                if row
            ]
        except csv.Error:
            continue
        if not counts:
            continue
        width = max(set(counts), key=lambda n: (counts.count(n), n))
        score = (counts.count(width), width) if width >= 2 else (0, 0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


class GuardedStream(io.RawIOBase):
    """A binary file, read as pandas reads it, refusing any line over ``MAX_LINE_BYTES``.

    It counts line breaks as it goes so errors can name a line, and reports the bytes read.
    """

    def __init__(self, raw: BinaryIO, newline: bytes, first_line: int) -> None:
        super().__init__()
        self._raw = raw
        self._newline = newline
        self._since_newline = 0
        self.line = first_line  # the file line the next byte belongs to (1-based)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._check(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _check(self, data: bytes) -> None:
        first = data.find(self._newline)
        if first < 0:
            self._since_newline += len(data)
        else:
            if self._since_newline + first > MAX_LINE_BYTES:
                self._too_long()
            self.line += data.count(self._newline)
            self._since_newline = len(data) - data.rfind(self._newline) - 1
        if self._since_newline > MAX_LINE_BYTES:
            self._too_long()

    def _too_long(self) -> None:
        raise ImportFailed(
            f"Line {self.line:,} of the file is longer than {MAX_LINE_BYTES // (1024 * 1024)} MB. "
            "A CSV row is expected to be short text; check that this is the right file."
        )
