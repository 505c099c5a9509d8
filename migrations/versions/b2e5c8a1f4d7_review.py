"""Review before commit: saved mappings, the analysis of an upload and the review state

Revision ID: b2e5c8a1f4d7
Revises: 9d1f6a3c5e88
Create Date: 2026-11-30 12:00:00

"""

revision = "b2e5c8a1f4d7"
down_revision = "9d1f6a3c5e88"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
