"""Pushing each department its slice of the audit trail to its webhook, at least once: against a
real HTTP receiver (uvicorn on a free local port, registered with allow_insecure): delivery,
signature over the headers and the body, retry after a failure, backoff, resume after a restart,
one pusher per department at a time, and scope; registration: https to public addresses only
unless allowed, by a registered operator, audited in the department's own scope."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from audit import AuditRecord, AuditStore
from audit.query import AuditReader, Scope
from gateway.app import create_app
from gateway.push import (
    AuditPusher,
    PushSettings,
    WebhookError,
    check_url,
    register_webhook,
    sign,
    unregister_webhook,
    verify,
)
from gateway.runtime import make_engine
from gateway.settings import Settings
from schema.loader import DEMO_CATALOG_DIR, parse_documents
from store import repository
from store import tables as t
from store.migrate import upgrade
from tests.postgres import temporary_databases
from tests.support import Gateway

SECRETS = {"RS": "rs-secret-0123456789", "FG": "fg-secret-0123456789", "GA": "ga-secret-0123456789"}
OPERATOR = "sj-zhoumin"  # the demo's platform operator
PUBLIC = {"receiver.example.org": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
          "rebind.example.org": ["93.184.215.14", "10.0.0.7"], "localhost": ["127.0.0.1", "::1"]}


async def resolve(host: str, port: int) -> list[str]:
    """Name resolution as a test sees it (the sandbox has no DNS)."""
    return PUBLIC.get(host, [])


def expected_signature(secret: str, headers: dict[str, str], body: bytes) -> str:
    """The documented receiver check, computed here independently of gateway.push."""
    signed = "v1\n{}\n{}\n{}\n".format(headers["x-gateway-timestamp"], headers["x-gateway-department"],
                                           headers["x-gateway-seq-range"]).encode() + body
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


@dataclass
class Post:
    department: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def seqs(self) -> list[int]:
        return [json.loads(line)["seq"] for line in self.body.decode().splitlines()]

    @property
    def range(self) -> tuple[int, int]:
        first, _, last = self.headers["x-gateway-seq-range"].partition("-")
        return int(first), int(last)


class Receiver:
    """A department's webhook endpoint: answers scripted statuses (then 200) and keeps every post."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        app = Starlette(routes=[Route("/hooks/{department}", self._hook, methods=["POST"])])
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.task: asyncio.Task[None] | None = None

    def url(self, department: str) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hooks/{department}"

    def delivered(self, department: str) -> list[Post]:
        return [p for p in self.posts if p.department == department and p.status == 200]

    def seqs(self, department: str) -> list[int]:
        return [s for p in self.delivered(department) for s in p.seqs]

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        self.posts.append(Post(request.path_params["department"], dict(request.headers), body, status))
        return Response(status_code=status)

    async def __aenter__(self) -> Receiver:
        self.task = asyncio.get_running_loop().create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        assert self.task is not None
        await self.task


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


async def hooks(settings: Settings, receiver: Receiver, *departments: str) -> None:
    for department in departments:
        await register_webhook(settings, department, receiver.url(department), SECRETS[department],
                               operator=OPERATOR, allow_insecure=True)  # a receiver on this machine


def pusher(gateway: Gateway, owner: str = "worker-1", **config: Any) -> AuditPusher:
    runtime = gateway.runtime
    values = {"interval": 0.05, "batch": 2, **config}
    return AuditPusher(runtime.store_engine, AuditReader(runtime.audit.engine, runtime.catalog), PushSettings(**values),
                       owner=owner)


async def traffic(gateway: Gateway) -> None:
    await gateway.query('{ person(idNumber: "%s") { name mobile } }' % gateway.sample_id)  # MZ reads GA
    await gateway.query('{ person(idNumber: "%s") { insuranceStatus } }' % gateway.sample_id)  # MZ reads RS
    await gateway.query('{ person(idNumber: "%s") { dishonestDebtor } }' % gateway.sample_id)  # MZ reads FG
    await gateway.query('{ person(idNumber: "%s") { name } }' % gateway.sample_id, app_id="rs-employment",
                        purpose=None)  # RS's own request, refused
    await gateway.query('{ enterprise(creditCode: "%s") { creditRating } }' % gateway.sample_code, app_id="fg-credit",
                        purpose="MARKET_SUPERVISION")  # FG's own


async def slice_of(gateway: Gateway, department: str) -> list[int]:
    """The department's slice, from the stored records and the catalog (independent of audit.query)."""
    catalog = gateway.runtime.catalog
    provided = {c for c, r in catalog.resources.items() if r.provider == department}
    seqs = []
    for r in reversed(await gateway.runtime.audit.records(limit=10_000)):
        touched = set(r["rows"]) | {catalog.by_coordinate[k.split(":")[-1]].resource.code
                                    for k in r["fields"] if k.split(":")[-1] in catalog.by_coordinate}
        if r["department"] == department or touched & provided or f"webhook:{department}" in r["fields"]:
            seqs.append(r["seq"])
    return seqs


async def webhook(gateway: Gateway, department: str) -> repository.Webhook:
    return next(w for w in await repository.load_webhooks(gateway.runtime.store_engine) if w.department == department)


async def test_each_department_receives_its_slice_signed_in_order(gateway: Gateway, settings: Settings,
                                                                 receiver: Receiver) -> None:
    await hooks(settings, receiver, "RS", "FG")
    await traffic(gateway)
    push = pusher(gateway)
    try:
        delivered = await push.run_once()
    finally:
        await push.close()
    for department in ("RS", "FG"):
        expected = await slice_of(gateway, department)
        assert expected and receiver.seqs(department) == expected  # exactly its slice, oldest first
        assert delivered[department] == len(expected)
        posts = receiver.delivered(department)
        for post in posts:
            assert post.headers["x-gateway-signature"] == expected_signature(SECRETS[department], post.headers,
                                                                             post.body)
            assert abs(int(post.headers["x-gateway-timestamp"]) - time.time()) < 60
            assert verify(SECRETS[department], post.headers, post.body)
            assert post.headers["content-type"] == "application/x-ndjson"
            assert post.headers["x-gateway-department"] == department
            assert post.range[0] <= min(post.seqs) and max(post.seqs) <= post.range[1]
            assert len(post.seqs) <= 2
        assert [p.range[0] for p in posts[1:]] == [p.range[1] + 1 for p in posts[:-1]]  # ranges follow each other
    tail = await AuditReader(gateway.runtime.audit.engine, gateway.runtime.catalog).tail()
    for department in ("RS", "FG"):  # past the last post: nothing of theirs after it, so the cursor moved on
        assert (await webhook(gateway, department)).acked_seq == tail
    assert not receiver.delivered("GA")


async def test_a_failed_post_is_retried_until_acknowledged(gateway: Gateway, settings: Settings,
                                                          receiver: Receiver) -> None:
    await hooks(settings, receiver, "RS")
    await traffic(gateway)
    receiver.statuses = [500]
    push = pusher(gateway, batch=50)
    try:
        assert await push.run_once() == {"RS": 0}
        state = await webhook(gateway, "RS")
        assert (state.acked_seq, state.failures, state.last_error) == (0, 1, "HTTP 500")
        assert await push.run_once() == {"RS": 0} and len(receiver.posts) == 1  # backing off: not due yet
        await asyncio.sleep(0.06)
        assert await push.run_once() == {"RS": len(await slice_of(gateway, "RS"))}
    finally:
        await push.close()
    failed, retried = receiver.posts
    assert failed.status == 500 and retried.status == 200
    assert failed.body == retried.body and failed.range == retried.range  # the same records, again
    state = await webhook(gateway, "RS")
    assert (state.acked_seq, state.failures, state.last_error) == (retried.range[1], 0, None)
    assert state.delivered_at is not None


async def test_backoff_doubles_up_to_its_cap(gateway: Gateway, settings: Settings, receiver: Receiver) -> None:
    await hooks(settings, receiver, "RS")
    await traffic(gateway)
    receiver.statuses = [503] * 10
    push = pusher(gateway, interval=0.05, max_backoff=0.15)
    try:
        for wait in (0.05, 0.1, 0.15, 0.15):  # doubling from the interval, then capped
            before = time.time()
            await push.run_once()
            after = time.time()
            state = await webhook(gateway, "RS")
            assert state.next_attempt_at is not None
            assert state.next_attempt_at - after <= wait <= state.next_attempt_at - before
            await asyncio.sleep(state.next_attempt_at - time.time() + 0.01)
    finally:
        await push.close()
    assert (await webhook(gateway, "RS")).failures == 4
    assert len(receiver.posts) == 4 and {p.status for p in receiver.posts} == {503}


async def test_an_unreachable_webhook_is_retried_too(gateway: Gateway, settings: Settings) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    await register_webhook(settings, "RS", f"http://127.0.0.1:{port}/hook", SECRETS["RS"], operator=OPERATOR,
                           allow_insecure=True)
    await traffic(gateway)
    push = pusher(gateway)
    try:
        assert await push.run_once() == {"RS": 0}
    finally:
        await push.close()
    state = await webhook(gateway, "RS")
    assert (state.acked_seq, state.failures, state.last_error) == (0, 1, "ConnectError")


async def test_a_new_pusher_resumes_after_the_last_acknowledged_batch(gateway: Gateway, settings: Settings,
                                                                     receiver: Receiver) -> None:
    await hooks(settings, receiver, "RS")
    await traffic(gateway)
    expected = await slice_of(gateway, "RS")
    assert len(expected) >= 2
    receiver.statuses = [200, 500]  # the first batch is acknowledged, then the receiver fails
    first = pusher(gateway, batch=1, owner="before-restart")
    try:
        await first.run_once()
    finally:
        await first.close()
    assert receiver.seqs("RS") == expected[:1]
    state = await webhook(gateway, "RS")
    assert state.acked_seq >= expected[0] and state.acked_seq < expected[1]
    await asyncio.sleep(0.06)  # past the backoff
    second = pusher(gateway, batch=1, owner="after-restart")
    try:
        await second.run_once()
    finally:
        await second.close()
    assert receiver.seqs("RS") == expected  # each acknowledged record once; the failed one again, then the rest
    assert receiver.posts[2].range[0] == state.acked_seq + 1


async def test_two_workers_never_push_one_department_at_once(gateway: Gateway, settings: Settings,
                                                            receiver: Receiver) -> None:
    await hooks(settings, receiver, "RS")
    await traffic(gateway)
    receiver.delay = 0.1
    one, two = pusher(gateway, owner="worker-1", batch=50), pusher(gateway, owner="worker-2", batch=50)
    try:
        counts = await asyncio.gather(one.run_once(), two.run_once())
    finally:
        await one.close()
        await two.close()
    assert sorted(c["RS"] for c in counts) == [0, len(await slice_of(gateway, "RS"))]
    assert len(receiver.posts) == 1


async def test_the_gateway_pushes_while_it_serves_and_resumes_after_a_restart(
        settings: Settings, credentials: dict[str, Any], receiver: Receiver) -> None:
    await register_webhook(settings, "MZ", receiver.url("MZ"), "mz-secret-0123456789", operator=OPERATOR,
                           allow_insecure=True)
    live = Settings.from_env({"GATEWAY_POLICY_REFRESH_SECONDS": "0", "GATEWAY_AUDIT_PUSH_SECONDS": "0.05"},
                             data_dir=settings.data_dir)
    mz = next(a for a in credentials["applications"] if a["id"] == "mz-assistance")
    headers = {"Authorization": f"Bearer {mz['token']}", "X-Operator": mz["operators"][0],
               "X-Purpose": "SOCIAL_ASSISTANCE_REVIEW"}
    query = {"query": '{ person(idNumber: "%s") { name } }' % credentials["samples"]["idNumbers"][0]}

    async def serve_one_request() -> str:
        app = create_app(live)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
                request_id = (await client.post("/graphql", json=query, headers=headers)).json()["extensions"]["requestId"]
                for _ in range(200):
                    if any(request_id in p.body.decode() for p in receiver.delivered("MZ")):
                        return str(request_id)
                    await asyncio.sleep(0.02)
        raise AssertionError("the request's audit record was not pushed")

    first = await serve_one_request()
    second = await serve_one_request()  # a new process: the cursor comes from the platform store
    records = [json.loads(line)["record"] for p in receiver.delivered("MZ") for line in p.body.decode().splitlines()]
    [registration] = [r for r in records if r["operation"] == "audit.webhook.set"]  # MZ's own webhook, first
    assert [r["request_id"] for r in records] == [registration["request_id"], first, second]  # each once, in order
    assert all(r["department"] == "MZ" for r in records if r is not registration)


async def test_no_pusher_runs_without_a_webhook(gateway: Gateway) -> None:
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "audit-pusher"]


async def test_registration_is_checked_and_audited(gateway: Gateway, settings: Settings) -> None:
    url = "https://receiver.example.org/hook"
    with pytest.raises(WebhookError, match="https"):
        await register_webhook(settings, "RS", "ftp://example.org/hook", operator=OPERATOR)
    with pytest.raises(WebhookError, match="at least 16"):
        await register_webhook(settings, "RS", url, "short", operator=OPERATOR, resolve=resolve)
    with pytest.raises(WebhookError, match="no department"):
        await register_webhook(settings, "XX", url, operator=OPERATOR, resolve=resolve)
    generated = await register_webhook(settings, "RS", url, operator=OPERATOR, resolve=resolve)
    assert len(generated) >= 32
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["operation"] == "audit.webhook.set" and record["fields"] == {"webhook:RS": "POLICY"}
    assert record["operator"] == OPERATOR
    await traffic(gateway)
    tail = await AuditReader(gateway.runtime.audit.engine, gateway.runtime.catalog).tail()
    await register_webhook(settings, "FG", "https://receiver.example.org/fg", skip_history=True, operator=OPERATOR,
                           resolve=resolve)
    assert (await webhook(gateway, "FG")).acked_seq == tail
    await register_webhook(settings, "RS", "https://93.184.215.14/moved", SECRETS["RS"], operator=OPERATOR)
    assert (await webhook(gateway, "RS")).url == "https://93.184.215.14/moved"  # keeps its cursor
    assert Scope.of_department(gateway.runtime.catalog, "RS").resources == {"2-01-001-001/000001", "2-01-002-001/000001"}


@pytest.mark.parametrize("url", [
    "http://receiver.example.org/hook",  # not https
    "https://127.0.0.1/hook", "https://localhost:8443/hook", "https://[::1]/hook",
    "https://10.1.2.3/hook", "https://192.168.0.5/hook", "https://100.64.0.1/hook",  # private, shared
    "https://169.254.169.254/latest/meta-data/", "https://[fe80::1]/hook",  # link-local: the metadata service
    "https://[::ffff:127.0.0.1]/hook", "https://0.0.0.0/hook", "https://224.0.0.1/hook",
    "https://rebind.example.org/hook",  # one of its addresses is private
    "https://nowhere.example.org/hook",  # does not resolve: cannot be checked
    "https://user:pass@receiver.example.org/hook",  # credentials in the URL are listed by `webhook list`
])
async def test_a_webhook_must_be_https_to_a_public_address(url: str) -> None:
    with pytest.raises(WebhookError):
        await check_url(url, resolve=resolve)


async def test_allow_insecure_admits_http_and_private_receivers(settings: Settings, gateway: Gateway) -> None:
    assert await check_url("https://receiver.example.org:8443/hook", resolve=resolve)
    assert await check_url("https://[2606:4700::1111]/hook", resolve=resolve)
    for url in ("http://127.0.0.1:9000/hook", "https://10.1.2.3/hook", "http://intranet.gov.local/hook"):
        assert await check_url(url, allow_insecure=True, resolve=resolve) == url
    with pytest.raises(WebhookError, match="credentials"):
        await check_url("http://u:p@127.0.0.1/hook", allow_insecure=True)


async def test_registration_and_removal_name_an_active_operator(gateway: Gateway, settings: Settings) -> None:
    from sqlalchemy import update

    url = "https://93.184.215.14/hook"
    for who in ("", "nobody"):
        with pytest.raises(WebhookError, match="operator"):
            await register_webhook(settings, "RS", url, operator=who)
    async with gateway.runtime.store_engine.begin() as conn:
        await conn.execute(update(t.operators).where(t.operators.c.id == "rs-liuyang").values(active=False))
    with pytest.raises(WebhookError, match="operator"):
        await register_webhook(settings, "RS", url, operator="rs-liuyang")
    assert await repository.load_webhooks(gateway.runtime.store_engine) == []  # refused: nothing stored
    assert not [r for r in await gateway.runtime.audit.records(limit=100) if r["operation"].startswith("audit.webhook")]
    await register_webhook(settings, "RS", url, operator=OPERATOR)
    with pytest.raises(WebhookError, match="operator"):
        await unregister_webhook(settings, "RS", operator="rs-liuyang")
    assert await unregister_webhook(settings, "RS", operator="fg-chenjing")
    [removal] = await gateway.runtime.audit.records(limit=1)
    assert (removal["operation"], removal["operator"], removal["fields"]) == (
        "audit.webhook.remove", "fg-chenjing", {"webhook:RS": "POLICY"})


async def test_changes_to_a_departments_webhook_are_in_its_own_scope(gateway: Gateway, settings: Settings,
                                                                    receiver: Receiver) -> None:
    await hooks(settings, receiver, "RS")
    await unregister_webhook(settings, "RS", operator=OPERATOR)
    await hooks(settings, receiver, "RS", "GA")
    catalog = gateway.runtime.catalog
    changes = [r for r in await gateway.runtime.audit.records(limit=100) if r["operation"].startswith("audit.webhook")]
    about_rs = [r for r in changes if "webhook:RS" in r["fields"]]
    assert len(about_rs) == 3 and all(Scope.of_department(catalog, "RS").admits(r) for r in about_rs)
    assert not any(Scope.of_department(catalog, d).admits(r) for r in about_rs for d in ("GA", "MZ", "FG"))
    push = pusher(gateway, batch=50)
    try:
        await push.run_once()
    finally:
        await push.close()
    pushed = {json.loads(line)["record"]["request_id"] for p in receiver.delivered("RS") for line in p.body.splitlines()}
    assert {r["request_id"] for r in about_rs} <= pushed  # RS's receiver hears where RS's slice goes
    ga = {json.loads(line)["record"]["request_id"] for p in receiver.delivered("GA") for line in p.body.splitlines()}
    assert not ga & {r["request_id"] for r in about_rs}


def test_the_signature_covers_the_timestamp_department_and_range() -> None:
    secret, body = SECRETS["RS"], b'{"seq":1}\n'
    headers = {"X-Gateway-Timestamp": "1700000000", "X-Gateway-Department": "RS", "X-Gateway-Seq-Range": "1-5"}
    headers["X-Gateway-Signature"] = sign(secret, 1700000000, "RS", "1-5", body)
    assert headers["X-Gateway-Signature"] == expected_signature(secret, {k.lower(): v for k, v in headers.items()}, body)
    assert verify(secret, headers, body, now=1700000100)
    assert not verify(secret, headers, body, now=1700000000 + 301)  # replayed after the window
    assert not verify(secret, headers, body + b" ", now=1700000000)
    assert not verify("another-secret-0123456789", headers, body, now=1700000000)
    for name, value in (("X-Gateway-Department", "FG"), ("X-Gateway-Seq-Range", "1-9"),
                        ("X-Gateway-Timestamp", "1700000050"), ("X-Gateway-Timestamp", "soon")):
        assert not verify(secret, {**headers, name: value}, body, now=1700000000), name
    assert sign(secret, 1700000000, "RS", "1-5", body) != "v1=" + hmac.new(secret.encode(), body,
                                                                           hashlib.sha256).hexdigest()


def test_webhook_commands(data_dir: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gateway", "audit", "webhook", *args, "--data-dir", str(data_dir)],
                              capture_output=True, text=True, timeout=120)

    assert cli("set", "RS", "https://93.184.215.14/rs").returncode == 2  # --operator is required
    done = cli("set", "RS", "https://93.184.215.14/rs", "--operator", OPERATOR)
    assert done.returncode == 0, done.stderr
    secret = done.stdout.split("secret: ")[1].split()[0]
    listed = cli("list")
    assert "RS\thttps://93.184.215.14/rs\tacked through seq 0" in listed.stdout and secret not in listed.stdout
    assert cli("set", "RS", "https://93.184.215.14/rs", "--secret", "tiny", "--operator", OPERATOR).returncode == 1
    metadata = cli("set", "RS", "http://169.254.169.254/latest/meta-data/", "--operator", OPERATOR)
    assert metadata.returncode == 1 and "https" in metadata.stderr
    metadata = cli("set", "RS", "https://169.254.169.254/latest/meta-data/", "--operator", OPERATOR)
    assert metadata.returncode == 1 and "link-local" in metadata.stderr and "--allow-insecure" in metadata.stderr
    local = cli("set", "RS", "http://127.0.0.1:9000/rs", "--operator", OPERATOR, "--allow-insecure")
    assert local.returncode == 0, local.stderr
    assert cli("remove", "RS", "--operator", "nobody").returncode == 1
    assert cli("remove", "RS", "--operator", OPERATOR).returncode == 0
    assert cli("list").stdout == "" and cli("remove", "RS", "--operator", OPERATOR).returncode == 1


@pytest.fixture(scope="module")
def postgres_stores() -> Iterator[dict[str, str]]:
    """A migrated platform store and an audit store on PostgreSQL, where a server answers."""
    with temporary_databases("push", ["platform", "audit"]) as urls:
        upgrade(urls["platform"])
        yield urls


@pytest.mark.postgres
async def test_push_on_postgres(postgres_stores: dict[str, str], receiver: Receiver) -> None:
    documents = [tomllib.loads(p.read_text(encoding="utf-8")) for p in sorted(DEMO_CATALOG_DIR.glob("*.toml"))]
    catalog = parse_documents((str(i), d) for i, d in enumerate(documents))
    store, audit = make_engine(postgres_stores["platform"]), AuditStore(make_engine(postgres_stores["audit"]))
    await audit.create()
    try:
        async with store.begin() as conn:
            await conn.execute(t.departments.insert(), [{"code": "RS", "name": "人社", "level": "CITY"}])
            await repository.set_webhook(conn, "RS", receiver.url("RS"), SECRETS["RS"])
        for n, (department, fields) in enumerate([("MZ", {"Person.insuranceStatus": "RAW"}), ("MZ", {"Person.name": "RAW"}),
                                                  ("RS", {})]):
            await audit.append(AuditRecord(request_id=f"r{n}", at="2024-05-01T00:00:00+00:00", operation="query",
                                           outcome="SERVED", department=department, fields=fields))
        reader = AuditReader(audit.engine, catalog)
        assert await repository.claim_webhook(store, "RS", "other", time.time(), 60) is not None  # another worker's lease
        blocked = AuditPusher(store, reader, PushSettings(interval=0.05), owner="worker-1")
        try:
            assert await blocked.run_once() == {"RS": 0} and receiver.posts == []
            await repository.release_webhook(store, "RS", "other")
            assert await blocked.run_once() == {"RS": 2}
        finally:
            await blocked.close()
        [post] = receiver.posts
        assert post.seqs == [1, 3] and post.range == (1, 3)
        assert post.headers["x-gateway-signature"] == expected_signature(SECRETS["RS"], post.headers, post.body)
        [state] = await repository.load_webhooks(store)
        assert (state.acked_seq, state.failures) == (3, 0)
    finally:
        await audit.close()
        await store.dispose()
