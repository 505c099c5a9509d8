"""Records exports written by a worker: the view, the format, progress and the stored file

Revision ID: d4a8b6c2e9f3
Revises: c7d3e9f2a5b1
Create Date: 2026-12-07 18:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d4a8b6c2e9f3"
down_revision = "c7d3e9f2a5b1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "record_exports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("view_args", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows_expected", sa.Integer(), nullable=True),
        sa.Column("rows_written", sa.Integer(), nullable=False),
        sa.Column("file_key", sa.String(length=500), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_record_exports_user_created", "record_exports", ["user_id", "created_at"])


def downgrade():
    op.drop_index("ix_record_exports_user_created", table_name="record_exports")
    op.drop_table("record_exports")
