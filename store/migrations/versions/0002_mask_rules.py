"""Mask rules as data: administrators' overrides, and per-grant rules.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mask_rules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.UniqueConstraint("target", "purpose", name="uq_mask_rules_target_purpose"),
    )
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("mask_rules", sa.JSON, nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("mask_rules")
    op.drop_table("mask_rules")
