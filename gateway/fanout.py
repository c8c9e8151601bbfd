"""Fan-out of policy changes: a change in force on every worker within a second, not at its next poll.

Every change that alters decisions (grants, mask rules, workflow approvals and suspensions) bumps
the store's policy revision in its own transaction. Each worker polls that revision every
GATEWAY_POLICY_REFRESH_SECONDS, in the background as well as on its requests; a channel makes it
faster: it announces "the policy revision moved", and every worker listening reloads at once
(`Runtime.refresh_policy(force=True)`).

    redis     Redis pub/sub on `gateway:policy` (GATEWAY_REDIS_URL). A writer publishes after its
              commit: the gateway after a workflow mutation, the CLI after `gateway masking set`,
              `unset` and the workflow steps that change a grant.
    postgres  PostgreSQL LISTEN/NOTIFY on `gateway_policy`: `repository.bump_policy_revision`
              queues the NOTIFY in the change's own transaction, so PostgreSQL delivers it at
              commit, atomically with the change; writers announce nothing.
    none      no channel (the embedded SQLite default, one host): polling alone, as before.

GATEWAY_POLICY_CHANNEL picks one (`auto`: redis when GATEWAY_REDIS_URL is set, else postgres when
the platform store is PostgreSQL, else none).

A message carries the new revision for the logs only: a listener always asks the store (the
reload is cheap when nothing moved, and a sender's own view may be stale). The background poll
runs whether the channel is up or not (it is one read of the revision): a message can be lost
while the channel looks up (a writer that could not reach Redis, a half-open subscription), and
an idle worker must not stay stale until its next request. When the channel is down (Redis
unreachable, the LISTEN connection lost) the worker logs it, reports it on /readyz
("policyChannel": "down: polling every Ns ..."), keeps serving on polling, and reconnects with
backoff; once back it reloads, since a change may have been announced while nobody listened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.engine import make_url

from gateway.periodic import Periodic
from gateway.settings import Settings, SettingsError
from store.repository import POLICY_NOTIFY_CHANNEL

log = logging.getLogger(__name__)

CHANNELS = ("auto", "redis", "postgres", "none")
REDIS_CHANNEL = "gateway:policy"
POSTGRES_CHANNEL = POLICY_NOTIFY_CHANNEL  # the NOTIFY is sent by store.repository.bump_policy_revision
CONNECT_TIMEOUT = 2.0  # seconds to (re)connect the channel before it counts as down
PUBLISH_TIMEOUT = 1.0  # a writer never waits longer than this to announce (polling covers a lost announce)
PING_SECONDS = 5.0  # how often an idle listening connection is checked
PING_TIMEOUT = 3.0  # an unanswered check means the connection is lost
MIN_BACKOFF = 0.5
MAX_BACKOFF = 30.0
START_WAIT = CONNECT_TIMEOUT + 0.5  # a worker starts once the channel is up or known to be down

OnChange = Callable[[], Awaitable[object]]


def channel_kind(settings: Settings) -> str:
    """The channel GATEWAY_POLICY_CHANNEL resolves to: redis, postgres or none."""
    chosen = settings.policy_channel
    postgres = make_url(settings.store_url).get_backend_name() == "postgresql"
    if chosen not in CHANNELS:
        raise SettingsError(f"GATEWAY_POLICY_CHANNEL={chosen!r}: use one of {', '.join(CHANNELS)}")
    if chosen == "auto":
        return "redis" if settings.redis_url else "postgres" if postgres else "none"
    if chosen == "redis" and not settings.redis_url:
        raise SettingsError("GATEWAY_POLICY_CHANNEL=redis needs GATEWAY_REDIS_URL")
    if chosen == "postgres" and not postgres:
        raise SettingsError("GATEWAY_POLICY_CHANNEL=postgres needs a PostgreSQL platform store (GATEWAY_STORE_URL)")
    return chosen


def _redis_client(url: str, timeout: float) -> Any:
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    # No silent retries: a lost connection must surface, so the listener knows it missed messages.
    return Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0))


async def publish(url: str, revision: int | None = None) -> bool:
    """Publish "the policy moved" on Redis; False (logged) when Redis does not answer."""
    client = _redis_client(url, PUBLISH_TIMEOUT)
    try:
        await asyncio.wait_for(client.publish(REDIS_CHANNEL, "" if revision is None else str(revision)), PUBLISH_TIMEOUT)
        return True
    except Exception as exc:  # the change is committed; the workers will see it at their next poll
        log.warning("policy change not announced on Redis (workers pick it up by polling): %s", type(exc).__name__)
        return False
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()


async def announce(settings: Settings, revision: int | None = None) -> None:
    """Tell every worker the policy moved, after the change committed (the CLI's writers call this).
    A no-op on PostgreSQL, whose NOTIFY went out with the commit, and without a channel."""
    if channel_kind(settings) == "redis":
        await publish(settings.redis_url, revision)


def asyncpg_connect_args(store_url: str) -> dict[str, Any]:
    """asyncpg.connect() keyword arguments for a SQLAlchemy `postgresql+asyncpg://` URL."""
    url = make_url(store_url).set(drivername="postgresql+asyncpg")
    _, params = url.get_dialect()().create_connect_args(url)
    for sqlalchemy_only in ("prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn"):
        params.pop(sqlalchemy_only, None)
    return dict(params)


class PolicyChannel:
    """One worker's end of the channel: a listener that reconnects with backoff, a task that
    reloads the policy when told to (bursts coalesce into one reload), and a poll that runs
    always, every `poll_seconds` (a lost message is picked up by it, the channel up or down)."""

    kind = "none"

    def __init__(self, on_change: OnChange, poll_seconds: float) -> None:
        self.on_change = on_change
        self.poll_seconds = poll_seconds
        self.up = False
        self.error: str | None = None  # why the channel is down, for /readyz
        self.reconnects = 0
        self._changed = asyncio.Event()
        self._settled = asyncio.Event()  # the first connection attempt has an outcome
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._poller: Periodic | None = None

    # Life cycle.

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._listen(), name=f"policy-channel-{self.kind}"),
                       loop.create_task(self._reload(), name="policy-channel-reload")]
        # Polling always, not only while the channel is down: a message lost while it looks up
        # (a publisher that could not reach Redis, a half-open subscription) must not leave an
        # idle worker stale. A cheap read of the revision; a reload only when it moved.
        self._poller = Periodic("policy-poll", max(self.poll_seconds, 0.1), self._poll)
        self._poller.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), START_WAIT)

    async def close(self) -> None:
        self._stopping.set()
        if self._poller is not None:
            await self._poller.close()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def status(self) -> str:
        """The note on /readyz: listening, or down and polling (never a reason to stop serving)."""
        if self.up:
            return f"{self.kind}: listening"
        why = self.error or "connecting"
        return f"down: polling every {self.poll_seconds:g}s ({self.kind}: {why}; reconnecting)"

    async def announce(self, revision: int | None = None) -> None:
        """Tell the other workers, after a commit. Only Redis needs it (PostgreSQL's NOTIFY went
        out with the commit)."""

    # Inside.

    def notify(self, payload: object = None) -> None:
        """A message arrived: reload soon (several messages in a burst give one reload)."""
        log.debug("policy channel %s: revision %s announced", self.kind, payload)
        self._changed.set()

    async def _reload(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                await self.on_change()
            except Exception as exc:  # refresh_policy reports its own failures; never let the task die
                log.warning("policy reload after an announcement failed: %s", type(exc).__name__)

    async def _poll(self) -> None:
        await self.on_change()

    async def _session(self) -> None:
        """Connect, listen, call `self._connected()` once listening; return only when stopped,
        raise when the connection is lost."""
        raise NotImplementedError

    def _connected(self) -> None:
        was_down = self.error is not None
        self.up, self.error = True, None
        self._settled.set()
        if was_down:
            self.reconnects += 1
            log.warning("policy channel %s is back: listening again", self.kind)
        else:
            log.info("policy channel %s: listening", self.kind)
        self.notify("(re)connected")  # a change may have been announced while nobody listened

    async def _listen(self) -> None:
        backoff = MIN_BACKOFF
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = type(exc).__name__
                if self.error is None:  # once per outage, not per reconnect attempt
                    log.warning("policy channel %s is down (%s): polling every %gs, reconnecting", self.kind, reason,
                                self.poll_seconds)
                self.up, self.error = False, reason
                self._settled.set()
            if time.monotonic() - started > MAX_BACKOFF:
                backoff = MIN_BACKOFF  # it held a while: start the backoff over
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)


class RedisChannel(PolicyChannel):
    kind = "redis"

    def __init__(self, url: str, on_change: OnChange, poll_seconds: float) -> None:
        super().__init__(on_change, poll_seconds)
        self.url = url

    async def announce(self, revision: int | None = None) -> None:
        await publish(self.url, revision)

    async def _session(self) -> None:
        client = _redis_client(self.url, CONNECT_TIMEOUT)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await asyncio.wait_for(pubsub.subscribe(REDIS_CHANNEL), CONNECT_TIMEOUT)
            self._connected()
            heard = pinged = time.monotonic()
            while not self._stopping.is_set():
                message = await pubsub.get_message(timeout=1.0)
                now = time.monotonic()
                if message is not None:
                    heard = now
                    if message.get("type") == "message":
                        self.notify(message.get("data"))
                if now - heard > PING_SECONDS + PING_TIMEOUT:
                    raise ConnectionError("the Redis channel stopped answering")
                if now - pinged >= PING_SECONDS:
                    await pubsub.ping()  # its pong comes back as a message: `heard` moves
                    pinged = now
        finally:
            self.up = False
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await client.aclose()


class PostgresChannel(PolicyChannel):
    kind = "postgres"

    def __init__(self, store_url: str, on_change: OnChange, poll_seconds: float) -> None:
        super().__init__(on_change, poll_seconds)
        self.connect_args = asyncpg_connect_args(store_url)

    async def _session(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(**self.connect_args, timeout=CONNECT_TIMEOUT)
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(POSTGRES_CHANNEL, lambda _c, _pid, _channel, payload: self.notify(payload))
            self._connected()
            while not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), PING_SECONDS)
                if lost.is_set() or conn.is_closed():
                    raise ConnectionError("the LISTEN connection was closed")
                await asyncio.wait_for(conn.fetchval("SELECT 1"), PING_TIMEOUT)
        finally:
            self.up = False
            conn.terminate()


def make_channel(settings: Settings, on_change: OnChange) -> PolicyChannel | None:
    """The channel the settings ask for, not started; None for `none`."""
    kind = channel_kind(settings)
    if kind == "redis":
        return RedisChannel(settings.redis_url, on_change, settings.policy_refresh_seconds)
    if kind == "postgres":
        return PostgresChannel(settings.store_url, on_change, settings.policy_refresh_seconds)
    return None
