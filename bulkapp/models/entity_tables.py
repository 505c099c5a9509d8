"""One table per entity type, built from the entity's schema (``bulkapp.entities``)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    UniqueConstraint,
    func,
)

from ..entities import REGISTRY, EntitySchema, Field
from ..extensions import db


def _sql_type(field: Field):
    if field.type == "date":
        return Date()
    if field.type == "integer":
        return Integer()
    if field.type == "decimal":
        return Numeric(14, 2)
    if field.type == "email":
        return String(254)
    if field.type == "phone":
        return String(20)
    return String(field.max_length)


def build_table(schema: EntitySchema) -> Table:
    """The table of ``schema``: its fields, the organisation, audit columns, a unique key."""
    return Table(
        schema.table,
        db.metadata,
        Column("id", Integer, primary_key=True),
        Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False),
        *(
            Column(f.name, _sql_type(f), nullable=not (f.required or f.name in schema.natural_key))
            for f in schema.fields
        ),
        Column("import_job_id", String(36), ForeignKey("import_jobs.id", ondelete="SET NULL")),
        Column("created_at", DateTime, nullable=False, server_default=func.current_timestamp()),
        Column("updated_at", DateTime, nullable=False, server_default=func.current_timestamp()),
        UniqueConstraint(
            "organisation_id", *schema.natural_key, name=f"uq_{schema.table}_organisation_key"
        ),
    )


ENTITY_TABLES: dict[str, Table] = {name: build_table(s) for name, s in REGISTRY.items()}
