"""Rejected rows kept per job (the error report and the fix page are built from them)

Revision ID: c4f1a7d2e9b3
Revises: c7d3e9f1a2b4
Create Date: 2026-12-07 12:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c4f1a7d2e9b3"
down_revision = "c7d3e9f1a2b4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rejected_rows",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("import_job_id", sa.String(length=36), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("natural_key", sa.String(length=300), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("fixed_cells", sa.JSON(), nullable=True),
        sa.Column("fix_errors", sa.JSON(), nullable=True),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["import_job_id"], ["import_jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("import_job_id", "row_number", name="uq_rejected_rows_job_row"),
    )
    op.create_index(
        "ix_rejected_rows_job_state", "rejected_rows", ["import_job_id", "state", "row_number"]
    )
    op.create_index("ix_rejected_rows_job_key", "rejected_rows", ["import_job_id", "natural_key"])
    op.create_table(
        "rejected_row_problems",
        sa.Column("import_job_id", sa.String(length=36), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("file_column", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["import_job_id"], ["import_jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("import_job_id", "row_number", "position"),
    )
    op.create_index(
        "ix_rejected_row_problems_reason",
        "rejected_row_problems",
        ["import_job_id", "reason", "row_number"],
    )
    op.create_index(
        "ix_rejected_row_problems_column",
        "rejected_row_problems",
        ["import_job_id", "file_column", "row_number"],
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rejected_rows_kept", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("file_layout", sa.JSON(), nullable=True))
    # The default was only there to fill existing rows; the model supplies the value.
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.alter_column("rejected_rows_kept", server_default=None)


def downgrade():
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_column("file_layout")
        batch_op.drop_column("rejected_rows_kept")
    op.drop_index("ix_rejected_row_problems_column", table_name="rejected_row_problems")
    op.drop_index("ix_rejected_row_problems_reason", table_name="rejected_row_problems")
    op.drop_table("rejected_row_problems")
    op.drop_index("ix_rejected_rows_job_key", table_name="rejected_rows")
    op.drop_index("ix_rejected_rows_job_state", table_name="rejected_rows")
    op.drop_table("rejected_rows")
