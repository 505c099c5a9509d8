"""Records pages: an index for newest first and one per searched field; searched columns
byte-ordered on PostgreSQL

Revision ID: c7d3e9f2a5b1
Revises: b2e5c8a1f4d7
Create Date: 2026-12-07 16:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c7d3e9f2a5b1"
down_revision = "b2e5c8a1f4d7"
branch_labels = None
depends_on = None

# (table, column, length, nullable, the folded expression indexed; None: the unique key's
# index serves it)
SEARCHED = [
    ("mechanics", "email", 254, False, None),
    ("mechanics", "first_name", 100, False, "lower(first_name)"),
    ("mechanics", "last_name", 100, False, "lower(last_name)"),
    ("mechanics", "mobile_number", 20, False, "mobile_number"),
    ("members", "id_number", 13, False, None),
    ("members", "first_name", 100, False, "lower(first_name)"),
    ("members", "last_name", 100, False, "lower(last_name)"),
    ("members", "email", 254, True, "coalesce(email, '')"),
    ("members", "mobile_number", 20, True, "coalesce(mobile_number, '')"),
    ("policies", "policy_number", 50, False, "lower(policy_number)"),
    ("policies", "holder_name", 200, True, "coalesce(lower(holder_name), '')"),
    ("policies", "holder_email", 254, True, "coalesce(holder_email, '')"),
    ("service_providers", "email", 254, False, None),
    ("service_providers", "name", 200, False, "lower(name)"),
    ("service_providers", "contact_person", 150, True, "coalesce(lower(contact_person), '')"),
    ("service_providers", "phone", 20, True, "coalesce(phone, '')"),
]


def _collate(collation):
    """On PostgreSQL, give the searched columns ``collation`` (None: the database's)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, length, nullable, _ in SEARCHED:
        op.alter_column(
            table,
            column,
            existing_type=sa.String(length),
            type_=sa.String(length, collation=collation),
            existing_nullable=nullable,
        )


TABLES = ("mechanics", "members", "policies", "service_providers")


def upgrade():
    _collate("C")
    for table in TABLES:
        op.create_index(f"ix_{table}_organisation_added", table, ["organisation_id", "id"])
    for table, column, _, _, expression in SEARCHED:
        if expression is not None:
            op.create_index(
                f"ix_{table}_search_{column}",
                table,
                ["organisation_id", sa.text(expression), "id"],
            )


def downgrade():
    for table, column, _, _, expression in SEARCHED:
        if expression is not None:
            op.drop_index(f"ix_{table}_search_{column}", table_name=table)
    for table in TABLES:
        op.drop_index(f"ix_{table}_organisation_added", table_name=table)
    _collate(None)
