"""Undo: an import job may take back a completed import (import_jobs.undoes_job_id)

Revision ID: e5b2d8f4a1c6
Revises: e5b9c3d7a1f2
Create Date: 2026-12-07 20:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e5b2d8f4a1c6"
down_revision = "e5b9c3d7a1f2"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        # SQLite takes a REFERENCES clause in ADD COLUMN; batch mode would copy import_jobs,
        # and dropping the old table would cascade to the rows that refer to it.
        op.execute(
            "ALTER TABLE import_jobs ADD COLUMN undoes_job_id VARCHAR(36) "
            "REFERENCES import_jobs (id)"
        )
    else:
        op.add_column("import_jobs", sa.Column("undoes_job_id", sa.String(36), nullable=True))
        op.create_foreign_key(
            "import_jobs_undoes_job_id_fkey",
            "import_jobs",
            "import_jobs",
            ["undoes_job_id"],
            ["id"],
        )
    op.create_index("uq_import_jobs_undoes_job", "import_jobs", ["undoes_job_id"], unique=True)


def downgrade():
    op.drop_index("uq_import_jobs_undoes_job", table_name="import_jobs")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("import_jobs_undoes_job_id_fkey", "import_jobs", type_="foreignkey")
    op.drop_column("import_jobs", "undoes_job_id")
