"""Policy versions: the Casbin model, the administrators' lines and the policy tests as data, and
the version in force.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("lines", sa.Text, nullable=False),
        sa.Column("tests", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("activated_at", sa.String(40), nullable=True),
        sa.Column("retired_at", sa.String(40), nullable=True),
    )
    with op.batch_alter_table("policy_state") as batch:
        batch.add_column(sa.Column("active_version", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("policy_state") as batch:
        batch.drop_column("active_version")
    op.drop_table("policy_versions")
