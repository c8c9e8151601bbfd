"""Policy administration operations on a deployment's stores, shared by the CLI (and, later,
the admin API): each change is validated, names its operator, bumps the policy revision so
that every worker reloads, and is audited before it commits."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit import AuditRecord, AuditStore, AuditUnavailable
from gateway import fanout
from gateway.errors import GatewayError
from gateway.runtime import make_engine, open_audit
from gateway.settings import Settings
from masking import KeyRing
from policies.administration import PolicyAdministration, PolicyRefused
from policies.mask_rules import MaskOverride, MaskRuleError, check_override
from policies.planner import Decision, Planner
from policies.roles import may
from policies.rules import PolicySet
from schema.catalog import Catalog
from store import repository
from store import workflow as workflow_rows
from store.policy import load_policy_set
from workflow.calendar import WorkingCalendar, YearNotice
from workflow.service import Actor, Deadlines, Workflow, now
from workflow.unit import open_workflow

log = logging.getLogger(__name__)


@dataclass
class Stores:
    store: AsyncEngine
    audit: AuditStore
    catalog: Catalog


@asynccontextmanager
async def open_stores(settings: Settings) -> AsyncIterator[Stores]:
    store = make_engine(settings.store_url)
    audit = await open_audit(settings)  # chained and checkpointed like the gateway's own records
    try:
        yield Stores(store, audit, await repository.load_catalog(store))
    finally:
        await store.dispose()
        await audit.close()


async def policy_set(bind: repository.Bind, catalog: Catalog) -> PolicySet:
    """The policy as the store holds it (inside a transaction: as it will be once committed)."""
    return await load_policy_set(bind, catalog)


async def _mask_rule_record(stores: Stores, conn: AsyncConnection, operator: str, operation: str, target: str,
                            purpose: str) -> AuditRecord:
    """The audit record of a change to the mask rules, by a registered operator; it names the policy
    version the change produces."""
    who = (await repository.load_principals(conn)).active_operator(operator)
    if who is None:
        raise MaskRuleError("name a registered, active operator making the change (--operator): changes are "
                            "audited by real name")
    return AuditRecord.administrative(operation, who, purpose=purpose if purpose != "*" else None,
                                      fields={target: "POLICY"}, policy_version=(await policy_set(conn, stores.catalog)).version)


async def set_mask_rule(settings: Settings, target: str, rule: str, purpose: str = "*", note: str = "",
                        operator: str = "") -> MaskOverride:
    """Validate, store and audit an administrator's mask rule (policies.mask_rules.check_override)."""

    async def step(conn: AsyncConnection) -> tuple[MaskOverride, AuditRecord]:
        principals = await repository.load_principals(conn)
        canonical = check_override(stores.catalog, principals.purposes, target, purpose, rule)
        override = await repository.set_mask_override(conn, target, purpose, canonical, note)
        return override, await _mask_rule_record(stores, conn, operator, "policy.mask_rule.set", target, purpose)

    async with open_stores(settings) as stores:
        override = await _audited(stores, step)
    await fanout.announce(settings)  # committed: every worker reloads at once
    return override


async def unset_mask_rule(settings: Settings, target: str, purpose: str = "*", operator: str = "") -> bool:
    async def step(conn: AsyncConnection) -> tuple[bool, AuditRecord | None]:
        if not await repository.remove_mask_override(conn, target, purpose):
            return False, None
        return True, await _mask_rule_record(stores, conn, operator, "policy.mask_rule.unset", target, purpose)

    async with open_stores(settings) as stores:
        removed = await _audited(stores, step)
    if removed:
        await fanout.announce(settings)
    return removed


async def list_mask_rules(settings: Settings) -> list[MaskOverride]:
    async with open_stores(settings) as stores:
        return await repository.load_mask_overrides(stores.store)


async def explain(settings: Settings, application: str, purpose: str, coordinate: str, mode: str = "QUERY") -> Decision:
    """The decision the gateway would make now for one field, with its rule and their sources."""
    async with open_stores(settings) as stores:
        policy = await policy_set(stores.store, stores.catalog)
        keys = KeyRing.from_file(settings.masking_key_path) if settings.masking_key_path.exists() else None
        return Planner(policy, keys=keys).explain(application, purpose, coordinate, mode)


# The workflow from the command line: the same operations as the GraphQL mutations, by a named
# application (its role decides what it may do) and a real-name operator of its department.

T = TypeVar("T")


class WorkflowRefused(ValueError):
    """The command line's form of a refused workflow step (the message says why)."""


async def _actor(conn: AsyncConnection, as_application: str, operator: str) -> Actor:
    """The application named with --as, and a registered, active operator of its department."""
    application = await repository.load_application(conn, as_application)
    principals = await repository.load_principals(conn)
    who = principals.active_operator(operator)
    if application is None or not application.active:
        raise WorkflowRefused(f"no active application {as_application!r} (--as)")
    if who is None or principals.operators[who].department != application.department:
        raise WorkflowRefused(f"{operator!r} is not a registered, active operator of {application.department} "
                              "(--operator): workflow steps are audited by real name")
    return Actor(application, who)


async def _audited(stores: Stores,
                   step: Callable[[AsyncConnection], Awaitable[tuple[T, AuditRecord | None]]]) -> T:
    """Run one administrative step of the command line in an explicit transaction of the platform
    store: `step` does its work on the connection and returns its result and its audit record
    (None: it changed nothing); the record is appended before the commit (a record that cannot be
    written rolls the step back: fail closed). A commit that fails after the record was written is
    recorded as FAILED, its changes rolled back (as the GraphQL view does), then raised."""
    async with stores.store.connect() as conn:
        transaction = await conn.begin()
        try:
            result, record = await step(conn)
            if record is not None:
                await stores.audit.append(record)
        except BaseException:
            with contextlib.suppress(Exception):  # the connection's close rolls back otherwise
                await transaction.rollback()
            raise
        try:
            await transaction.commit()
        except Exception as exc:
            if record is None:
                raise
            log.error("%s %s: the audited administrative step could not be committed: %s", record.operation,
                      record.request_id, type(exc).__name__)
            try:
                await stores.audit.append(record.rolled_back())
            except AuditUnavailable:
                log.error("%s %s: the rollback of its audited changes could not be recorded", record.operation,
                          record.request_id)
            raise
    return result


async def _refused(stores: Stores, operation: str, actor: Actor, exc: GatewayError) -> NoReturn:
    """Record a refused administrative step (who tried, and the code), as the GraphQL view records a
    refused request; then refuse it. Nothing of the step is committed."""
    record = AuditRecord.administrative(operation, actor.operator, application=actor.application.id,
                                        department=actor.department, client="cli")
    record.outcome, record.code = "REFUSED", exc.code.value
    await stores.audit.append(record)
    problems = exc.problems[1:] if isinstance(exc, PolicyRefused) else []
    raise WorkflowRefused("; ".join([f"{exc.code.value}: {exc.message}", *problems]))


async def workflow_step(settings: Settings, as_application: str, operator: str,
                        step: Callable[[Workflow], Awaitable[T]]) -> T:
    """Run one workflow step as APPLICATION and OPERATOR; its audit record is written before it
    commits, and a commit that fails is recorded as FAILED (`_audited`)."""
    changed_grants = False
    async with open_stores(settings) as stores:

        async def audited(conn: AsyncConnection) -> tuple[T, AuditRecord]:
            nonlocal changed_grants
            actor = await _actor(conn, as_application, operator)
            flow = await open_workflow(conn, stores.catalog, actor, Deadlines.of(settings))
            try:
                result = await step(flow)
            except GatewayError as exc:
                await _refused(stores, "workflow", actor, exc)
            await workflow_rows.add_events(conn, flow.events, flow.at.isoformat())
            changed_grants = any(c.grant is not None for c in flow.changes)
            return result, AuditRecord.administrative(
                "workflow", actor.operator, application=actor.application.id, department=actor.department,
                changes=[c.as_audit() for c in flow.changes], client="cli",
                policy_version=(await policy_set(conn, stores.catalog)).version)

        result = await _audited(stores, audited)
    if changed_grants:
        await fanout.announce(settings)
    return result


async def read_workflow(settings: Settings, read: Callable[[AsyncEngine, Catalog], Awaitable[T]]) -> T:
    async with open_stores(settings) as stores:
        return await read(stores.store, stores.catalog)


async def record_notice(settings: Settings, notice: YearNotice, as_application: str, operator: str,
                        replace: bool = False) -> bool:
    """Record a year's holiday notice (the calendar's extension), as the platform; audited before it
    commits. A year the calendar covers already is replaced only when asked to (`replace`)."""
    async def step(conn: AsyncConnection) -> tuple[bool, AuditRecord]:
        actor = await _actor(conn, as_application, operator)
        if not may(actor.role, "calendar.record"):
            raise WorkflowRefused("only the platform (a PLATFORM_ADMIN application, --as) records the calendar's notices")
        if not replace and WorkingCalendar(await workflow_rows.load_notices(conn)).covers(notice.year):
            raise WorkflowRefused(f"the calendar covers {notice.year} already (the calendar library or a recorded "
                                  "notice): give --replace to replace that year's days with this notice")
        replaced = await workflow_rows.save_notice(conn, notice, actor.operator, datetime.now(UTC).isoformat())
        return replaced, AuditRecord.administrative(
            "workflow.calendar", actor.operator, application=actor.application.id, department=actor.department,
            fields={f"calendar:{notice.year}": "POLICY"}, client="cli")

    async with open_stores(settings) as stores:
        return await _audited(stores, step)


# Policy administration from the command line: the same operations as the GraphQL ones.


async def policy_step(settings: Settings, as_application: str, operator: str, operation: str,
                      step: Callable[[PolicyAdministration], Awaitable[T]]) -> T:
    """Run one policy operation (`operation`: its name, such as policy.export) as APPLICATION and
    OPERATOR. Every one is audited before it commits and before its result is shown, a read as
    well as a change (a read records the one change `{"action": operation}`); a commit that
    fails is recorded as FAILED (`_audited`). A change is then announced to every worker."""
    changed = False
    async with open_stores(settings) as stores:

        async def audited(conn: AsyncConnection) -> tuple[T, AuditRecord]:
            nonlocal changed
            actor = await _actor(conn, as_application, operator)
            keys = KeyRing.from_file(settings.masking_key_path) if settings.masking_key_path.exists() else None
            desk = PolicyAdministration(conn, stores.catalog, actor.application, actor.operator, now(), keys=keys)
            try:
                result = await step(desk)
            except GatewayError as exc:
                await _refused(stores, "policy", actor, exc)
            changed = bool(desk.changes)
            return result, AuditRecord.administrative(
                "policy", actor.operator, application=actor.application.id, department=actor.department,
                changes=list(desk.changes) if changed else [{"action": operation}], client="cli",
                policy_version=(await policy_set(conn, stores.catalog)).version)

        result = await _audited(stores, audited)
    if changed:
        await fanout.announce(settings)
    return result
