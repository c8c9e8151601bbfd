"""Pushing each department the workflow's notifications that concern it (event_webhooks), with the
audit push's delivery (gateway.push.Pusher): exactly its events, signed; the cursor moves only
after a 2xx; a failure keeps it and backs off; nothing is posted twice. Registration on the events
table is audited as workflow.webhook.*; it may skip the history."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import admin, push
from gateway.push import EventPusher, PushSettings, list_webhooks, register_webhook, start_event_pusher, unregister_webhook
from gateway.runtime import Runtime, make_engine
from gateway.settings import Settings
from store import repository
from store import tables as t
from store.workflow import Event, add_events, last_event_seq

SECRET = "mz-events-secret-0123456789"
OPERATOR = "mz-wangli"
URL = "http://127.0.0.1:9/events/MZ"  # never reached: the MockTransport answers
AT = "2025-03-03T09:00:00+00:00"


@dataclass
class Receiver:
    """The MockTransport's handler: answers scripted statuses (then 200) and keeps every post."""

    statuses: list[int] = field(default_factory=list)
    posts: list[tuple[httpx.Request, int]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        status = self.statuses.pop(0) if self.statuses else 200
        self.posts.append((request, status))
        return httpx.Response(status)

    def lines(self, index: int) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.posts[index][0].content.decode().splitlines()]


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.store_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def add(store: AsyncEngine, *events: Event) -> None:
    async with store.begin() as conn:
        await add_events(conn, events, AT)


def event(consumer: str, provider: str, application: str = "SA-1", kind: str = "SUBMITTED") -> Event:
    return Event(kind=kind, share_application=application, consumer=consumer, provider=provider,
                 detail={"note": "材料齐全"})


async def cursor(store: AsyncEngine) -> repository.Webhook:
    (webhook,) = await repository.load_webhooks(store, table=t.event_webhooks)
    return webhook


def pusher(store: AsyncEngine, receiver: Receiver, **config: Any) -> EventPusher:
    return EventPusher(store, PushSettings(**{"interval": 0.05, "batch": 10, **config}),
                       transport=httpx.MockTransport(receiver), owner="worker-1")


async def test_a_department_receives_exactly_its_events_signed_once(settings: Settings, store: AsyncEngine) -> None:
    base = await last_event_seq(store)  # events the demo may hold already: not MZ's webhook's concern below
    await register_webhook(settings, "MZ", URL, SECRET, True, operator=OPERATOR, allow_insecure=True,
                           table=t.event_webhooks)
    await add(store, event("MZ", "GA"), event("FG", "RS", "SA-2"), event("MZ", "SCJG", "SA-3"),
              event("RS", "MZ", "SA-4", "APPROVED"))
    assert [w.department for w in await list_webhooks(settings, table=t.event_webhooks)] == ["MZ"]
    assert await list_webhooks(settings) == []  # the audit feed's table is another

    receiver = Receiver()
    events = pusher(store, receiver)
    try:
        assert await events.run_once() == {"MZ": 3}
        (request, status), = receiver.posts
        assert status == 200 and request.url == httpx.URL(URL)
        assert [(e["seq"] - base, e["shareApplication"]) for e in receiver.lines(0)] == [
            (1, "SA-1"), (3, "SA-3"), (4, "SA-4")]
        assert receiver.lines(0)[0] == {"seq": base + 1, "at": AT, "kind": "SUBMITTED", "shareApplication": "SA-1",
                                        "grant": None, "consumer": "MZ", "provider": "GA", "actor": None,
                                        "detail": {"note": "材料齐全"}}
        assert "材料齐全".encode() in request.content  # ensure_ascii=False
        assert request.headers["x-gateway-seq-range"] == f"{base + 1}-{base + 4}"
        assert request.headers["x-gateway-department"] == "MZ"
        assert request.headers["content-type"] == "application/x-ndjson"
        assert request.headers["user-agent"] == "gov-data-gateway event push"
        assert push.verify(SECRET, request.headers, request.content)
        assert not push.verify("another-secret-0123456789", request.headers, request.content)
        assert not push.verify(SECRET, {**request.headers, "x-gateway-department": "FG"}, request.content)
        assert (await cursor(store)).acked_seq == base + 4

        assert await events.run_once() == {"MZ": 0}  # nothing new: nothing posted
        assert len(receiver.posts) == 1 and (await cursor(store)).acked_seq == base + 4
        await add(store, event("FG", "GA", "SA-5"))  # not MZ's: the cursor stays, nothing posted
        assert await events.run_once() == {"MZ": 0} and len(receiver.posts) == 1
    finally:
        await events.close()


async def test_a_failed_post_keeps_the_cursor_and_backs_off(settings: Settings, store: AsyncEngine) -> None:
    base = await last_event_seq(store)
    await register_webhook(settings, "MZ", URL, SECRET, True, operator=OPERATOR, allow_insecure=True,
                           table=t.event_webhooks)
    await add(store, event("MZ", "GA"), event("MZ", "GA", "SA-2"), event("MZ", "RS", "SA-3"))
    receiver = Receiver(statuses=[500])
    events = pusher(store, receiver, batch=2, interval=30.0)
    try:
        assert await events.run_once() == {"MZ": 0}
        webhook = await cursor(store)
        assert webhook.acked_seq == base and webhook.failures == 1 and webhook.last_error == "HTTP 500"
        assert webhook.next_attempt_at is not None and webhook.next_attempt_at > time.time() + 20  # interval · 2^0
        assert await events.run_once() == {"MZ": 0} and len(receiver.posts) == 1  # backing off: not due yet

        async with store.begin() as conn:  # the backoff is over
            await conn.execute(t.event_webhooks.update().values(next_attempt_at=None))
        assert await events.run_once() == {"MZ": 3}
        assert [status for _, status in receiver.posts] == [500, 200, 200]
        assert receiver.lines(1) == receiver.lines(0)  # the failed batch again, then the rest
        assert [e["seq"] - base for e in receiver.lines(1) + receiver.lines(2)] == [1, 2, 3]
        ranges = [f"{base + 1}-{base + 2}", f"{base + 1}-{base + 2}", f"{base + 3}-{base + 3}"]
        assert [r.headers["x-gateway-seq-range"] for r, _ in receiver.posts] == ranges
        webhook = await cursor(store)
        assert (webhook.acked_seq, webhook.failures, webhook.last_error, webhook.next_attempt_at) == (base + 3, 0, None, None)
        assert webhook.delivered_at is not None
    finally:
        await events.close()


async def test_registration_is_audited_as_workflow_and_may_skip_the_history(settings: Settings,
                                                                           store: AsyncEngine) -> None:
    await add(store, event("MZ", "GA"), event("MZ", "GA", "SA-2"))
    await register_webhook(settings, "MZ", URL, SECRET, True, operator=OPERATOR, allow_insecure=True,
                           table=t.event_webhooks)
    assert (await cursor(store)).acked_seq == await last_event_seq(store) > 0  # starts after the last event now
    receiver = Receiver()
    events = pusher(store, receiver)
    try:
        assert await events.run_once() == {"MZ": 0} and receiver.posts == []
    finally:
        await events.close()

    with pytest.raises(push.WebhookError):
        await register_webhook(settings, "MZ", URL, SECRET, operator="nobody", allow_insecure=True,
                               table=t.event_webhooks)
    assert await unregister_webhook(settings, "MZ", operator=OPERATOR, table=t.event_webhooks)
    assert not await unregister_webhook(settings, "MZ", operator=OPERATOR, table=t.event_webhooks)
    assert await repository.load_webhooks(store, table=t.event_webhooks) == []
    async with admin.open_stores(settings) as stores:
        records = await stores.audit.records(limit=10)
    changes = [(r["operation"], r["operator"], r["fields"]) for r in records if "webhook" in str(r.get("operation"))]
    assert changes == [("workflow.webhook.remove", OPERATOR, {"webhook:MZ": "POLICY"}),
                       ("workflow.webhook.set", OPERATOR, {"webhook:MZ": "POLICY"})]


async def test_the_event_pusher_starts_with_a_webhook_and_the_sweep_on(settings: Settings, store: AsyncEngine) -> None:
    def runtime(sweep: float) -> Runtime:
        return cast(Runtime, SimpleNamespace(settings=Settings.from_env(
            {"GATEWAY_WORKFLOW_SWEEP_SECONDS": str(sweep)}, data_dir=settings.data_dir), store_engine=store))

    assert await start_event_pusher(runtime(60)) is None  # no webhook yet
    await register_webhook(settings, "MZ", URL, SECRET, operator=OPERATOR, allow_insecure=True, table=t.event_webhooks)
    assert await start_event_pusher(runtime(0)) is None  # the sweep is off
    started = await start_event_pusher(runtime(60))
    assert isinstance(started, EventPusher)
    try:
        assert started.config.interval == 60 and started.table is t.event_webhooks
    finally:
        await started.close()
