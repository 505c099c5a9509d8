"""Outgoing mails: invitations and password resets kept until a worker has sent them

Revision ID: c7d3f9a2e6b1
Revises: d4a8b6c2e9f3
Create Date: 2026-12-07 17:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c7d3f9a2e6b1"
down_revision = "d4a8b6c2e9f3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outgoing_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_outgoing_mails_unsent", "outgoing_mails", ["sent_at", "created_at"], unique=False
    )


def downgrade():
    op.drop_index("ix_outgoing_mails_unsent", table_name="outgoing_mails")
    op.drop_table("outgoing_mails")
