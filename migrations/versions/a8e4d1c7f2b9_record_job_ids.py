"""Records keep the ids of the imports that inserted and last changed them without foreign
keys: jobs are never deleted, and checking both ids of every row took a third of a
PostgreSQL import's writing time

Revision ID: a8e4d1c7f2b9
Revises: f3c8a1d6b2e7
Create Date: 2026-12-08 01:00:00

"""

from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "a8e4d1c7f2b9"
down_revision = "f3c8a1d6b2e7"
branch_labels = None
depends_on = None

ENTITY_TABLES = ("mechanics", "members", "policies", "service_providers")
# SQLite's foreign keys have no names: batch mode names them by this convention.
NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s"}


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
    with op.batch_alter_table(table, naming_convention=NAMES) as batch_op:
        yield batch_op
    if saved:
        kept = {name for name, _ in bind.execute(indexes, {"table": table})}
        for name, sql in saved:
            if name not in kept:
                bind.execute(sa.text(sql))


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in ENTITY_TABLES:
        with altering(table) as batch_op:
            imported = f"{table}_import_job_id_fkey" if postgresql else f"fk_{table}_import_job_id"
            batch_op.drop_constraint(imported, type_="foreignkey")
            batch_op.drop_constraint(f"fk_{table}_created_job_id", type_="foreignkey")


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in ENTITY_TABLES:
        with altering(table) as batch_op:
            imported = f"{table}_import_job_id_fkey" if postgresql else f"fk_{table}_import_job_id"
            batch_op.create_foreign_key(
                imported, "import_jobs", ["import_job_id"], ["id"], ondelete="SET NULL"
            )
            batch_op.create_foreign_key(
                f"fk_{table}_created_job_id",
                "import_jobs",
                ["created_job_id"],
                ["id"],
                ondelete="SET NULL",
            )
