"""The monitor: failure kinds and hourly metrics

Revision ID: 7c4a9e1b3d22
Revises: 5b8e2d4f7a10
Create Date: 2026-11-30 12:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "7c4a9e1b3d22"
down_revision = "5b8e2d4f7a10"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failure_kind", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("estimated_rows", sa.Integer(), nullable=True))
    op.create_table(
        "queue_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("queue_name", sa.String(length=100), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("rows_stored", sa.Integer(), nullable=False),
        sa.Column("wait_p50_ms", sa.Integer(), nullable=True),
        sa.Column("wait_p95_ms", sa.Integer(), nullable=True),
        sa.Column("run_p50_ms", sa.Integer(), nullable=True),
        sa.Column("run_p95_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_queue_hours_hour_org", "queue_hours", ["hour", "organisation_id"], unique=False
    )


def downgrade():
    op.drop_index("ix_queue_hours_hour_org", table_name="queue_hours")
    op.drop_table("queue_hours")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_column("estimated_rows")
        batch_op.drop_column("failure_kind")
