"""How a file's columns are read: the number and date formats decided per column, the values
read as empty, and the notes the review shows about them.

A number like ``1,250`` or a date like ``03/04/2026`` reads two ways. Which one a column means
is decided, in this order, by the mapping (a person chose it, on the review page or through the
API), else by the **whole column**: the values that read only one way (``450,50``,
``31/01/2026``) show the column's format. A column without such values reads dates day first
(as South Africans write them); its ambiguous numbers are never guessed: they are rejected
with a message until a person chooses. Whole-column evidence is gathered by reading the file
once more, and only when a chunk meets an ambiguous value its mapping has not decided.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

import numpy as np
import pandas as pd

from ..entities import EntitySchema, Field, header_key
from .dates import DATE_ORDERS, DAY_FIRST, MONTH_FIRST, read_date
from .numbers import DECIMAL_COMMA, DECIMAL_POINT, NUMBER_FORMATS, plain, read_number

# The formats a column of each type can be written in, and the one used when its values
# show none (None: ambiguous values are not read).
FORMATS: dict[str, tuple[str, ...]] = {
    "decimal": NUMBER_FORMATS,
    "integer": NUMBER_FORMATS,
    "date": DATE_ORDERS,
}
DEFAULT_FORMAT: dict[str, str | None] = {"decimal": None, "integer": None, "date": DAY_FIRST}
FORMAT_NAMES = {
    DECIMAL_POINT: "decimal point",
    DECIMAL_COMMA: "decimal comma",
    DAY_FIRST: "day first",
    MONTH_FIRST: "month first",
}

# Where a column's format came from (see ``decide``).
FROM_MAPPING, FROM_FILE, FROM_DEFAULT = "mapping", "file", "default"

# What the notes record of a value (besides the format it shows).
AMBIGUOUS, EMPTY, REJECTED = "ambiguous", "empty", "rejected"
NOTED_VALUES = 50  # distinct values kept per kind and column

# Placeholders that mean "no value" in an optional field, in English and Afrikaans, any case:
# n/a, na, n.a., #N/A (Excel's failed lookup), not applicable, not available, none, nil, null,
# n.v.t. and nvt (nie van toepassing), n/b (nie beskikbaar), geen, and dashes.
_PLACEHOLDER = re.compile(
    r"""
    \#?n\s*[/.]?\s*a\.?
    | not\s+(?:applicable|available)
    | none | nil | null | geen
    | n\.?\s*v\.?\s*t\.?
    | nie\s+van\s+toepassing
    | n\s*/\s*b
    | [-\u2013\u2014]+
    """,
    re.VERBOSE | re.IGNORECASE,
)


_PLACEHOLDER_STARTS = frozenset("nN#-\u2013\u2014gG")


def is_placeholder(text: str) -> bool:
    """Whether ``text`` (stripped) is a way of writing "no value" (``N/A``, ``-``, ``none``)."""
    return (
        len(text) <= 24
        and text[:1] in _PLACEHOLDER_STARTS
        and _PLACEHOLDER.fullmatch(text) is not None
    )


def decide(field_type: str, evidence: Mapping[str, int], chosen: str | None) -> tuple:
    """The format of a column and where it came from: ``(format, source)``.

    ``chosen`` (the mapping's) wins; else the one format the column's values show; else the
    type's default. Values showing both formats decide nothing: ``(None, None)``.
    """
    if chosen is not None:
        return chosen, FROM_MAPPING
    shown = [f for f in FORMATS[field_type] if evidence.get(f)]
    if len(shown) == 1:
        return shown[0], FROM_FILE
    if not shown and DEFAULT_FORMAT[field_type] is not None:
        return DEFAULT_FORMAT[field_type], FROM_DEFAULT
    return None, None


def read_as(field_type: str) -> Callable:
    """The function giving a value's readings for a column of ``field_type``."""
    return read_date if field_type == "date" else read_number


@dataclass
class ColumnNotes:
    """What reading one column found worth telling: rows per format its values show (with the
    first such value), ambiguous values, values read as empty, values not accepted (of an
    optional field: a person may leave them empty), and one value as it is stored.

    Values are keyed as written (stripped) with the rows that have them; at most
    ``NOTED_VALUES`` distinct values of each kind. ``found_format`` is the format the column's
    ambiguous values were read in when the column (not a mapping) decided it, if it did.
    """

    evidence: dict[str, int] = field(default_factory=dict)
    examples: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    ambiguous: dict[str, int] = field(default_factory=dict)
    empty: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    sample: tuple[str, str] | None = None
    found_format: str | None = None

    def add(self, kind: str, written: str, rows: int, stored: str | None = None) -> None:
        """Count ``rows`` of the value ``written`` (stored as ``stored``) as ``kind``: a
        format it shows, or one of the kinds above."""
        if kind in FORMAT_NAMES:
            self.evidence[kind] = self.evidence.get(kind, 0) + rows
            self.examples.setdefault(kind, (written, stored))
            return
        values = {AMBIGUOUS: self.ambiguous, EMPTY: self.empty, REJECTED: self.rejected}[kind]
        if written in values or len(values) < NOTED_VALUES:
            values[written] = values.get(written, 0) + rows

    def merge(self, other: ColumnNotes) -> None:
        """Add ``other``'s counts (a later chunk of the same column)."""
        for kind, example in other.examples.items():
            self.examples.setdefault(kind, example)
        for kind, rows in other.evidence.items():
            self.evidence[kind] = self.evidence.get(kind, 0) + rows
        for kind, values in (
            (AMBIGUOUS, other.ambiguous),
            (EMPTY, other.empty),
            (REJECTED, other.rejected),
        ):
            for written, rows in values.items():
                self.add(kind, written, rows)
        self.sample = self.sample or other.sample
        self.found_format = self.found_format or other.found_format


@dataclass
class UnreadColumn:
    """A column of the file that no field reads: the rows with a value in it, and the first
    such values."""

    rows: int = 0
    samples: list[str] = field(default_factory=list)

    def merge(self, other: UnreadColumn) -> None:
        """Add ``other`` (the same column in a later chunk)."""
        self.rows += other.rows
        self.samples = (self.samples + other.samples)[:UNREAD_SAMPLES]


UNREAD_SAMPLES = 3


def unread_data(frame: pd.DataFrame, positions: Iterable[int]) -> dict[int, UnreadColumn]:
    """The columns at ``positions`` of ``frame`` that hold values (blank text is none)."""
    found = {}
    for position in positions:
        cells = frame[position]
        present = cells[cells.notna()]
        if present.empty:
            continue
        values = [v for v in present.astype(str).str.strip().tolist() if v]
        if values:
            found[position] = UnreadColumn(len(values), values[:UNREAD_SAMPLES])
    return found


def merge_unread(into: dict[int, UnreadColumn], found: Mapping[int, UnreadColumn]) -> None:
    """Add a chunk's unread columns to those of the chunks before it."""
    for position, column in found.items():
        if position in into:
            into[position].merge(column)
        else:
            into[position] = UnreadColumn(column.rows, list(column.samples))


def unnamed_warnings(headers: Sequence[str], unread: Mapping[int, UnreadColumn]) -> list[str]:
    """What an import tells of the columns without a header that hold values (the mapping's
    warnings tell of the named ones it leaves out)."""
    return [
        f"Column {position + 1} has no header but values in {_rows(column.rows)} (e.g. "
        f"{column.samples[0]!r}): not imported."
        for position, column in sorted(unread.items())
        if not str(headers[position] or "").strip()
    ]


def merge_notes(into: dict[str, ColumnNotes], notes: Mapping[str, ColumnNotes]) -> None:
    """Add a chunk's notes (field name → notes) to those of the chunks before it."""
    for name, found in notes.items():
        if name in into:
            into[name].merge(found)
        else:
            into[name] = found


@dataclass
class ColumnReading:
    """How one column of a chunk is read.

    Attributes:
        chosen: the format the mapping decided for ambiguous values (None: undecided).
        whole_column: the whole column's format (with its source), found on first need; None
            when only the values at hand are known (they then decide).
        left_empty: values a person mapped to "leave empty" (as written; enum fields: folded).
        notes: where to note what was found (None: nothing is noted).
    """

    chosen: str | None = None
    whole_column: Callable[[], str | None] | None = None
    left_empty: frozenset[str] = frozenset()
    notes: ColumnNotes | None = None

    def format_of(self, field_type: str, shown_here: Mapping[str, int]) -> str | None:
        """The format for this column's ambiguous values: the mapping's, else the whole
        column's, else (no file to look at) the one the values at hand show
        (``shown_here``: format → how many show it)."""
        if self.chosen is not None:
            return self.chosen
        if self.whole_column is not None:
            return self.whole_column()
        return decide(field_type, shown_here, None)[0]

    def empty_test(self, field_: Field) -> Callable[[str], bool] | None:
        """A test of whether a value (stripped, not empty) of ``field_``'s column is stored as
        empty: a value a person left empty, or (optional fields) a placeholder; None when no
        value is."""
        left = self.left_empty
        if field_.required and not left:
            return None
        placeholders = not field_.required
        if field_.type == "enum":
            return lambda text: (
                (bool(left) and (text in left or header_key(text) in left))
                or (placeholders and is_placeholder(text))
            )
        return lambda text: (text in left) or (placeholders and is_placeholder(text))


class FileFormats:
    """The format of each number and date column of one file, decided once per column.

    Attributes:
        fields: the number and date fields that have a column.
        chosen: field name → the format a mapping chose.
    """

    def __init__(
        self,
        fields: Sequence[Field],
        positions: Mapping[str, int],
        chosen: Mapping[str, str],
        frames: Callable[[], Iterable[pd.DataFrame]] | None = None,
    ) -> None:
        self.fields = tuple(fields)
        self.positions = dict(positions)
        self.chosen = {name: f for name, f in chosen.items() if name in self.positions}
        self._frames = frames
        self._decided: dict[str, str | None] | None = None

    def reading_file(self, frames: Callable[[], Iterable[pd.DataFrame]]) -> FileFormats:
        """These formats, deciding undecided columns from the file ``frames`` reads (every
        data row, from the first, in frames with columns by position)."""
        return FileFormats(self.fields, self.positions, self.chosen, frames)

    def whole_column(self, name: str) -> Callable[[], str | None] | None:
        """How to find the format of field ``name``'s whole column (None: no file to read)."""
        if self._frames is None:
            return None
        return lambda: self._decide_all()[name]

    def _decide_all(self) -> dict[str, str | None]:
        """Read the number and date columns of the whole file once; each column's format."""
        if self._decided is None:
            assert self._frames is not None
            fields = [f for f in self.fields if f.name not in self.chosen]
            evidence = column_evidence(fields, self.positions, self._frames())
            self._decided = {
                f.name: decide(f.type, evidence[f.name], None)[0] for f in fields
            } | self.chosen
        return self._decided


def column_evidence(
    fields: list[Field], positions: Mapping[str, int], frames: Iterable[pd.DataFrame]
) -> dict[str, dict[str, int]]:
    """Per field: the rows of its column whose value shows each format."""
    found: dict[str, dict[str, int]] = {f.name: {} for f in fields}
    for frame in frames:
        for f in fields:
            cells = frame[positions[f.name]].to_numpy(dtype=object)
            codes, uniques = pd.factorize(cells)
            if not len(uniques):
                continue
            counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
            read = read_as(f.type)
            tally = found[f.name]
            for value, rows in zip(uniques.tolist(), counts.tolist(), strict=True):
                shown = read(str(value)).evidence
                if shown:
                    tally[shown] = tally.get(shown, 0) + rows
    return found


def reading_warnings(schema: EntitySchema, notes: Mapping[str, ColumnNotes]) -> list[str]:
    """What an import without a review tells about its columns' ambiguous values: how the
    column decided them, or that they were rejected because it could not."""
    warnings = []
    for name, found in notes.items():
        if not found.ambiguous:
            continue
        label = schema.field(name).label
        rows = sum(found.ambiguous.values())
        example = next(iter(found.ambiguous))
        what = f"{label}: {_rows(rows)} with values that read two ways"
        if found.found_format is None:
            warnings.append(
                f"{what} (e.g. {example!r}) were rejected: nothing in the column shows which "
                "way it is written. Upload the file for review to choose."
            )
            continue
        shown = found.examples.get(found.found_format)
        because = f", as in {shown[0]!r}" if shown else ""
        warnings.append(
            f"{what} (e.g. {example!r}) were read {_describe(found.found_format)}, the way "
            f"the rest of the column is written{because}."
        )
    return warnings


def _describe(chosen: str) -> str:
    """``with a decimal comma``, ``day first``."""
    name = FORMAT_NAMES[chosen]
    return f"with a {name}" if chosen in NUMBER_FORMATS else name


def describe_readings(
    schema: EntitySchema,
    positions: Mapping[str, int],
    chosen: Mapping[str, str],
    notes: Mapping[str, ColumnNotes],
) -> list[dict]:
    """How each number and date column of a file was read, for the review (JSON-ready):
    its format and where it came from, the values that showed it, the values that read two
    ways (each with both readings), and one value as stored."""
    described = []
    for f in schema.fields:
        if f.type not in FORMATS or f.name not in positions:
            continue
        found = notes.get(f.name) or ColumnNotes()
        chosen_format, source = decide(f.type, found.evidence, chosen.get(f.name))
        example = found.examples.get(chosen_format or "") or found.sample
        described.append(
            {
                "field": f.name,
                "label": f.label,
                "type": f.type,
                "format": chosen_format,
                "source": source,
                "read_as": _summary(f.type, chosen_format, source, found),
                "example": list(example) if example else None,
                "evidence": dict(found.evidence),
                "ambiguous": dict(found.ambiguous),
                "ambiguous_rows": sum(found.ambiguous.values()),
                "options": _options(f.type, next(iter(found.ambiguous), None)),
            }
        )
    return described


def _summary(field_type: str, chosen: str | None, source: str | None, found: ColumnNotes) -> str:
    """How a column was read, in words: ``decimal comma, as in '450,50' (12 rows)``."""
    if source == FROM_MAPPING:
        return f"{FORMAT_NAMES[cast(str, chosen)]}, as chosen"
    if source == FROM_FILE:
        written = found.examples[cast(str, chosen)][0]
        rows = found.evidence[cast(str, chosen)]
        return f"{FORMAT_NAMES[cast(str, chosen)]}, as in {written!r} ({_rows(rows)})"
    if source == FROM_DEFAULT and found.ambiguous:
        return f"{FORMAT_NAMES[cast(str, chosen)]}, the South African way: no value shows the order"
    if len(found.evidence) > 1:
        shown = " and ".join(repr(found.examples[kind][0]) for kind in sorted(found.evidence))
        return f"not decided: the column has both {shown}"
    if found.ambiguous:
        return "not decided: no value shows which mark is the decimal one"
    return "as written: every value reads one way"


def _rows(count: int) -> str:
    return f"{count:,} row{'s' if count != 1 else ''}"


def _options(field_type: str, ambiguous: str | None) -> list[dict]:
    """The formats a person can choose for a column, each with how the column's first
    ambiguous value reads in it (``1,250`` → ``1250``)."""
    options = []
    readings = read_as(field_type)(ambiguous) if ambiguous is not None else None
    for chosen in FORMATS[field_type]:
        value = readings.read(chosen) if readings is not None else None
        options.append(
            {
                "format": chosen,
                "name": FORMAT_NAMES[chosen],
                "reads": None if value is None else _plain(value),
            }
        )
    return options


def _plain(value: object) -> str:
    """A value read, as a person writes it: ``1250``, ``1.25``, ``2026-04-03``."""
    if isinstance(value, Decimal):
        return plain(value)
    return str(value)


def empty_values(notes: Mapping[str, ColumnNotes]) -> dict[str, dict[str, int]]:
    """Per field: the values read as empty, with their rows (for the review)."""
    return {name: dict(found.empty) for name, found in notes.items() if found.empty}


def refused_values(
    schema: EntitySchema, notes: Mapping[str, ColumnNotes]
) -> dict[str, dict[str, int]]:
    """Per optional field that is not a list of choices: the values not accepted, with their
    rows (a person may leave them empty; unknown choices are listed apart)."""
    return {
        name: dict(found.rejected)
        for name, found in notes.items()
        if found.rejected and schema.field(name).type != "enum"
    }


def undecided(readings: Iterable[Mapping]) -> list[str]:
    """The fields of ``describe_readings`` whose ambiguous values nobody decided."""
    return [r["field"] for r in readings if r["ambiguous_rows"] and r["format"] is None]
