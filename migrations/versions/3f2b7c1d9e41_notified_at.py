"""import_jobs.notified_at: notifications survive a Redis outage

Revision ID: 3f2b7c1d9e41
Revises: ad4bea1c9a77
Create Date: 2026-11-30 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "3f2b7c1d9e41"
down_revision = "ad4bea1c9a77"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notified_at", sa.DateTime(), nullable=True))
    # Jobs that finished before this column existed were notified then.
    op.execute("UPDATE import_jobs SET notified_at = finished_at WHERE finished_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_column("notified_at")
