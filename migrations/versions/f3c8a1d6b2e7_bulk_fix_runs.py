"""Bulk fixes run by a worker: the change, the rows it covers and how far it got

Revision ID: f3c8a1d6b2e7
Revises: f3a9c1e7b5d2
Create Date: 2026-12-08 01:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f3c8a1d6b2e7"
down_revision = "f3a9c1e7b5d2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bulk_fix_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("import_job_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("file_column", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("find", sa.Text(), nullable=False),
        sa.Column("filter_reason", sa.String(length=500), nullable=True),
        sa.Column("filter_column", sa.Integer(), nullable=True),
        sa.Column("filter_state", sa.String(length=10), nullable=True),
        sa.Column("rows", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows_expected", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("rows_changed", sa.Integer(), nullable=False),
        sa.Column("after_row", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["import_job_id"], ["import_jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bulk_fix_runs_job_status", "bulk_fix_runs", ["import_job_id", "status"])


def downgrade():
    op.drop_index("ix_bulk_fix_runs_job_status", table_name="bulk_fix_runs")
    op.drop_table("bulk_fix_runs")
