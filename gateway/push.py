"""Pushing each department its slice of a feed, at least once: the audit trail (003 第二十四条:
logs are pushed to the provider and the consumer; docs/audit-access.md), and the workflow's
notifications (share-application events, store.workflow). One `Pusher` delivers either; a feed
only says how to read a department's next batch after a cursor.

    every interval, for each department with a webhook in the feed's table, concurrently:
        claim its lease ─ none: another worker is pushing it, or it is backing off
        read the records of its slice after its cursor (the feed's `batch`)
        POST them as NDJSON, signed with its secret (over the version, a timestamp, the
        department, the sequence range and the body: `signed_payload`)
            2xx      → move the cursor to the end of the batch, read the next batch
            anything → keep the cursor; retry after interval · 2^failures (capped)
        release the lease

The cursor moves only after a 2xx answer, so every record is delivered at least once, and maybe
more than once (a receiver dedupes on `seq`). Cursor, failures and lease live in the platform
store (`audit_webhooks`, `event_webhooks`), so a restart resumes after the last acknowledged batch and several
workers never post the same batch at once. The pusher is one task on the event loop that only
awaits the stores and the receivers: requests are never kept waiting for it.

Registration (`register_webhook`) takes https URLs to public addresses only, unless the operator
registering it says `allow_insecure` (a receiver on the local machine or on a private network,
such as a government extranet); it names a registered, active operator, and is audited.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit import AuditRecord, AuditStore
from audit.query import WEBHOOK_LABEL, AuditReader, Batch, Scope
from gateway import admin
from gateway.periodic import Periodic
from gateway.settings import Settings
from store import repository
from store import tables as t
from store import workflow as workflow_store

if TYPE_CHECKING:
    from gateway.runtime import Runtime

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Gateway-Signature"  # v1=<hex HMAC-SHA256 of signed_payload>, keyed with the department's secret
TIMESTAMP_HEADER = "X-Gateway-Timestamp"  # Unix seconds when the post was signed (receivers refuse stale ones)
RANGE_HEADER = "X-Gateway-Seq-Range"  # first-last: the batch holds every record of the scope in that range
DEPARTMENT_HEADER = "X-Gateway-Department"
SIGNATURE_VERSION = "v1"
REPLAY_WINDOW = 300  # seconds a receiver should accept a post's timestamp either side of its clock
LEASE_SECONDS = 120.0  # longer than one department's turn: MAX_BATCHES posts of at most TIMEOUT each
MAX_BATCHES = 10  # posts per department per turn, so one busy department does not hold its lease for long
TIMEOUT = 10.0  # seconds a receiver has to answer one post


def signed_payload(timestamp: int, department: str, seq_range: str, body: bytes) -> bytes:
    """What the signature covers: the headers a receiver acts on as well as the body, so that a
    post cannot be replayed later (timestamp), to another department's receiver, or as another range."""
    return f"{SIGNATURE_VERSION}\n{timestamp}\n{department}\n{seq_range}\n".encode() + body


def sign(secret: str, timestamp: int, department: str, seq_range: str, body: bytes) -> str:
    """The `X-Gateway-Signature` value a receiver recomputes to know the post came from the gateway, unaltered."""
    digest = hmac.new(secret.encode(), signed_payload(timestamp, department, seq_range, body), hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
           window: float = REPLAY_WINDOW) -> bool:
    """The receiver's check (docs/audit-access.md), for receivers written in Python and for tests:
    the signature holds over the headers and the body, and the timestamp is within `window` seconds."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lowered.get(TIMESTAMP_HEADER.lower(), ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > window:
        return False
    expected = sign(secret, timestamp, lowered.get(DEPARTMENT_HEADER.lower(), ""),
                    lowered.get(RANGE_HEADER.lower(), ""), body)
    return hmac.compare_digest(expected, lowered.get(SIGNATURE_HEADER.lower(), ""))


@dataclass(frozen=True)
class PushSettings:
    interval: float = 5.0
    batch: int = 200
    max_backoff: float = 300.0
    timeout: float = TIMEOUT


class Record(Protocol):
    def ndjson(self) -> str: ...  # one line of the NDJSON body, without the newline


class FeedBatch(Protocol):
    """Up to `limit` records of a department's slice after a cursor; the cursor may move to
    `through` once the batch is acknowledged (`through` <= the cursor: nothing new)."""

    @property
    def records(self) -> Sequence[Record]: ...
    @property
    def first(self) -> int: ...
    @property
    def through(self) -> int: ...


class Feed(Protocol):
    async def batch(self, department: str, after: int, limit: int) -> FeedBatch: ...


@dataclass(frozen=True)
class AuditFeed:
    """The department's scope of the audit trail (provider and consumer)."""

    reader: AuditReader

    async def batch(self, department: str, after: int, limit: int) -> Batch:
        return await self.reader.batch(Scope.of_department(self.reader.catalog, department), after=after, limit=limit)


@dataclass(frozen=True)
class EventBatch:
    records: list[workflow_store.StoredEvent]
    first: int
    through: int


@dataclass(frozen=True)
class EventFeed:
    """The workflow's notifications concerning the department (as consumer or provider); their
    own seq numbering, so the same headers and cursor serve."""

    store: AsyncEngine

    async def batch(self, department: str, after: int, limit: int) -> EventBatch:
        events = await workflow_store.load_events(self.store, department, after, limit)
        # The range starts right after the cursor, as the audit feed's: ranges follow on from each
        # other, so a receiver tells a gap from "nothing of mine in between".
        return EventBatch(events, after + 1, events[-1].seq if events else after)


class Pusher:
    """Delivers `feed` to the webhooks of `table`; `name` names its task, its log lines and its User-Agent."""

    def __init__(self, store: AsyncEngine, feed: Feed, table: Table, name: str, config: PushSettings | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None, owner: str | None = None) -> None:
        self.store = store
        self.feed = feed
        self.table = table
        self.name = name
        self.config = config or PushSettings()
        self.owner = (owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")[:64]
        self.client = httpx.AsyncClient(timeout=self.config.timeout, follow_redirects=False, transport=transport,
                                        headers={"User-Agent": f"gov-data-gateway {name} push"})
        self._timer = Periodic(f"{name}-pusher", self.config.interval, self.run_once)

    def start(self) -> None:
        self._timer.start()

    async def close(self) -> None:
        """Stop after the post in flight, if any, has been answered and its cursor stored, so a
        clean shutdown sends nothing twice; a receiver slower than that is cut off (and the batch
        is posted again after the restart)."""
        await self._timer.close(grace=self.config.timeout + 5)
        await self.client.aclose()

    async def run_once(self) -> dict[str, int]:
        """One turn over every department with a webhook; the records delivered, by department."""
        webhooks = await repository.load_webhooks(self.store, table=self.table)
        counts = await asyncio.gather(*(self._push(w.department) for w in webhooks), return_exceptions=True)
        delivered: dict[str, int] = {}
        for webhook, count in zip(webhooks, counts, strict=True):
            if isinstance(count, BaseException):
                log.warning("%s push to %s failed: %s", self.name, webhook.department, type(count).__name__)
            else:
                delivered[webhook.department] = count
        return delivered

    async def _push(self, department: str) -> int:
        table = self.table
        webhook = await repository.claim_webhook(self.store, department, self.owner, time.time(), LEASE_SECONDS,
                                                 table=table)
        if webhook is None:
            return 0
        delivered, acked = 0, webhook.acked_seq
        try:
            for _ in range(MAX_BATCHES):
                if self._timer.stopping:
                    break
                batch = await self.feed.batch(department, acked, self.config.batch)
                if batch.through <= acked:
                    break
                if batch.records:
                    error = await self._post(webhook, batch)
                    if error is not None:
                        delay = min(self.config.interval * 2 ** webhook.failures, self.config.max_backoff)
                        await repository.webhook_failed(self.store, department, self.owner, error, time.time() + delay,
                                                        table=table)
                        log.warning("%s push to %s: %s; retrying in %.0f s", self.name, department, error, delay)
                        break
                    delivered += len(batch.records)
                # Nothing of this department's in the range: the cursor moves on without a post.
                await repository.webhook_delivered(self.store, department, self.owner, batch.through,
                                                   datetime.now(UTC).isoformat() if batch.records else None, table=table)
                acked = batch.through
                if len(batch.records) < self.config.batch:
                    break
        finally:
            await repository.release_webhook(self.store, department, self.owner, table=table)
        return delivered

    async def _post(self, webhook: repository.Webhook, batch: FeedBatch) -> str | None:
        """Post one batch; None when the receiver acknowledged it (2xx), else what went wrong."""
        body = "".join(record.ndjson() + "\n" for record in batch.records).encode()
        timestamp, seq_range = int(time.time()), f"{batch.first}-{batch.through}"
        headers = {
            "Content-Type": "application/x-ndjson",
            SIGNATURE_HEADER: sign(webhook.secret, timestamp, webhook.department, seq_range, body),
            TIMESTAMP_HEADER: str(timestamp),
            RANGE_HEADER: seq_range,
            DEPARTMENT_HEADER: webhook.department,
        }
        try:
            response = await self.client.post(webhook.url, content=body, headers=headers)
        except Exception as exc:  # unreachable, timed out, refused, a malformed URL: all retried
            return type(exc).__name__
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"


class AuditPusher(Pusher):
    """The audit trail to `audit_webhooks`."""

    def __init__(self, store: AsyncEngine, reader: AuditReader, config: PushSettings | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None, owner: str | None = None) -> None:
        super().__init__(store, AuditFeed(reader), t.audit_webhooks, "audit", config, transport=transport, owner=owner)
        self.reader = reader


class EventPusher(Pusher):
    """The workflow's notifications to `event_webhooks`."""

    def __init__(self, store: AsyncEngine, config: PushSettings | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None, owner: str | None = None) -> None:
        super().__init__(store, EventFeed(store), t.event_webhooks, "event", config, transport=transport, owner=owner)


P = TypeVar("P", bound=Pusher)


async def _start(runtime: Runtime, table: Table, interval: float, make: Callable[[PushSettings], P]) -> P | None:
    """Start a pusher if its interval is on and a department has a webhook in `table`; None
    otherwise (a webhook registered later is pushed from the next start)."""
    settings = runtime.settings
    if interval <= 0:
        return None
    try:
        webhooks = await repository.load_webhooks(runtime.store_engine, table=table)
    except SQLAlchemyError as exc:  # a store not migrated yet: serve, without pushing
        log.warning("push off: the platform store has no %s table (%s); run the migrations", table.name,
                    type(exc).__name__)
        return None
    if not webhooks:
        return None
    pusher = make(PushSettings(interval=interval, batch=settings.audit_push_batch,
                               max_backoff=settings.audit_push_max_backoff_seconds))
    pusher.start()
    log.info("%s push on for %d departments", pusher.name, len(webhooks))
    return pusher


async def start_pusher(runtime: Runtime) -> AuditPusher | None:
    """The audit push, every GATEWAY_AUDIT_PUSH_SECONDS (needs migration 0003)."""
    return await _start(runtime, t.audit_webhooks, runtime.settings.audit_push_seconds,
                        lambda config: AuditPusher(runtime.store_engine,
                                                   AuditReader(runtime.audit.engine, runtime.catalog), config))


async def start_event_pusher(runtime: Runtime) -> EventPusher | None:
    """The notifications push, every GATEWAY_WORKFLOW_SWEEP_SECONDS (needs migration 0004)."""
    return await _start(runtime, t.event_webhooks, runtime.settings.workflow_sweep_seconds,
                        lambda config: EventPusher(runtime.store_engine, config))


# Registration (the command line: `gateway audit webhook set|list|remove`). Each change names its
# operator and is audited: where a department's slice goes is itself a security decision. `table`
# chooses the feed: `audit_webhooks` (the default) or `event_webhooks` (workflow notifications).

OPERATIONS = {t.audit_webhooks.name: "audit.webhook", t.event_webhooks.name: "workflow.webhook"}  # + .set / .remove

MIN_SECRET = 16
Resolver = Callable[[str, int], Awaitable[list[str]]]  # host, port → the addresses it resolves to now


class WebhookError(ValueError):
    """A webhook the platform refuses; the message says what to send instead."""


async def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos})


def _public(address: str) -> bool:
    """A unicast address on the internet: not loopback, private, link-local (169.254.169.254, the
    cloud metadata service), shared, reserved, documentation, unspecified or multicast."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_url(url: str, *, allow_insecure: bool = False, resolve: Resolver | None = None) -> str:
    """The URL as it will be stored, or WebhookError: https, no credentials in it, and a host that
    is, or resolves now only to, public addresses; `allow_insecure` admits http and any host."""
    url = url.strip()
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise WebhookError("the URL must be https:// with a host")
    if parsed.username is not None or parsed.password is not None:
        raise WebhookError("put no credentials in the URL (it is listed by `webhook list`); the signature "
                           "authenticates the gateway to the receiver")
    if allow_insecure:
        return url
    if parsed.scheme != "https":
        raise WebhookError("the URL must be https:// (http only with --allow-insecure, for a receiver on this "
                           "machine or a trusted private network)")
    try:
        port = parsed.port or 443
    except ValueError:
        raise WebhookError("the URL's port is not a number") from None
    host = parsed.hostname
    try:
        addresses = [str(ipaddress.ip_address(host.split("%")[0]))]
    except ValueError:
        addresses = await (resolve or _resolve)(host, port)
        if not addresses:
            raise WebhookError(f"{host} does not resolve from this server, so where it points cannot be checked; "
                               "register it once it resolves (or give --allow-insecure)") from None
    private = [a for a in addresses if not _public(a)]
    if private:
        raise WebhookError(f"{host} is or resolves to a loopback, private, link-local or reserved address "
                           f"({', '.join(private)}); give --allow-insecure to push to such a receiver")
    return url


async def register_webhook(settings: Settings, department: str, url: str, secret: str | None = None,
                           skip_history: bool = False, *, operator: str, allow_insecure: bool = False,
                           resolve: Resolver | None = None, table: Table = t.audit_webhooks) -> str:
    """Register or replace DEPARTMENT's webhook; the secret in force (generated when not given).
    A new webhook receives the department's whole slice from the first record, unless
    `skip_history`; a replaced one keeps its cursor."""
    operation = _operation(table, "set")
    url = await check_url(url, allow_insecure=allow_insecure, resolve=resolve)
    if secret is not None and len(secret) < MIN_SECRET:
        raise WebhookError(f"the secret must be at least {MIN_SECRET} characters (or leave it out to have one generated)")
    secret = secret or secrets.token_urlsafe(32)
    async with admin.open_stores(settings) as stores, stores.store.begin() as conn:
        principals = await repository.load_principals(conn)
        if department not in principals.departments:
            raise WebhookError(f"no department {department!r} in the platform store")
        operator = _operator(principals, operator)
        tail = await _tail(stores, conn, table) if skip_history else None
        await repository.set_webhook(conn, department, url, secret, tail, table=table)
        await _audit_change(stores.audit, operation, department, operator)
    return secret


async def unregister_webhook(settings: Settings, department: str, *, operator: str,
                             table: Table = t.audit_webhooks) -> bool:
    operation = _operation(table, "remove")
    async with admin.open_stores(settings) as stores, stores.store.begin() as conn:
        operator = _operator(await repository.load_principals(conn), operator)
        removed = await repository.remove_webhook(conn, department, table=table)
        if removed:
            await _audit_change(stores.audit, operation, department, operator)
        return removed


async def list_webhooks(settings: Settings, *, table: Table = t.audit_webhooks) -> list[repository.Webhook]:
    async with admin.open_stores(settings) as stores:
        return await repository.load_webhooks(stores.store, table=table)


def _operation(table: Table, verb: str) -> str:
    if table.name not in OPERATIONS:
        raise ValueError(f"{table.name} is not a webhooks table")
    return f"{OPERATIONS[table.name]}.{verb}"


async def _tail(stores: admin.Stores, conn: AsyncConnection, table: Table) -> int:
    """The last seq of the feed now: where a webhook that skips the history starts."""
    if table.name == t.event_webhooks.name:
        return await workflow_store.last_event_seq(conn)
    return await AuditReader(stores.audit.engine, stores.catalog).tail()


def _operator(principals: repository.Principals, operator: str) -> str:
    who = principals.active_operator(operator)
    if who is None:
        raise WebhookError("name a registered, active operator making the change (--operator): changes are "
                           "audited by real name")
    return who


async def _audit_change(audit: AuditStore, operation: str, department: str, operator: str) -> None:
    """Recorded before the change commits: no record, no change (the caller's transaction rolls back).
    The `webhook:<department>` key puts the record in that department's own scope."""
    await audit.append(AuditRecord.administrative(operation, operator, fields={f"{WEBHOOK_LABEL}{department}": "POLICY"},
                                                  client="cli"))
