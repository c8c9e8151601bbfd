"""Reading and writing policy versions (policies/versions.py) in the platform store."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from policies.rules import PolicySet
from policies.versions import Draft, parse_lines
from schema.catalog import Catalog
from store import tables as t
from store.repository import Bind, PolicySnapshot, bump_policy_revision, read_policy_snapshot, reading

V = t.policy_versions


@dataclass(frozen=True)
class StoredVersion:
    id: int
    draft: Draft
    note: str
    state: str  # DRAFT / ACTIVE / RETIRED
    created_by: str
    created_at: str
    activated_at: str | None
    retired_at: str | None


def _version(r: Any) -> StoredVersion:
    return StoredVersion(int(r.id), Draft(r.model, r.lines, r.tests), r.note, r.state, r.created_by, r.created_at,
                         r.activated_at, r.retired_at)


async def create_version(conn: AsyncConnection, draft: Draft, note: str, by: str, at: str) -> int:
    result = await conn.execute(V.insert().values(model=draft.model, lines=draft.lines, tests=draft.tests, note=note,
                                                  state="DRAFT", created_by=by, created_at=at))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def load_version(bind: Bind, version_id: int) -> StoredVersion | None:
    async with reading(bind) as conn:
        row = (await conn.execute(select(V).where(V.c.id == version_id))).first()
    return _version(row) if row else None


async def list_versions(bind: Bind) -> list[StoredVersion]:
    async with reading(bind) as conn:
        return [_version(r) for r in await conn.execute(select(V).order_by(V.c.id.desc()))]


async def active_version(bind: Bind) -> StoredVersion | None:
    async with reading(bind) as conn:
        active = (await conn.execute(select(t.policy_state.c.active_version).where(t.policy_state.c.id == 1))).scalar()
        return await load_version(conn, int(active)) if active is not None else None


async def previous_version(bind: Bind) -> StoredVersion | None:
    """The version that was in force before the active one: the last retired."""
    async with reading(bind) as conn:
        row = (await conn.execute(select(V).where(V.c.retired_at.is_not(None))
                                  .order_by(V.c.retired_at.desc(), V.c.id.desc()).limit(1))).first()
    return _version(row) if row else None


class StaleActivation(Exception):
    """The version in force is no longer the one the activation expected: another activation (or
    rollback) committed in between. Nothing was written; read the policy again and retry."""

    def __init__(self, version_id: int, expected: int | None) -> None:
        super().__init__(f"version {version_id} not activated: version {expected} is no longer the one in force")
        self.version_id = version_id
        self.expected = expected


async def activate(conn: AsyncConnection, version_id: int, at: str, expected: int | None = None) -> None:
    """Put a version in force in the caller's transaction: the one in force retires, every worker
    reloads (the revision moves).

    `expected` is the id of the version in force that the caller read (None: none yet, as on a
    fresh store). It is compared and swapped first, under the row's lock: when another activation
    changed it meanwhile, StaleActivation is raised before anything is written, so two
    activations at once never leave two versions ACTIVE (on PostgreSQL the second waits for the
    first to commit, then finds the version in force changed)."""
    swapped = await conn.execute(update(t.policy_state)
                                 .where(t.policy_state.c.id == 1,
                                        t.policy_state.c.active_version.is_not_distinct_from(expected))
                                 .values(active_version=version_id))
    if swapped.rowcount != 1:
        raise StaleActivation(version_id, expected)
    await conn.execute(update(V).where(V.c.state == "ACTIVE").values(state="RETIRED", retired_at=at))
    await conn.execute(update(V).where(V.c.id == version_id).values(state="ACTIVE", activated_at=at))
    await bump_policy_revision(conn)


ACTIVE = object()  # load_policy_set: the version in force


async def load_policy_set(bind: Bind, catalog: Catalog, stored: StoredVersion | None | object = ACTIVE) -> PolicySet:
    """The whole policy as the store holds it (inside a transaction: as it will be once committed),
    with the version in force or with `stored` (a candidate, for a dry run or policy tests)."""
    snapshot = await read_policy_snapshot(bind)
    if stored is not ACTIVE:
        snapshot = replace(snapshot, version=stored)
    return build_policy(catalog, snapshot)


def build_policy(catalog: Catalog, snapshot: PolicySnapshot) -> PolicySet:
    """The policy of one store snapshot: the version's model and lines (the shipped model when
    no version was ever activated), the catalog's and the grants' lines, the mask rules."""
    departments, version = snapshot.principals.application_departments(), snapshot.version
    if version is None:
        return PolicySet.build(catalog, snapshot.grants, departments, mask_overrides=snapshot.mask_overrides)
    return PolicySet.build(catalog, snapshot.grants, departments, model_text=version.draft.model,
                           mask_overrides=snapshot.mask_overrides, admin_lines=parse_lines(version.draft.lines),
                           stored_version=version.id)
