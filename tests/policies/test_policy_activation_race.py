"""Two activations at once (store/policy.py `activate`): the version in force is compared and
swapped first, so the second one finds it changed and is refused (StaleActivation) before it
writes anything; exactly one version is ACTIVE afterwards. On SQLite (the demo copy) and on
PostgreSQL (marked; skips, saying why, where no server answers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.runtime import make_engine
from gateway.settings import Settings
from policies.versions import Draft
from store import policy
from store.migrate import upgrade_async
from store.repository import policy_revision
from tests.postgres import temporary_databases

AT = "2025-01-02T00:00:00+08:00"
BOUND = 10.0


async def _drafts(engine: AsyncEngine, count: int) -> list[int]:
    """`count` new DRAFT versions, each the model in force (or the shipped one) unchanged."""
    in_force = await policy.active_version(engine)
    model = in_force.draft.model if in_force else "[request_definition]\nr = sub\n"
    async with engine.begin() as conn:
        return [await policy.create_version(conn, Draft(model, "", ""), f"draft {n}", "test", AT) for n in range(count)]


async def _active(engine: AsyncEngine) -> list[int]:
    return [v.id for v in await policy.list_versions(engine) if v.state == "ACTIVE"]


async def _waiting_on_a_lock(engine: AsyncEngine, task: asyncio.Task[None]) -> None:
    """Until `task` waits for the other transaction: PostgreSQL says so; SQLite's writer retries
    in its busy handler, so give it time to get there."""
    if engine.dialect.name != "postgresql":
        await asyncio.sleep(0.3)
        return
    started = time.monotonic()
    async with engine.connect() as conn:
        while not (await conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"))).scalar_one():
            assert not task.done(), task
            assert time.monotonic() - started < BOUND, "the second activation never waited for the first"
            await asyncio.sleep(0.02)


async def _two_at_once(engine: AsyncEngine) -> None:
    in_force = await policy.active_version(engine)
    assert in_force is not None
    v2, v3 = await _drafts(engine, 2)
    revision = await policy_revision(engine)
    first, second = await engine.connect(), await engine.connect()
    try:
        # Both read the version in force (as policies/administration.py does), then both activate.
        winner = await first.begin()
        await policy.activate(first, v2, AT, expected=in_force.id)
        await second.begin()
        loser = asyncio.create_task(policy.activate(second, v3, AT, expected=in_force.id))
        await _waiting_on_a_lock(engine, loser)
        assert not loser.done()  # it waits for the first to commit or roll back
        await winner.commit()
        with pytest.raises(policy.StaleActivation) as stale:
            await asyncio.wait_for(loser, BOUND)
        assert (stale.value.version_id, stale.value.expected) == (v3, in_force.id)
        await second.rollback()
    finally:
        await first.close()
        await second.close()
    assert await _active(engine) == [v2]
    assert (await policy.active_version(engine)).id == v2  # type: ignore[union-attr]
    states = {v.id: v.state for v in await policy.list_versions(engine)}
    assert (states[in_force.id], states[v3]) == ("RETIRED", "DRAFT")
    assert await policy_revision(engine) == revision + 1  # one reload for the one activation

    # The loser, retried with what it now reads, goes through.
    async with engine.begin() as conn:
        await policy.activate(conn, v3, AT, expected=v2)
    assert await _active(engine) == [v3]


async def _stale_writes_nothing(engine: AsyncEngine) -> None:
    in_force = await policy.active_version(engine)
    assert in_force is not None
    [draft] = await _drafts(engine, 1)
    revision = await policy_revision(engine)
    for expected in (None, draft, in_force.id + 1000):  # none given means "nothing in force yet"
        async with engine.begin() as conn:
            with pytest.raises(policy.StaleActivation):
                await policy.activate(conn, draft, AT, expected=expected)
    async with engine.begin() as conn:
        with pytest.raises(policy.StaleActivation):
            await policy.activate(conn, draft, AT)
    assert await _active(engine) == [in_force.id]
    assert {v.id: v.state for v in await policy.list_versions(engine)}[draft] == "DRAFT"
    assert await policy_revision(engine) == revision


async def test_two_activations_at_once_leave_one_version_in_force(settings: Settings) -> None:
    engine = make_engine(settings.store_url)  # the demo copy: version 1 in force
    try:
        await _two_at_once(engine)
    finally:
        await engine.dispose()


async def test_an_activation_that_expects_another_version_in_force_writes_nothing(settings: Settings) -> None:
    engine = make_engine(settings.store_url)
    try:
        await _stale_writes_nothing(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def pg_store() -> Iterator[str]:
    with temporary_databases("activation", ["platform"]) as urls:
        asyncio.run(upgrade_async(urls["platform"]))
        yield urls["platform"]


async def _first_version(engine: AsyncEngine) -> None:
    """Version 1 in force, as demo/build.py puts it on a fresh store (no `expected`: none in force)."""
    async with engine.begin() as conn:
        first = await policy.create_version(conn, Draft("[request_definition]\nr = sub\n", "", ""), "shipped",
                                            "demo", AT)
        await policy.activate(conn, first, AT)
    assert await _active(engine) == [first]


@pytest.mark.postgres
async def test_two_activations_at_once_on_postgres_leave_one_version_in_force(pg_store: str) -> None:
    engine = make_engine(pg_store)
    try:
        await _first_version(engine)
        await _two_at_once(engine)
        await _stale_writes_nothing(engine)
    finally:
        await engine.dispose()
