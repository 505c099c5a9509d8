"""The monitor: failure kinds and hourly metrics

Revision ID: 7c4a9e1b3d22
Revises: 5b8e2d4f7a10
Create Date: 2026-11-30 12:00:00

"""

revision = "7c4a9e1b3d22"
down_revision = "5b8e2d4f7a10"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
