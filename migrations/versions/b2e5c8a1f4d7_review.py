"""Review before commit: saved mappings, the analysis of an upload and the review state

Revision ID: b2e5c8a1f4d7
Revises: 9d1f6a3c5e88
Create Date: 2026-11-30 12:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b2e5c8a1f4d7"
down_revision = "9d1f6a3c5e88"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "saved_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("header_signature", sa.String(length=64), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "organisation_id", "entity_type", "header_signature", name="uq_saved_mappings_headers"
        ),
    )
    op.create_index(
        "ix_saved_mappings_organisation_id", "saved_mappings", ["organisation_id"], unique=False
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("phase", sa.String(length=20), nullable=False, server_default="import")
        )
        batch_op.add_column(
            sa.Column(
                "review_policy", sa.String(length=20), nullable=False, server_default="always"
            )
        )
        batch_op.add_column(
            sa.Column("detect_entity", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("analysis", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("mapping", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("saved_mapping_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_import_jobs_saved_mapping_id",
            "saved_mappings",
            ["saved_mapping_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # The defaults were only there to fill existing rows; the models supply the values.
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.alter_column("phase", server_default=None)
        batch_op.alter_column("review_policy", server_default=None)
        batch_op.alter_column("detect_entity", server_default=None)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "import_when_certain", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("import_when_certain", server_default=None)


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("import_when_certain")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_import_jobs_saved_mapping_id", type_="foreignkey")
        batch_op.drop_column("saved_mapping_id")
        batch_op.drop_column("mapping")
        batch_op.drop_column("analysis")
        batch_op.drop_column("detect_entity")
        batch_op.drop_column("review_policy")
        batch_op.drop_column("phase")
    op.drop_index("ix_saved_mappings_organisation_id", table_name="saved_mappings")
    op.drop_table("saved_mappings")
