"""The database file store: uploads and error reports kept in chunks

Revision ID: 9d1f6a3c5e88
Revises: 7c4a9e1b3d22
Create Date: 2026-11-30 12:00:00

"""

revision = "9d1f6a3c5e88"
down_revision = "7c4a9e1b3d22"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
