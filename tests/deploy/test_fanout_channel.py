"""The policy channel inside one process (gateway/fanout.py): which channel a deployment gets,
a reload per announcement, a consistent policy snapshot, and a channel that is cut, noticed,
reported and reconnected. Redis and PostgreSQL runs are marked and skip (saying why) where no
server answers; CI sets GATEWAY_TEST_REQUIRE_REDIS=1 / GATEWAY_TEST_REQUIRE_POSTGRES=1."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text, update
from sqlalchemy.engine import make_url

from gateway import fanout
from gateway.runtime import make_engine
from gateway.settings import Settings, SettingsError
from store import repository
from store import tables as t
from store.migrate import upgrade_async
from tests.deploy.support import Proxy
from tests.postgres import temporary_databases

REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BOUND = 10.0  # no wait in these tests lasts longer


class Reloads:
    """Stands for `runtime.refresh_policy(force=True)`: counts the calls, and apart those of the
    background poll (which runs always) and those of an announcement (the reload task)."""

    def __init__(self) -> None:
        self.count = 0
        self.polled = 0
        self.announced = 0  # by a message or a (re)connection, not by the poll
        self._moved = asyncio.Event()

    async def __call__(self) -> None:
        self.count += 1
        task = asyncio.current_task()
        if task is not None and task.get_name() == "policy-poll":
            self.polled += 1
        else:
            self.announced += 1
        self._moved.set()

    async def after(self, count: int, within: float = BOUND, of: str = "count") -> float:
        """Wait until more than `count` reloads (`of`: count, polled or announced) happened; the
        seconds it took."""
        started = time.monotonic()
        while getattr(self, of) <= count:
            self._moved.clear()
            remaining = within - (time.monotonic() - started)
            assert remaining > 0, f"no reload within {within}s"
            try:
                await asyncio.wait_for(self._moved.wait(), remaining)
            except TimeoutError:
                raise AssertionError(f"no reload within {within}s") from None
        return time.monotonic() - started


async def until(condition, within: float = BOUND) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < within, f"not true within {within}s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout, "MIN_BACKOFF", 0.1)
    monkeypatch.setattr(fanout, "MAX_BACKOFF", 0.5)


# Which channel.

def test_the_channel_follows_the_deployment() -> None:
    pg = "postgresql+asyncpg://gateway@db.example/gw_platform"
    sqlite = Settings.from_env({}, data_dir=Path("/tmp/gw-unused"))
    assert fanout.channel_kind(sqlite) == "none"
    assert fanout.channel_kind(replace(sqlite, store_url=pg)) == "postgres"
    assert fanout.channel_kind(replace(sqlite, store_url=pg, redis_url="redis://r:6379/0")) == "redis"
    assert fanout.channel_kind(replace(sqlite, store_url=pg, redis_url="redis://r:6379/0", policy_channel="postgres")) == (
        "postgres")
    assert fanout.channel_kind(replace(sqlite, redis_url="redis://r:6379/0", policy_channel="none")) == "none"
    for impossible in (replace(sqlite, policy_channel="redis"), replace(sqlite, policy_channel="postgres"),
                       replace(sqlite, policy_channel="kafka")):
        with pytest.raises(SettingsError, match="GATEWAY_POLICY_CHANNEL"):
            fanout.channel_kind(impossible)
    configured = Settings.from_env({"GATEWAY_POLICY_CHANNEL": " Redis "}, data_dir=Path("/tmp/gw-unused"))
    assert configured.policy_channel == "redis"


def test_asyncpg_arguments_come_from_the_store_url() -> None:
    args = fanout.asyncpg_connect_args("postgresql+asyncpg://gw:secret@db.example:5433/gw_platform?ssl=require"
                                       "&prepared_statement_cache_size=0")
    assert args == {"host": "db.example", "port": 5433, "user": "gw", "password": "secret", "database": "gw_platform",
                    "ssl": "require"}


async def test_a_cli_announce_without_a_channel_does_nothing_and_a_dead_redis_never_fails_the_writer() -> None:
    sqlite = Settings.from_env({}, data_dir=Path("/tmp/gw-unused"))
    await fanout.announce(sqlite)  # none: nothing to do
    dead = replace(sqlite, redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    started = time.monotonic()
    await fanout.announce(dead, 3)  # logged, not raised: the change is committed, polling will carry it
    assert time.monotonic() - started < fanout.PUBLISH_TIMEOUT + 1
    assert await fanout.publish(dead.redis_url) is False


def _closed_port() -> int:
    from tests.deploy.support import closed_port

    return closed_port()


# One revision at a time.

async def test_the_snapshot_is_of_one_revision_when_a_change_commits_in_between(settings: Settings,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(settings.store_url)
    on_postgres = engine.dialect.name == "postgresql"
    real = repository.load_grants
    calls = 0

    async def grants_then_a_change(bind):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        grants = await real(bind)
        if calls == 1:  # another writer commits while the first snapshot is being read
            await repository.set_grant_status(engine, "G-MZ-0001", repository.GrantStatus.SUSPENDED)
        return grants

    try:
        before = await repository.policy_revision(engine)
        monkeypatch.setattr(repository, "load_grants", grants_then_a_change)
        snapshot = await repository.load_policy_snapshot(engine)
        status = {g.id: g.status for g in snapshot.grants}["G-MZ-0001"]
        if on_postgres:  # one REPEATABLE READ transaction: the change is not seen, by any of the reads
            assert calls == 1 and snapshot.revision == before and status is repository.GrantStatus.ACTIVE
        else:  # the revision moved under the reads: read again, all of the new revision
            assert calls == 2 and snapshot.revision == before + 1 and status is repository.GrantStatus.SUSPENDED

        async def always_moving(bind):  # type: ignore[no-untyped-def]
            async with engine.begin() as conn:
                await repository.bump_policy_revision(conn)
            return await real(bind)

        monkeypatch.setattr(repository, "load_grants", always_moving)
        if on_postgres:
            moving = await repository.load_policy_snapshot(engine, attempts=3)
            assert moving.revision == await repository.policy_revision(engine) - 1  # as of its first read
        else:
            with pytest.raises(repository.PolicyChurn):
                await repository.load_policy_snapshot(engine, attempts=3)
    finally:
        await engine.dispose()


async def test_a_runtime_reloads_one_revision_and_readiness_notes_its_channel(gateway) -> None:  # type: ignore[no-untyped-def]
    runtime = gateway.runtime
    if runtime.store_engine.dialect.name == "postgresql":  # GATEWAY_TEST_STORE=postgres: auto picks LISTEN/NOTIFY
        assert runtime.policy_channel is not None and runtime.policy_channel.kind == "postgres"
        expected = "postgres: listening"
    else:
        assert runtime.policy_channel is None  # the embedded SQLite default: no channel
        expected = "none: polling every 0s"
    ready = (await gateway.client.get("/readyz")).json()
    assert ready["policyChannel"] == expected
    revision = runtime.policy_revision
    await repository.set_grant_status(runtime.store_engine, "G-MZ-0001", repository.GrantStatus.SUSPENDED)
    await asyncio.gather(*(runtime.refresh_policy(force=True) for _ in range(5)))  # one at a time, none older
    assert runtime.policy_revision == revision + 1
    assert runtime.planner.policy.grants_by_id["G-MZ-0001"].status is repository.GrantStatus.SUSPENDED


# Redis pub/sub.

async def _require_redis() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception as exc:
        if os.environ.get("GATEWAY_TEST_REQUIRE_REDIS"):
            raise
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {type(exc).__name__}")
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_redis_channel_reloads_on_announce_survives_a_cut_and_reconnects(fast_backoff: None) -> None:
    await _require_redis()
    server = urlsplit(REDIS_URL)
    proxy = Proxy(server.hostname or "127.0.0.1", server.port or 6379)
    await proxy.restore()
    reloads = Reloads()
    channel = fanout.RedisChannel(f"redis://127.0.0.1:{proxy.port}{server.path or '/0'}", reloads, poll_seconds=0.2)
    try:
        await asyncio.wait_for(channel.start(), BOUND)
        assert channel.status() == "redis: listening"
        await reloads.after(0, of="announced")  # connecting reloads once: a change may have come before
        await asyncio.sleep(0.3)
        seen = reloads.announced
        took = 0.0
        for _ in range(3):  # a burst of announcements
            started = time.monotonic()
            await fanout.publish(REDIS_URL, 42)
        took = await reloads.after(seen, of="announced") + (time.monotonic() - started)
        assert took < 1.0

        await proxy.cut()
        await until(lambda: not channel.up)
        assert channel.status().startswith("down: polling every 0.2s (redis: ")
        polled = reloads.polled
        await reloads.after(polled + 1, of="polled")  # down: the worker polls on its own

        await proxy.restore()
        await until(lambda: channel.up)
        assert channel.reconnects == 1 and channel.status() == "redis: listening"
        await asyncio.sleep(0.3)  # the reconnection's own reload
        seen = reloads.announced
        await fanout.publish(REDIS_URL)
        await reloads.after(seen, within=1.0, of="announced")
    finally:
        await channel.close()
        await proxy.cut()


# PostgreSQL LISTEN/NOTIFY.

@pytest.fixture(scope="module")
def pg_store() -> Iterator[str]:
    with temporary_databases("fanout", ["platform"]) as urls:
        asyncio.run(upgrade_async(urls["platform"]))
        yield urls["platform"]


@pytest.mark.postgres
async def test_postgres_notify_goes_out_at_commit_only_and_the_listener_reconnects(pg_store: str,
                                                                                  fast_backoff: None) -> None:
    url = make_url(pg_store)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.restore()
    reloads = Reloads()
    channel = fanout.PostgresChannel(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
                                     reloads, poll_seconds=0.2)
    payloads: list[str] = []
    heard = channel.notify

    def notify(payload: object = None) -> None:
        payloads.append(str(payload))
        heard(payload)

    channel.notify = notify  # type: ignore[method-assign]
    engine = make_engine(pg_store)
    try:
        await asyncio.wait_for(channel.start(), BOUND)
        assert channel.status() == "postgres: listening"
        await reloads.after(0, of="announced")
        payloads.clear()
        seen = reloads.announced

        async with engine.connect() as conn, conn.begin() as transaction:  # a change rolled back announces nothing
            await repository.bump_policy_revision(conn)
            await transaction.rollback()
        await asyncio.sleep(0.5)
        assert reloads.announced == seen and payloads == []

        started = time.monotonic()
        async with engine.begin() as conn:
            await repository.bump_policy_revision(conn)
            await asyncio.sleep(0.3)
            assert reloads.announced == seen  # not before the commit
        took = await reloads.after(seen, of="announced") + (time.monotonic() - started) - 0.3
        assert took < 1.0
        assert payloads == [str(await repository.policy_revision(engine))]  # the new revision

        await proxy.cut()  # the LISTEN connection is lost
        await until(lambda: not channel.up)
        assert channel.status().startswith("down: polling every 0.2s (postgres: ")
        polled = reloads.polled
        await reloads.after(polled + 1, of="polled")
        await proxy.restore()
        await until(lambda: channel.up)
        assert channel.reconnects == 1
        await asyncio.sleep(0.3)  # the reconnection's own reload
        seen = reloads.announced
        async with engine.begin() as conn:
            await conn.execute(update(t.policy_state).where(t.policy_state.c.id == 1)
                               .values(revision=t.policy_state.c.revision + 1))
            await conn.execute(text("SELECT pg_notify('gateway_policy', 'by hand')"))
        await reloads.after(seen, within=1.0, of="announced")
    finally:
        await channel.close()
        await proxy.cut()
        await engine.dispose()


# The background poll runs with the channel up too: a lost message is not waited for.

REFRESH = 0.5  # GATEWAY_POLICY_REFRESH_SECONDS of the idle worker below


async def _bump_unannounced(url: str, grant: str) -> int:
    """Suspend a grant and move the revision by hand, in the store alone: no Redis publish, no
    NOTIFY (as when a writer could not reach Redis, or a subscription went half-open). The new
    revision."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(t.grants).where(t.grants.c.id == grant).values(status="SUSPENDED"))
            await conn.execute(update(t.policy_state).where(t.policy_state.c.id == 1)
                               .values(revision=t.policy_state.c.revision + 1))
        return await repository.policy_revision(engine)
    finally:
        await engine.dispose()


@pytest.mark.redis
async def test_an_idle_worker_listening_on_redis_picks_up_an_unannounced_change_by_polling(data_dir: Path) -> None:
    from asgi_lifespan import LifespanManager

    from gateway.app import create_app

    await _require_redis()
    settings = Settings.from_env({"GATEWAY_REDIS_URL": REDIS_URL, "GATEWAY_POLICY_CHANNEL": "redis",
                                  "GATEWAY_POLICY_REFRESH_SECONDS": str(REFRESH),
                                  "GATEWAY_WORKFLOW_SWEEP_SECONDS": "0"}, data_dir=data_dir)
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        runtime = manager._state["runtime"]
        assert runtime.policy_channel_status == "redis: listening"
        await asyncio.sleep(REFRESH)  # settled: the start's own reloads are done
        revision = await _bump_unannounced(settings.store_url, "G-MZ-0001")
        took = await until(lambda: runtime.policy_revision == revision, within=REFRESH * 4)  # no request made
        assert took <= REFRESH * 2, took  # about one refresh interval, not a request's or a reconnection's
        assert runtime.planner.policy.grants_by_id["G-MZ-0001"].status is repository.GrantStatus.SUSPENDED
        assert runtime.policy_channel_status == "redis: listening"  # the channel was up all along


@pytest.mark.postgres
async def test_a_listening_postgres_worker_picks_up_a_change_sent_without_notify_by_polling(pg_store: str) -> None:
    engine = make_engine(pg_store)
    seen: list[int] = []

    async def reload() -> None:  # what refresh_policy reads first: the store's revision
        seen.append(await repository.policy_revision(engine))

    channel = fanout.PostgresChannel(pg_store, reload, poll_seconds=REFRESH)
    try:
        await asyncio.wait_for(channel.start(), BOUND)
        assert channel.status() == "postgres: listening"
        await asyncio.sleep(REFRESH)
        async with engine.begin() as conn:  # no pg_notify: nothing is announced
            await conn.execute(update(t.policy_state).where(t.policy_state.c.id == 1)
                               .values(revision=t.policy_state.c.revision + 1))
        revision = await repository.policy_revision(engine)
        took = await until(lambda: revision in seen, within=REFRESH * 4)
        assert took <= REFRESH * 2, took
        assert channel.up
    finally:
        await channel.close()
        await engine.dispose()
