"""What a records view can sort by and filter on, read from the entity's schema.

Sorting is offered on what has an index (so that a page is a walk along it): when a record
was added, and each searched field. Filters exist for every field: a list of its choices for
an enum, a range for dates and numbers, "starts with" for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, RowMapping, Table

from ..entities import EntitySchema, Field
from ..models import ENTITY_TABLES
from ..models.entity_tables import STORED_FOLDED, folded

ADDED = "added"
FilterKind = Literal["choice", "range", "prefix"]
RANGE_TYPES = frozenset({"date", "integer", "decimal"})


@dataclass(frozen=True)
class SortKey:
    """An order of the records: ``name`` as the API and the URL write it (``added`` or a
    field's label), ``expression`` as the index holds it; ``unique`` keys need no tie-break."""

    name: str
    label: str
    expression: ColumnElement
    unique: bool


@dataclass(frozen=True)
class FieldFilter:
    """How one field is filtered; ``indexed`` prefixes are ranges of a byte-ordered index."""

    field: Field
    kind: FilterKind
    indexed: bool = False

    @property
    def name(self) -> str:
        """The URL's and the API's name of the filter: the field's label."""
        return self.field.label


def entity_table(schema: EntitySchema) -> Table:
    """The table holding ``schema``'s records."""
    return ENTITY_TABLES[schema.name]


def sort_keys(schema: EntitySchema) -> dict[str, SortKey]:
    """Every order a view of ``schema`` may take, by name; ``added`` first."""
    table = entity_table(schema)
    keys = {ADDED: SortKey(ADDED, "Added", table.c.id, unique=True)}
    for field in schema.search_fields:
        unique = schema.natural_key == (field.name,) and field.type in STORED_FOLDED
        keys[field.label] = SortKey(field.label, field.label, folded(table, field), unique)
    return keys


def field_filters(schema: EntitySchema) -> dict[str, FieldFilter]:
    """The filter of every field of ``schema``, by name (the field's label)."""
    searched = {f.name for f in schema.search_fields}
    filters = {}
    for field in schema.fields:
        if field.type == "enum":
            kind: FilterKind = "choice"
        elif field.type in RANGE_TYPES:
            kind = "range"
        else:
            kind = "prefix"
        filters[field.label] = FieldFilter(field, kind, indexed=field.name in searched)
    return filters


def json_value(value: Any) -> str | int | None:
    """A stored value as the API writes it: dates in ISO form, decimals as text (exactly as
    stored, never through a float), whole numbers as numbers."""
    if value is None or isinstance(value, int | str):
        return value
    if isinstance(value, date | Decimal):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return str(value)


def labelled_values(schema: EntitySchema, row: RowMapping) -> dict[str, str | int | None]:
    """The fields of the record ``row`` by label (``firstName``), as the API writes them."""
    return {f.label: json_value(row[f.name]) for f in schema.fields}
