"""The platform store: departments, purposes, applications, operators, catalog, grants.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
    )
    op.create_table(
        "purposes",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("parent", sa.String(64), sa.ForeignKey("purposes.code"), nullable=True),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("department", sa.String(32), sa.ForeignKey("departments.code"), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "operators",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("department", sa.String(32), sa.ForeignKey("departments.code"), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "libraries",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
    )
    op.create_table(
        "resources",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("library", sa.String(32), sa.ForeignKey("libraries.code"), nullable=False),
        sa.Column("provider", sa.String(32), sa.ForeignKey("departments.code"), nullable=False),
        sa.Column("declaration", sa.JSON, nullable=False),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("application", sa.String(64), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("resource", sa.String(32), sa.ForeignKey("resources.code"), nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("purpose", sa.String(64), sa.ForeignKey("purposes.code"), nullable=False),
        sa.Column("modes", sa.JSON, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_until", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("mask_fields", sa.JSON, nullable=False),
        sa.Column("scenario", sa.Text, nullable=False),
    )
    op.create_index("ix_grants_application", "grants", ["application"])
    op.create_table(
        "policy_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.execute("INSERT INTO policy_state (id, revision) VALUES (1, 1)")


def downgrade() -> None:
    for table in ("policy_state", "grants", "resources", "libraries", "operators", "applications", "purposes",
                  "departments"):
        op.drop_table(table)
