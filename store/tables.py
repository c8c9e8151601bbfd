"""Tables of the platform store. The schema is created by the Alembic migrations, never by
`create_all`, so that a deployed store and a fresh one are the same."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

departments = Table(
    "departments",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("level", String(16), nullable=False),  # PROVINCE 省 / CITY 市 / COUNTY 县区
)

purposes = Table(
    "purposes",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("parent", String(64), ForeignKey("purposes.code"), nullable=True),
)

applications = Table(
    "applications",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("department", String(32), ForeignKey("departments.code"), nullable=False),
    # SHA-256 of the bearer token: tokens are 256-bit random secrets, so a fast hash suffices.
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("role", String(32), nullable=False, default="CONSUMER"),
    Column("active", Boolean, nullable=False, default=True),
)

operators = Table(
    "operators",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(50), nullable=False),  # real name (实名)
    Column("department", String(32), ForeignKey("departments.code"), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

libraries = Table(
    "libraries",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
)

resources = Table(
    "resources",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("library", String(32), ForeignKey("libraries.code"), nullable=False),
    Column("provider", String(32), ForeignKey("departments.code"), nullable=False),
    # The whole declaration (metadata and fields) as written by `schema.loader`; the columns
    # above are what queries filter on.
    Column("declaration", JSON, nullable=False),
)

grants = Table(
    "grants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("application", String(64), ForeignKey("applications.id"), nullable=False),
    Column("resource", String(32), ForeignKey("resources.code"), nullable=False),
    Column("fields", JSON, nullable=False),  # schema coordinates; [] = every conditional field
    Column("purpose", String(64), ForeignKey("purposes.code"), nullable=False),
    Column("modes", JSON, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("status", String(16), nullable=False),  # ACTIVE / SUSPENDED / REVOKED
    Column("mask_fields", JSON, nullable=False, default=list),  # coordinates served masked only
    Column("mask_rules", JSON, nullable=False, default=dict, server_default="{}"),  # coordinate → rule this grant masks it with
    Column("scenario", Text, nullable=False, default=""),
    Column("share_application", String(40), nullable=True),  # the application it was approved from, if any
    Index("ix_grants_application", "application"),
)

# Administrators' mask rules (rules are data): `target` is a coordinate (Person.mobile), a resource
# code or a sensitivity (PERSONAL); `purpose` is a purpose code or `*`.
mask_rules = Table(
    "mask_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", String(100), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("rule", String(200), nullable=False),
    Column("note", Text, nullable=False, default=""),
    UniqueConstraint("target", "purpose", name="uq_mask_rules_target_purpose"),
)

# One row: bumped by every change that alters decisions, so that workers know to reload.
policy_state = Table(
    "policy_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("active_version", Integer, nullable=True),  # the policy version in force; null: the shipped model
)

# Policy versions (policies/versions.py): the Casbin model, the administrators' lines and the
# policy tests, as data. One is ACTIVE at a time; a version never changes once stored.
policy_versions = Table(
    "policy_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", Text, nullable=False),
    Column("lines", Text, nullable=False),
    Column("tests", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("state", String(16), nullable=False),  # DRAFT / ACTIVE / RETIRED
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("activated_at", String(40), nullable=True),
    Column("retired_at", String(40), nullable=True),
)

# Audit push (gateway/push.py): one webhook per department, and the delivery cursor: every record
# of the department's scope with seq <= acked_seq was acknowledged (2xx) by the webhook. A worker
# pushes a department only while it holds the lease, so several workers do not post the same batch.
def _webhook_columns() -> list[Column]:  # type: ignore[type-arg]
    """A webhook and its delivery state; fresh columns for each table that uses them."""
    return [
        Column("department", String(32), ForeignKey("departments.code"), primary_key=True),
        Column("url", Text, nullable=False),
        Column("secret", String(200), nullable=False),  # HMAC key of the signature: kept, not hashed
        Column("acked_seq", Integer, nullable=False, default=0, server_default="0"),
        Column("failures", Integer, nullable=False, default=0, server_default="0"),  # consecutive failed posts
        Column("next_attempt_at", Float, nullable=True),  # epoch seconds; null: due now
        Column("last_error", Text, nullable=True),
        Column("delivered_at", String(40), nullable=True),  # ISO 8601 UTC of the last acknowledged post
        Column("lease_owner", String(64), nullable=True),
        Column("lease_until", Float, nullable=True),  # epoch seconds
    ]


audit_webhooks = Table("audit_webhooks", metadata, *_webhook_columns())


# The application-and-approval workflow (workflow/): one row per share application (共享申请),
# its state and deadlines. `version` grows with every transition: a transition updates the row
# only if the version it read is still current, so of two concurrent decisions one wins.
share_applications = Table(
    "share_applications",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(16), nullable=False),  # NEW / RENEWAL / CONSOLIDATED
    Column("application", String(64), ForeignKey("applications.id"), nullable=True),  # null: CONSOLIDATED
    Column("department", String(32), ForeignKey("departments.code"), nullable=False),
    Column("resource", String(32), ForeignKey("resources.code"), nullable=False),
    Column("provider", String(32), ForeignKey("departments.code"), nullable=False),
    Column("fields", JSON, nullable=False),
    Column("purpose", String(64), ForeignKey("purposes.code"), nullable=False),
    Column("scenario", Text, nullable=False),
    Column("system_name", Text, nullable=False),
    Column("modes", JSON, nullable=False),
    Column("requested_from", Date, nullable=False),
    Column("requested_until", Date, nullable=False),
    Column("materials", JSON, nullable=False),  # [{"name": ..., "reference": ...}]
    Column("state", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("submitted_by", String(64), nullable=False),
    Column("submitted_on", Date, nullable=False),
    Column("check_due", Date, nullable=False),
    Column("forwarded_on", Date, nullable=True),
    Column("reply_due", Date, nullable=True),
    Column("decided_on", Date, nullable=True),
    Column("decision", JSON, nullable=True),  # what the provider approved (fields, modes, period, masking)
    Column("reasons", JSON, nullable=False),  # why it was returned or refused
    Column("grant_id", String(64), nullable=True),
    Column("renews", String(64), nullable=True),  # RENEWAL: the grant it renews
    Column("parent", String(40), nullable=True),  # CONSOLIDATED into this application
    Column("updated_at", String(40), nullable=False),
)

# Notifications (通知): what happened to an application or a grant, in order, for the GraphQL
# feed and the departments' webhooks. `dedupe` keeps a time-triggered event (expiring, overdue)
# from being raised twice by two workers or two sweeps.
workflow_events = Table(
    "workflow_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("share_application", String(40), nullable=True),
    Column("grant_id", String(64), nullable=True),
    Column("consumer", String(32), nullable=True),  # the applying department
    Column("provider", String(32), nullable=True),
    Column("actor", String(64), nullable=True),  # the operator, or null for the platform's own sweep
    Column("detail", JSON, nullable=False),
    Column("dedupe", String(120), nullable=True, unique=True),
)

# Departments' webhooks for notifications: the same columns (and the same pusher) as audit_webhooks.
event_webhooks = Table("event_webhooks", metadata, *_webhook_columns())

# The administrator's extension of the working-day calendar: one State Council notice per year.
calendar_notices = Table(
    "calendar_notices",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("holidays", JSON, nullable=False),  # {"YYYY-MM-DD": name}
    Column("workdays", JSON, nullable=False),  # {"YYYY-MM-DD": name}
    Column("source", Text, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", String(40), nullable=False),
)
