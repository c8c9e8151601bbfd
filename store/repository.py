"""Reading and writing the platform store. The rest of the product sees dataclasses, not rows."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from policies.grants import Grant, GrantStatus
from policies.mask_rules import MaskOverride
from schema.catalog import Catalog
from schema.loader import parse_documents
from store import tables as t

Bind = AsyncEngine | AsyncConnection  # readers take either: a connection reads inside its transaction


@asynccontextmanager
async def reading(bind: Bind) -> AsyncIterator[AsyncConnection]:
    if isinstance(bind, AsyncConnection):
        yield bind
    else:
        async with bind.connect() as conn:
            yield conn


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    level: str


@dataclass(frozen=True)
class Application:
    id: str
    name: str
    department: str
    role: str
    active: bool


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    department: str
    active: bool


@dataclass(frozen=True)
class Purpose:
    code: str
    name: str
    parent: str | None


@dataclass(frozen=True)
class Principals:
    """Who may call: applications by token digest, operators, purposes, departments."""

    departments: dict[str, Department]
    applications_by_token: dict[str, Application]
    operators: dict[str, Operator]
    purposes: dict[str, Purpose]

    @property
    def department_names(self) -> dict[str, str]:
        return {d.code: d.name for d in self.departments.values()}

    def active_operator(self, claimed: str) -> str | None:
        """The id of the registered, active operator `claimed` names, or None: every administrative
        operation is done, and audited, by real name."""
        known = self.operators.get(claimed.strip())
        return known.id if known is not None and known.active else None

    def application_departments(self) -> dict[str, str]:
        return {a.id: a.department for a in self.applications_by_token.values()}


async def load_principals(bind: Bind) -> Principals:
    async with reading(bind) as conn:
        departments = {r.code: Department(r.code, r.name, r.level) for r in await conn.execute(select(t.departments))}
        applications = {
            r.token_sha256: Application(r.id, r.name, r.department, r.role, r.active)
            for r in await conn.execute(select(t.applications))
        }
        operators = {r.id: Operator(r.id, r.name, r.department, r.active) for r in await conn.execute(select(t.operators))}
        purposes = {r.code: Purpose(r.code, r.name, r.parent) for r in await conn.execute(select(t.purposes))}
    return Principals(departments, applications, operators, purposes)


async def load_catalog(bind: Bind) -> Catalog:
    async with reading(bind) as conn:
        libraries = {r.code: {"code": r.code, "name": r.name, "kind": r.kind} for r in await conn.execute(select(t.libraries))}
        by_library: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in await conn.execute(select(t.resources).order_by(t.resources.c.code)):
            by_library[r.library].append(r.declaration)
    return parse_documents(
        (f"store:{code}", {"library": lib, "resources": by_library.get(code, [])}) for code, lib in sorted(libraries.items())
    )


async def save_catalog(conn: AsyncConnection, documents: list[dict[str, Any]]) -> None:
    """Store catalog declarations (as read from the TOML files); the caller validated them."""
    for doc in documents:
        await conn.execute(t.libraries.insert().values(**doc["library"]))
        for resource in doc.get("resources", []):
            declaration = _jsonable(resource)
            await conn.execute(t.resources.insert().values(
                code=resource["code"], library=doc["library"]["code"], provider=resource["provider"],
                declaration=declaration,
            ))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


async def load_grants(bind: Bind) -> list[Grant]:
    async with reading(bind) as conn:
        rows = await conn.execute(select(t.grants).order_by(t.grants.c.id))
        return [
            Grant(
                id=r.id, application=r.application, resource=r.resource, fields=tuple(r.fields), purpose=r.purpose,
                modes=tuple(r.modes), valid_from=r.valid_from, valid_until=r.valid_until,
                status=GrantStatus(r.status), mask_fields=tuple(r.mask_fields or ()),
                mask_rules=dict(sorted((r.mask_rules or {}).items())),
            )
            for r in rows
        ]


async def insert_grant(conn: AsyncConnection, grant: Grant, scenario: str = "", share_application: str | None = None) -> None:
    await conn.execute(t.grants.insert().values(
        id=grant.id, application=grant.application, resource=grant.resource, fields=list(grant.fields),
        purpose=grant.purpose, modes=list(grant.modes), valid_from=grant.valid_from, valid_until=grant.valid_until,
        status=grant.status.value, mask_fields=list(grant.mask_fields), mask_rules=dict(grant.mask_rules),
        scenario=scenario, share_application=share_application,
    ))
    await bump_policy_revision(conn)


async def set_grant_status(engine: AsyncEngine, grant_id: str, status: GrantStatus) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(t.grants).where(t.grants.c.id == grant_id).values(status=status.value))
        await bump_policy_revision(conn)


async def load_mask_overrides(bind: Bind) -> list[MaskOverride]:
    async with reading(bind) as conn:
        rows = await conn.execute(select(t.mask_rules).order_by(t.mask_rules.c.id))
        return [MaskOverride(r.id, r.target, r.purpose, r.rule, r.note) for r in rows]


async def set_mask_override(conn: AsyncConnection, target: str, purpose: str, rule: str, note: str = "") -> MaskOverride:
    """Store an administrator's rule (replacing the one for the same target and purpose) in the
    caller's transaction; the caller validated it (`policies.mask_rules.check_override`)."""
    table = t.mask_rules
    where = (table.c.target == target) & (table.c.purpose == purpose)
    existing = (await conn.execute(select(table.c.id).where(where))).scalar_one_or_none()
    if existing is None:
        result = await conn.execute(table.insert().values(target=target, purpose=purpose, rule=rule, note=note))
        existing = result.inserted_primary_key[0]
    else:
        await conn.execute(update(table).where(table.c.id == existing).values(rule=rule, note=note))
    await bump_policy_revision(conn)
    return MaskOverride(int(existing), target, purpose, rule, note)


async def remove_mask_override(conn: AsyncConnection, target: str, purpose: str) -> bool:
    table = t.mask_rules
    result = await conn.execute(delete(table).where((table.c.target == target) & (table.c.purpose == purpose)))
    if result.rowcount:
        await bump_policy_revision(conn)
    return bool(result.rowcount)


POLICY_NOTIFY_CHANNEL = "gateway_policy"  # PostgreSQL LISTEN/NOTIFY channel of policy changes (gateway.fanout)


async def bump_policy_revision(conn: AsyncConnection) -> None:
    """Move the policy revision, in the caller's transaction (every change that alters decisions
    calls this). On PostgreSQL it also queues a NOTIFY on `gateway_policy` carrying the new
    revision: delivered to the listening workers when (and only if) the transaction commits."""
    bump = update(t.policy_state).where(t.policy_state.c.id == 1).values(revision=t.policy_state.c.revision + 1)
    if conn.dialect.name != "postgresql":
        await conn.execute(bump)
        return
    revision = (await conn.execute(bump.returning(t.policy_state.c.revision))).scalar_one_or_none()
    await conn.execute(select(func.pg_notify(POLICY_NOTIFY_CHANNEL, str(revision or 0))))


async def policy_revision(bind: Bind) -> int:
    async with reading(bind) as conn:
        return int((await conn.execute(select(func.max(t.policy_state.c.revision)))).scalar_one() or 0)


@dataclass(frozen=True)
class PolicySnapshot:
    """Everything the policy is built from, as of one policy revision: never grants of one
    revision beside mask rules of the next. Extend it here when the policy gains a source."""

    revision: int
    principals: Principals
    grants: list[Grant]
    mask_overrides: list[MaskOverride]
    version: Any = None  # store.policy.StoredVersion in force, or None: the shipped model


class PolicyChurn(RuntimeError):
    """The policy revision kept moving while it was read: no consistent snapshot was taken."""


SNAPSHOT_ATTEMPTS = 5


async def load_policy_snapshot(engine: AsyncEngine, attempts: int = SNAPSHOT_ATTEMPTS) -> PolicySnapshot:
    """The principals, grants and mask overrides of one policy revision.

    Every policy write bumps the revision in its own transaction, so reading the revision
    before and after the rest shows whether a write committed in between: if it did, read
    again. On PostgreSQL the reads also share one REPEATABLE READ transaction (one MVCC
    snapshot), so the revision cannot move under them at all."""
    for _ in range(attempts):
        async with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                snapshot = await read_policy_snapshot(conn)
                after = await policy_revision(conn)
        if snapshot.revision == after:
            return snapshot
    raise PolicyChurn(f"the policy revision moved during each of {attempts} reads")


async def read_policy_snapshot(bind: Bind) -> PolicySnapshot:
    """Every source of the policy, read once on `bind` (inside a transaction: as it will be once
    committed); `load_policy_snapshot` makes sure they belong to one revision."""
    from store.policy import active_version  # store.policy builds on this module

    async with reading(bind) as conn:
        return PolicySnapshot(await policy_revision(conn), await load_principals(conn), await load_grants(conn),
                              await load_mask_overrides(conn), await active_version(conn))


async def load_application(bind: Bind, application_id: str) -> Application | None:
    """One application by id, as the store holds it now (its role and department decide what
    audit records it may read)."""
    async with reading(bind) as conn:
        r = (await conn.execute(select(t.applications).where(t.applications.c.id == application_id))).first()
    return Application(r.id, r.name, r.department, r.role, r.active) if r else None


@dataclass(frozen=True)
class Webhook:
    """Where a department's slice of a feed (the audit trail, or workflow notifications) is
    pushed, and how far it was delivered."""

    department: str
    url: str
    secret: str
    acked_seq: int  # every record of the department's scope up to this seq was acknowledged
    failures: int  # consecutive failed posts (the backoff grows with them)
    next_attempt_at: float | None  # epoch seconds; None: due now
    last_error: str | None
    delivered_at: str | None


def _webhook(r: Any) -> Webhook:
    return Webhook(r.department, r.url, r.secret, int(r.acked_seq), int(r.failures), r.next_attempt_at, r.last_error,
                   r.delivered_at)


# The webhook functions work on any table built by tables._webhook_columns(): `audit_webhooks`
# (the default) or `event_webhooks`.

async def load_webhooks(bind: Bind, *, table: Table = t.audit_webhooks) -> list[Webhook]:
    async with reading(bind) as conn:
        rows = await conn.execute(select(table).order_by(table.c.department))
        return [_webhook(r) for r in rows]


async def set_webhook(conn: AsyncConnection, department: str, url: str, secret: str, acked_seq: int | None = None,
                      *, table: Table = t.audit_webhooks) -> None:
    """Register or replace a department's webhook. Replacing keeps its delivery cursor (unless
    `acked_seq` is given) and makes it due at once."""
    values: dict[str, Any] = {"url": url, "secret": secret, "failures": 0, "next_attempt_at": None, "last_error": None}
    if acked_seq is not None:
        values["acked_seq"] = acked_seq
    result = await conn.execute(update(table).where(table.c.department == department).values(**values))
    if not result.rowcount:
        await conn.execute(table.insert().values({**values, "department": department, "acked_seq": acked_seq or 0}))


async def remove_webhook(conn: AsyncConnection, department: str, *, table: Table = t.audit_webhooks) -> bool:
    result = await conn.execute(delete(table).where(table.c.department == department))
    return bool(result.rowcount)


async def claim_webhook(engine: AsyncEngine, department: str, owner: str, now: float, lease_seconds: float,
                        *, table: Table = t.audit_webhooks) -> Webhook | None:
    """Take the department's push lease if it is free, expired or ours, and the webhook is due;
    the webhook as claimed, or None. One UPDATE decides, so two workers never both win."""
    free = table.c.lease_until.is_(None) | (table.c.lease_until < now) | (table.c.lease_owner == owner)
    due = table.c.next_attempt_at.is_(None) | (table.c.next_attempt_at <= now)
    async with engine.begin() as conn:
        result = await conn.execute(update(table).where((table.c.department == department) & free & due)
                                    .values(lease_owner=owner, lease_until=now + lease_seconds))
        if not result.rowcount:
            return None
        r = (await conn.execute(select(table).where(table.c.department == department))).first()
        return _webhook(r) if r else None


async def webhook_delivered(engine: AsyncEngine, department: str, owner: str, through: int, at: str | None,
                            *, table: Table = t.audit_webhooks) -> None:
    """Move the delivery cursor forward to `through` (never back); `at` is set when a post was acknowledged."""
    values: dict[str, Any] = {"acked_seq": through, "failures": 0, "next_attempt_at": None, "last_error": None}
    if at is not None:
        values["delivered_at"] = at
    async with engine.begin() as conn:
        await conn.execute(update(table).where((table.c.department == department) & (table.c.lease_owner == owner)
                                               & (table.c.acked_seq < through)).values(**values))


async def webhook_failed(engine: AsyncEngine, department: str, owner: str, error: str, next_attempt_at: float,
                         *, table: Table = t.audit_webhooks) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(table).where((table.c.department == department) & (table.c.lease_owner == owner))
                           .values(failures=table.c.failures + 1, last_error=error[:500], next_attempt_at=next_attempt_at))


async def release_webhook(engine: AsyncEngine, department: str, owner: str, *, table: Table = t.audit_webhooks) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(table).where((table.c.department == department) & (table.c.lease_owner == owner))
                           .values(lease_owner=None, lease_until=None))
