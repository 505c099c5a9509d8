"""One table per entity type, built from the entity's schema (``bulkapp.entities``).

Besides its unique natural key, each table has an index on ``(organisation_id, id)`` (the
records page's default order: newest first) and one per searched field (the schema's
``search_fields``) on ``(organisation_id, <the field folded>, id)``: the records page's
prefix search, sort and keyset pages walk it. A field is folded to lower case (e-mail
addresses, phone and ID numbers are stored normalised already, so as they are) and NULL to
``''``, so that the order has no NULLs in it. On PostgreSQL the searched columns compare
byte by byte (collation ``C``), as SQLite's do, so a prefix is a range of the index
whatever the database's locale.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.types import TypeEngine

from ..entities import REGISTRY, EntitySchema, Field
from ..extensions import db

# Field types whose values the pipeline stores normalised (lower case, digits): searched as
# they are.
STORED_FOLDED = frozenset({"email", "phone", "sa_id"})


def _text(length: int, byte_ordered: bool) -> TypeEngine:
    if not byte_ordered:
        return String(length)
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def _sql_type(field: Field, searched: bool) -> TypeEngine:
    if field.type == "date":
        return Date()
    if field.type == "integer":
        return Integer()
    if field.type == "decimal":
        return Numeric(14, 2)
    if field.type == "email":
        return _text(254, searched)
    if field.type == "phone":
        return _text(20, searched)
    return _text(field.max_length, searched)


def folded(table: Table, field: Field) -> ColumnElement:
    """``field``'s column as the records search compares and sorts it (see the module)."""
    column = table.c[field.name]
    value: ColumnElement = column if field.type in STORED_FOLDED else func.lower(column)
    return func.coalesce(value, literal_column("''")) if column.nullable else value


def has_own_search_index(schema: EntitySchema, field: Field) -> bool:
    """False for a natural key searched as stored: its unique index serves the search."""
    return not (schema.natural_key == (field.name,) and field.type in STORED_FOLDED)


def build_table(schema: EntitySchema) -> Table:
    """The table of ``schema``: its fields, the organisation, the imports that inserted and
    last changed each record, timestamps, a unique key and the search indexes."""
    searched = {f.name for f in schema.search_fields}
    table = Table(
        schema.table,
        db.metadata,
        Column("id", Integer, primary_key=True),
        Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False),
        *(
            Column(
                f.name,
                _sql_type(f, f.name in searched),
                nullable=not (f.required or f.name in schema.natural_key),
            )
            for f in schema.fields
        ),
        # The import that last changed the record, and the one that inserted it. No foreign
        # keys: jobs are never deleted, and checking both ids of every row took a third of a
        # PostgreSQL import's writing time.
        Column("import_job_id", String(36)),
        Column("created_job_id", String(36)),
        Column("created_at", DateTime, nullable=False, server_default=func.current_timestamp()),
        Column("updated_at", DateTime, nullable=False, server_default=func.current_timestamp()),
        UniqueConstraint(
            "organisation_id", *schema.natural_key, name=f"uq_{schema.table}_organisation_key"
        ),
    )
    # The records page's default order, newest first, within the organisation.
    Index(f"ix_{schema.table}_organisation_added", table.c.organisation_id, table.c.id)
    for field in schema.search_fields:
        if has_own_search_index(schema, field):
            Index(
                search_index_name(schema, field),
                table.c.organisation_id,
                folded(table, field),
                table.c.id,
            )
    return table


def search_index_name(schema: EntitySchema, field: Field) -> str:
    """The name of ``field``'s search index, e.g. ``ix_mechanics_search_last_name``."""
    return f"ix_{schema.table}_search_{field.name}"


ENTITY_TABLES: dict[str, Table] = {name: build_table(s) for name, s in REGISTRY.items()}
