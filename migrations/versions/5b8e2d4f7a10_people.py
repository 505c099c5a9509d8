"""People and access: users' sign-in details, invitations, password resets and the audit log

Revision ID: 5b8e2d4f7a10
Revises: 3f2b7c1d9e41
Create Date: 2026-11-30 12:00:00

"""

revision = "5b8e2d4f7a10"
down_revision = "3f2b7c1d9e41"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
