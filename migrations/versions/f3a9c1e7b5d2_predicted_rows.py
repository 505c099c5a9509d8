"""The review's dry run keeps the rows it predicts will be rejected, marked predicted

Revision ID: f3a9c1e7b5d2
Revises: e5b2d8f4a1c6
Create Date: 2026-12-08 01:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f3a9c1e7b5d2"
down_revision = "e5b2d8f4a1c6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("rejected_rows", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("predicted", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.drop_constraint("uq_rejected_rows_job_row", type_="unique")
        batch_op.create_unique_constraint(
            "uq_rejected_rows_job_row", ["import_job_id", "predicted", "row_number"]
        )
        batch_op.drop_index("ix_rejected_rows_job_state")
        batch_op.create_index(
            "ix_rejected_rows_job_state", ["import_job_id", "predicted", "state", "row_number"]
        )


def downgrade():
    op.execute(sa.text("DELETE FROM rejected_rows WHERE predicted"))
    with op.batch_alter_table("rejected_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_rejected_rows_job_state")
        batch_op.create_index(
            "ix_rejected_rows_job_state", ["import_job_id", "state", "row_number"]
        )
        batch_op.drop_constraint("uq_rejected_rows_job_row", type_="unique")
        batch_op.create_unique_constraint(
            "uq_rejected_rows_job_row", ["import_job_id", "row_number"]
        )
        batch_op.drop_column("predicted")
