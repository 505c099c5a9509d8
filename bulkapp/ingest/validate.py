"""Validate a chunk of raw rows: normalise every field, apply row rules, find duplicate keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import compress

import numpy as np
import pandas as pd

from ..entities import EntitySchema
from .mapping import ColumnMapping
from .normalise import normalise_column
from .readings import ColumnNotes, UnreadColumn, unread_data


@dataclass(frozen=True)
class RowError:
    """One problem with one cell: where, what the user wrote, and why it was rejected."""

    position: int
    column: str
    value: str | None
    message: str


@dataclass
class ChunkOutcome:
    """What validation made of one chunk.

    Attributes:
        columns: normalised values of the valid rows only, per field name.
        valid: how many rows are valid.
        invalid_positions: positions (within the chunk) of rejected rows, ascending.
        errors: every problem found, in row order.
        duplicates: rows rejected because their key appeared earlier in the file.
        notes: per field, what reading its column found worth telling (formats shown,
            ambiguous values, values read as empty, values not accepted).
        unread: the columns no field reads that hold values, by position.
    """

    columns: dict[str, list]
    valid: int
    invalid_positions: list[int]
    errors: list[RowError]
    duplicates: int
    notes: dict[str, ColumnNotes] = field(default_factory=dict)
    unread: dict[int, UnreadColumn] = field(default_factory=dict)


class SeenKeys:
    """Natural keys already met in this file, as 64-bit hashes in sorted segments.

    A million keys take 8 MB. Python's string hash is 64 bits wide; two different keys
    share one with a chance of about 1 in 30 million for a million-row file. New keys go
    into the last segment until it holds ``SEGMENT_KEYS``: merging a chunk's keys copies
    at most one segment, so memory stays at the keys' own size plus one segment, and the
    time per chunk does not grow with the file.
    """

    SEGMENT_KEYS = 1 << 20

    def __init__(self) -> None:
        self._segments: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(segment) for segment in self._segments)

    def _contains(self, hashes: np.ndarray) -> np.ndarray:
        found = np.zeros(len(hashes), dtype=bool)
        for segment in self._segments:
            at = np.minimum(np.searchsorted(segment, hashes), len(segment) - 1)
            found |= segment[at] == hashes
        return found

    def claim(self, hashes: np.ndarray) -> np.ndarray:
        """Record ``hashes``; True where one was seen before (here or in an earlier call)."""
        repeated = self._contains(hashes)
        distinct, first = np.unique(hashes, return_index=True)
        earlier_in_batch = np.ones(len(hashes), dtype=bool)
        earlier_in_batch[first] = False
        new = distinct[~self._contains(distinct)]
        if self._segments and len(self._segments[-1]) + len(new) <= self.SEGMENT_KEYS:
            last = self._segments.pop()
            new = np.insert(last, np.searchsorted(last, new), new)
        if len(new):
            self._segments.append(new)
        return repeated | earlier_in_batch


def raw_cells(frame: pd.DataFrame, position: int) -> list[str | None]:
    """Column ``position`` of a reader's chunk as a list, missing cells as None."""
    series = frame[position]
    if series.dtype == object:  # what readers yield: str or None
        return series.tolist()
    return series.astype(object).where(series.notna(), None).tolist()


def _key_hashes(
    schema: EntitySchema, columns: dict[str, list], positions: list[int] | None
) -> np.ndarray:
    """64-bit hashes of the natural keys at ``positions`` (None: every row)."""
    keys = [columns[name] for name in schema.natural_key]
    if positions is not None:
        keys = [[values[i] for i in positions] for values in keys]
    values = keys[0] if len(keys) == 1 else list(zip(*keys, strict=True))
    return np.fromiter(map(hash, values), dtype=np.int64, count=len(values))


def _claim(
    schema: EntitySchema, columns: dict[str, list], rows: int, seen: SeenKeys
) -> tuple[list[int], list[bool]]:
    """Claim the keys of rows whose key fields are all valid.

    Returns those rows' positions and, for each, whether its key was met before.
    """
    key_columns = [columns[name] for name in schema.natural_key]
    if any(None in values for values in key_columns):
        usable = [i for i, key in enumerate(zip(*key_columns, strict=True)) if None not in key]
        return usable, seen.claim(_key_hashes(schema, columns, usable)).tolist()
    return list(range(rows)), seen.claim(_key_hashes(schema, columns, None)).tolist()


def claim_keys(
    schema: EntitySchema, mapping: ColumnMapping, frame: pd.DataFrame, seen: SeenKeys
) -> None:
    """Record the valid keys of ``frame`` in ``seen`` (rebuilding it when a job resumes)."""
    columns = {
        f.name: normalise_column(
            raw_cells(frame, mapping.positions[f.name]), f, mapping.reading(f)
        )[0]
        for f in schema.key_fields
    }
    _claim(schema, columns, len(frame), seen)


def key_label(schema: EntitySchema) -> str:
    """How messages name the natural key (``email``, ``policyNumber/idNumber``)."""
    return "/".join(f.label for f in schema.key_fields)


def duplicate_message(label: str, key: str) -> str:
    """Why a row whose key an earlier row of its file has is rejected."""
    return f"Duplicate {label} {key!r}: an earlier row of this file has the same value."


def validate_chunk(
    schema: EntitySchema, mapping: ColumnMapping, frame: pd.DataFrame, seen: SeenKeys | None
) -> ChunkOutcome:
    """Normalise and check every row of ``frame``.

    Args:
        seen: keys met earlier in the file; None skips the duplicate check.
    """
    rows = len(frame)
    columns: dict[str, list] = {}
    errors: list[RowError] = []
    raw: dict[str, list] = {}
    notes: dict[str, ColumnNotes] = {}
    for schema_field in schema.fields:
        target = mapping.field_for(schema_field)
        position = mapping.positions.get(target.name)
        if position is None:
            columns[target.name] = [None] * rows
            continue
        raw[target.name] = raw_cells(frame, position)
        notes[target.name] = ColumnNotes()
        values, problems = normalise_column(
            raw[target.name], target, mapping.reading(target, notes[target.name])
        )
        columns[target.name] = values
        errors += [RowError(i, target.label, raw[target.name][i], m) for i, m in problems]
        if target.required and None in values:
            failed = {i for i, _ in problems}
            errors += [
                RowError(i, target.label, None, f"{target.label} is required.")
                for i, v in enumerate(values)
                if v is None and i not in failed
            ]

    if schema.rules:
        normalised = pd.DataFrame(columns)
        for rule in schema.rules:
            broken = np.flatnonzero(rule.check(normalised).to_numpy(dtype=bool))
            label = schema.field(rule.column).label
            errors += [
                RowError(int(i), label, raw.get(rule.column, [None] * rows)[i], rule.message)
                for i in broken
            ]

    duplicates = 0
    if seen is not None:
        usable, repeated = _claim(schema, columns, rows, seen)
        label = key_label(schema)
        for i in compress(usable, repeated):
            key = ", ".join(str(columns[name][i]) for name in schema.natural_key)
            errors.append(RowError(i, label, key, duplicate_message(label, key)))
            duplicates += 1

    errors.sort(key=lambda e: e.position)
    invalid = sorted({e.position for e in errors})
    if invalid:
        keep = np.ones(rows, dtype=bool)
        keep[invalid] = False
        keep_list = keep.tolist()
        columns = {name: list(compress(values, keep_list)) for name, values in columns.items()}
    return ChunkOutcome(
        columns=columns,
        valid=rows - len(invalid),
        invalid_positions=invalid,
        errors=errors,
        duplicates=duplicates,
        notes=notes,
        unread=unread_data(frame, mapping.ignored),
    )
