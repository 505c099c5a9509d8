"""The rows an import rejects, as the file has them, and how the file's columns were read:
what the error report and the fix page are made of."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from ..entities import EntitySchema
from .mapping import ColumnMapping
from .normalise import normalise_column, replace_unstorable
from .readings import FileFormats
from .validate import ChunkOutcome, raw_cells

_QUOTED = re.compile(r"\s*('[^']*'|\"[^\"]*\")")
KEY_SEPARATOR = "\x1f"  # between the parts of a natural key of several fields


def reason_of(message: str) -> str:
    """``message`` without the values it quotes: what rows rejected for the same reason share
    (``province 'Atlantis' is not one of: …`` → ``province is not one of: …``)."""
    return replace_unstorable(_QUOTED.sub("", message))


@dataclass(frozen=True)
class FileLayout:
    """How an import reads a file's columns: the header row, the column each field comes
    from, and the value translations and number or date formats of a person's mapping."""

    headers: tuple[str, ...]
    positions: dict[str, int]
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, headers: Sequence[str | None], mapping: ColumnMapping) -> FileLayout:
        return cls(
            tuple("" if h is None else str(h) for h in headers),
            dict(mapping.positions),
            {name: dict(values) for name, values in mapping.values.items()},
            dict(mapping.formats.chosen) if mapping.formats else {},
        )

    @property
    def mapping(self) -> ColumnMapping:
        """The column mapping the import used (formats as the person chose them)."""
        return ColumnMapping(
            positions=dict(self.positions),
            values=self.values,
            formats=FileFormats((), self.positions, self.formats),
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "headers": list(self.headers),
            "positions": dict(self.positions),
            "values": {name: dict(values) for name, values in self.values.items()},
        }
        if self.formats:
            data["formats"] = dict(self.formats)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileLayout:
        return cls(
            tuple(data["headers"]),
            {name: int(position) for name, position in data["positions"].items()},
            {name: dict(values) for name, values in (data.get("values") or {}).items()},
            dict(data.get("formats") or {}),
        )

    def column_of(self, field_name: str | None) -> int | None:
        """The position of the column ``field_name`` is read from (None: none)."""
        return None if field_name is None else self.positions.get(field_name)


@dataclass(frozen=True)
class CellError:
    """One reason a row was rejected: the column (its header; None for the row as a whole),
    the field it feeds, and the message."""

    column: str | None
    field: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"column": self.column, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class Rejection:
    """A rejected row: its spreadsheet row number, its cells in the header's order, why it
    was rejected, and its natural key normalised (None while a key cell is invalid)."""

    row: int
    cells: list[Any]
    errors: list[CellError]
    key: str | None


@dataclass(frozen=True)
class Rejections:
    """The rejected rows of one chunk, and how the file's columns were read."""

    layout: FileLayout
    rows: list[Rejection]


def key_values(
    schema: EntitySchema, mapping: ColumnMapping, frame: pd.DataFrame
) -> list[tuple[Any, ...] | None]:
    """The normalised natural key of every row of ``frame`` (a reader's chunk, columns by
    position), one value per key field; None where a key cell is empty or invalid."""
    parts = [
        normalise_column(raw_cells(frame, mapping.positions[f.name]), mapping.field_for(f))[0]
        for f in schema.key_fields
    ]
    return [None if None in key else key for key in zip(*parts, strict=True)]


def key_text(key: Sequence[Any] | None) -> str | None:
    """A natural key as the rejected rows keep it (its parts as text, separated)."""
    return None if key is None else KEY_SEPARATOR.join(map(str, key))


def natural_keys(
    schema: EntitySchema, mapping: ColumnMapping, frame: pd.DataFrame
) -> list[str | None]:
    """The natural key of every row of ``frame`` as text (``key_text``); None where a key
    cell is empty or invalid."""
    return [key_text(key) for key in key_values(schema, mapping, frame)]


def chunk_rejections(
    schema: EntitySchema,
    layout: FileLayout,
    frame: pd.DataFrame,
    first_row: int,
    outcome: ChunkOutcome,
    also: Sequence[int] = (),
) -> list[Rejection]:
    """The rejected rows of a validated chunk (``frame``, labelled by position), each with
    its messages in the order validation found them; with ``also``, the rows at those
    positions too, valid or not (a valid one has no messages)."""
    positions = outcome.invalid_positions
    if also:
        positions = sorted({*positions, *also})
    if not positions:
        return []
    fields = {f.label: f.name for f in schema.fields}
    errors: dict[int, list[CellError]] = {}
    for error in outcome.errors:
        name = fields.get(error.column)
        header = layout.headers[layout.positions[name]] if name in layout.positions else None
        errors.setdefault(error.position, []).append(CellError(header, name, error.message))
    rejected = frame.iloc[positions]
    keys = natural_keys(schema, layout.mapping, rejected)
    cells = rejected.astype(object).where(rejected.notna(), None).values.tolist()
    return [
        Rejection(first_row + position, row_cells, errors.get(position, []), key)
        for position, row_cells, key in zip(positions, cells, keys, strict=True)
    ]


@dataclass(frozen=True)
class RowEdits:
    """Rows a person edited before the import, on the review's fix page: each row's cells
    (by spreadsheet row number) as edited, in the file's column layout. They are fixes of
    the file: the import, and a new dry run, read each of these rows as edited instead of
    as the file has it."""

    cells: dict[int, list[str | None]] = field(default_factory=dict)

    @cached_property
    def _rows(self) -> list[int]:
        return sorted(self.cells)

    def apply(self, frame: pd.DataFrame, first_row: int) -> list[int]:
        """Put the edited rows of the chunk ``frame`` (its first row ``first_row``) in place
        of the file's, in place; returns their positions in the chunk."""
        rows = self._rows
        start = bisect_left(rows, first_row)
        end = bisect_left(rows, first_row + len(frame))
        width = frame.shape[1]
        positions = []
        for row in rows[start:end]:
            position = row - first_row
            cells = self.cells[row]
            for column in range(width):
                frame.iat[position, column] = cells[column] if column < len(cells) else None
            positions.append(position)
        return positions
