"""A follow-up job of fixed rows links the job whose rejected rows it sends

Revision ID: e5b9c3d7a1f2
Revises: c4f1a7d2e9b3
Create Date: 2026-12-07 20:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e5b9c3d7a1f2"
down_revision = "c4f1a7d2e9b3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fixes_job_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            "fk_import_jobs_fixes_job_id", "import_jobs", ["fixes_job_id"], ["id"]
        )
        batch_op.create_index("ix_import_jobs_fixes_job_id", ["fixes_job_id"])


def downgrade():
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_import_jobs_fixes_job_id")
        batch_op.drop_constraint("fk_import_jobs_fixes_job_id", type_="foreignkey")
        batch_op.drop_column("fixes_job_id")
