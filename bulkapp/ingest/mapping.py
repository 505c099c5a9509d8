"""Map a file's header row to an entity's fields (aliases; case, spaces, ``_``, ``-`` ignored)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..entities import EntitySchema, header_key
from .errors import COLUMNS, ImportFailed


@dataclass(frozen=True)
class ColumnMapping:
    """Which column of the file feeds which field.

    Attributes:
        positions: field name → position of its column in the file.
        warnings: messages for the user about columns that were ignored.
    """

    positions: dict[str, int]
    warnings: list[str] = field(default_factory=list)


def _lookup(schema: EntitySchema) -> dict[str, str]:
    return {key: f.name for f in schema.fields for key in f.header_keys}


def header_scorer(schema: EntitySchema) -> Callable[[Sequence[object]], int]:
    """A function counting how many cells of a row name distinct fields of ``schema``.

    Readers use it to find the header row below title rows.
    """
    lookup = _lookup(schema)

    def score(cells: Sequence[object]) -> int:
        return len(
            {lookup[k] for k in (header_key(c) for c in cells if c is not None) if k in lookup}
        )

    return score


def _describe_expected(schema: EntitySchema) -> str:
    return ", ".join(f"{f.label}{' (required)' if f.required else ''}" for f in schema.fields)


def map_headers(schema: EntitySchema, headers: Sequence[str | None]) -> ColumnMapping:
    """Match ``headers`` to ``schema``'s fields.

    Unknown columns become warnings; empty header cells are ignored.

    Raises:
        ImportFailed: two columns map to one field, or required columns are missing.
    """
    lookup = _lookup(schema)
    positions: dict[str, int] = {}
    sources: dict[str, list[str]] = {}
    unknown: list[str] = []
    for position, raw in enumerate(headers):
        text = "" if raw is None else str(raw).strip()
        if not text:
            continue
        name = lookup.get(header_key(text))
        if name is None:
            unknown.append(text)
            continue
        sources.setdefault(name, []).append(text)
        positions.setdefault(name, position)

    clashes = {name: cols for name, cols in sources.items() if len(cols) > 1}
    if clashes:
        described = "; ".join(
            f"{' and '.join(repr(c) for c in cols)} are all {schema.field(name).label}"
            for name, cols in clashes.items()
        )
        raise ImportFailed(
            f"Duplicate columns: {described}. Keep one column for each field "
            "and upload the file again.",
            COLUMNS,
        )

    missing = [f.label for f in schema.required_fields if f.name not in positions]
    if missing:
        raise ImportFailed(
            f"Missing required column(s): {', '.join(missing)}. "
            f"Expected columns: {_describe_expected(schema)}.",
            COLUMNS,
        )

    warnings = [f"Unknown column {name!r} was ignored." for name in unknown]
    return ColumnMapping(positions=positions, warnings=warnings)
