"""The change log: the import that inserted each record, and record_changes

Revision ID: c7d3e9f1a2b4
Revises: c7d3f9a2e6b1
Create Date: 2026-12-04 12:00:00

"""

from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "c7d3e9f1a2b4"
down_revision = "c7d3f9a2e6b1"
branch_labels = None
depends_on = None

ENTITY_TABLES = ("mechanics", "members", "policies", "service_providers")


@contextmanager
def altering(table):
    """``batch_alter_table`` that keeps the table's indexes on expressions (the records search
    indexes): SQLite's batch mode copies the table without them."""
    bind = op.get_bind()
    indexes = sa.text(
        "SELECT name, sql FROM sqlite_master "
        "WHERE type = 'index' AND tbl_name = :table AND sql IS NOT NULL"
    )
    sqlite = bind.dialect.name == "sqlite"
    saved = bind.execute(indexes, {"table": table}).all() if sqlite else []
    with op.batch_alter_table(table, schema=None) as batch_op:
        yield batch_op
    if saved:
        kept = {name for name, _ in bind.execute(indexes, {"table": table})}
        for name, sql in saved:
            if name not in kept:
                bind.execute(sa.text(sql))


def upgrade():
    for table in ENTITY_TABLES:
        with altering(table) as batch_op:
            batch_op.add_column(sa.Column("created_job_id", sa.String(length=36), nullable=True))
            batch_op.create_foreign_key(
                f"fk_{table}_created_job_id",
                "import_jobs",
                ["created_job_id"],
                ["id"],
                ondelete="SET NULL",
            )
    op.create_table(
        "record_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("import_job_id", sa.String(length=36), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["import_job_id"], ["import_jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_record_changes_job", "record_changes", ["import_job_id", "id"])
    op.create_index("ix_record_changes_record", "record_changes", ["entity_type", "record_id"])


def downgrade():
    op.drop_index("ix_record_changes_record", table_name="record_changes")
    op.drop_index("ix_record_changes_job", table_name="record_changes")
    op.drop_table("record_changes")
    for table in ENTITY_TABLES:
        with altering(table) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_created_job_id", type_="foreignkey")
            batch_op.drop_column("created_job_id")
