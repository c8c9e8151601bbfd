"""The application-and-approval workflow: share applications, notifications and their webhooks,
the calendar's yearly notices, and the application each grant came from.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "share_applications",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("application", sa.String(64), sa.ForeignKey("applications.id"), nullable=True),
        sa.Column("department", sa.String(32), sa.ForeignKey("departments.code"), nullable=False),
        sa.Column("resource", sa.String(32), sa.ForeignKey("resources.code"), nullable=False),
        sa.Column("provider", sa.String(32), sa.ForeignKey("departments.code"), nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("purpose", sa.String(64), sa.ForeignKey("purposes.code"), nullable=False),
        sa.Column("scenario", sa.Text, nullable=False),
        sa.Column("system_name", sa.Text, nullable=False),
        sa.Column("modes", sa.JSON, nullable=False),
        sa.Column("requested_from", sa.Date, nullable=False),
        sa.Column("requested_until", sa.Date, nullable=False),
        sa.Column("materials", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("submitted_by", sa.String(64), nullable=False),
        sa.Column("submitted_on", sa.Date, nullable=False),
        sa.Column("check_due", sa.Date, nullable=False),
        sa.Column("forwarded_on", sa.Date, nullable=True),
        sa.Column("reply_due", sa.Date, nullable=True),
        sa.Column("decided_on", sa.Date, nullable=True),
        sa.Column("decision", sa.JSON, nullable=True),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("grant_id", sa.String(64), nullable=True),
        sa.Column("renews", sa.String(64), nullable=True),
        sa.Column("parent", sa.String(40), nullable=True),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "workflow_events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("share_application", sa.String(40), nullable=True),
        sa.Column("grant_id", sa.String(64), nullable=True),
        sa.Column("consumer", sa.String(32), nullable=True),
        sa.Column("provider", sa.String(32), nullable=True),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("dedupe", sa.String(120), nullable=True, unique=True),
    )
    op.create_table(
        "event_webhooks",
        sa.Column("department", sa.String(32), sa.ForeignKey("departments.code"), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("acked_seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Float, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("delivered_at", sa.String(40), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.Float, nullable=True),
    )
    op.create_table(
        "calendar_notices",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("holidays", sa.JSON, nullable=False),
        sa.Column("workdays", sa.JSON, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
    )
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("share_application", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("share_application")
    for name in ("calendar_notices", "event_webhooks", "workflow_events", "share_applications"):
        op.drop_table(name)
