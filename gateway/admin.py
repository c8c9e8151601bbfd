"""Policy administration operations on a deployment's stores, shared by the CLI (and, later,
the admin API): each change is validated, names its operator, bumps the policy revision so
that every worker reloads, and is audited before it commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit import AuditRecord, AuditStore
from gateway.runtime import make_engine, open_audit
from gateway.settings import Settings
from masking import KeyRing
from policies.mask_rules import MaskOverride, MaskRuleError, check_override
from policies.planner import Decision, Planner
from policies.rules import PolicySet
from schema.catalog import Catalog
from store import repository


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
    principals = await repository.load_principals(bind)
    return PolicySet.build(catalog, await repository.load_grants(bind), principals.application_departments(),
                           mask_overrides=await repository.load_mask_overrides(bind))


async def _commit_audited(stores: Stores, conn: AsyncConnection, operator: str, operation: str, target: str,
                          purpose: str) -> None:
    """Audit a change before its transaction commits: if the record cannot be written, the change
    is rolled back (fail closed). The record names the policy version the change produces."""
    who = (await repository.load_principals(conn)).active_operator(operator)
    if who is None:
        raise MaskRuleError("name a registered, active operator making the change (--operator): changes are "
                            "audited by real name")
    await stores.audit.append(AuditRecord.administrative(
        operation, who, purpose=purpose if purpose != "*" else None, fields={target: "POLICY"},
        policy_version=(await policy_set(conn, stores.catalog)).version,
    ))


async def set_mask_rule(settings: Settings, target: str, rule: str, purpose: str = "*", note: str = "",
                        operator: str = "") -> MaskOverride:
    """Validate, store and audit an administrator's mask rule (policies.mask_rules.check_override)."""
    async with open_stores(settings) as stores, stores.store.begin() as conn:
        principals = await repository.load_principals(conn)
        canonical = check_override(stores.catalog, principals.purposes, target, purpose, rule)
        override = await repository.set_mask_override(conn, target, purpose, canonical, note)
        await _commit_audited(stores, conn, operator, "policy.mask_rule.set", target, purpose)
        return override


async def unset_mask_rule(settings: Settings, target: str, purpose: str = "*", operator: str = "") -> bool:
    async with open_stores(settings) as stores, stores.store.begin() as conn:
        removed = await repository.remove_mask_override(conn, target, purpose)
        if removed:
            await _commit_audited(stores, conn, operator, "policy.mask_rule.unset", target, purpose)
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
