"""Everything a running gateway holds, opened and closed in one lifespan (never imported as
globals): engines, principals, the catalog, the planner, the generated schema, the audit store."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson
import strawberry
from graphql import GraphQLSchema
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from audit import AuditStore
from audit.query import AuditReader
from audit.subjects import LABEL as SUBJECT_LABEL
from gateway.alarms import CheckMonitor
from gateway.documents import DocumentCache
from gateway.errors import ErrorCode, RequestRefused
from gateway.fanout import PolicyChannel
from gateway.limits import InProcessLimiter, Limiter, make_limiter
from gateway.persisted import PersistedQueries
from gateway.settings import Settings
from gateway.sqlite import CONNECT_ARGS, use_pragmas
from masking import KeyRing
from policies.planner import Planner
from resolvers.datasource import LibrarySource, library_sources
from resolvers.pagination import CursorCodec
from schema.audit_api import AuditAccess
from schema.builder import build_schema
from schema.catalog import Catalog
from schema.policy_api import PolicyAccess
from schema.workflow_api import WorkflowAccess
from store import repository
from store.policy import build_policy
from store.repository import Principals
from workflow.service import Deadlines, now
from workflow.unit import WorkflowUnit

log = logging.getLogger(__name__)


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args=CONNECT_ARGS, json_deserializer=orjson.loads)
        use_pragmas(engine.sync_engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True, json_deserializer=orjson.loads)


def make_library_engine(url: str, pool_size: int) -> AsyncEngine:
    """A library on a database server is read one statement at a time: no transaction to open and
    roll back, no ping before each checkout (LibrarySource retries once on a dropped connection),
    and a fixed pool, because overflow connections are closed on return and reopened under load,
    each a new server process (bench/README.md, item 3: PostgreSQL's own CPU per request fell 13×)."""
    if url.startswith("sqlite"):
        return make_engine(url)
    return create_async_engine(url, isolation_level="AUTOCOMMIT", pool_size=pool_size, max_overflow=0,
                               pool_recycle=300)


def load_keys(settings: Settings) -> KeyRing:
    """The platform's masking key. The embedded default creates it on first start; a deployment
    on a server database must provide it (a worker inventing its own key would give pseudonyms,
    tokens and cursors that the other workers do not share)."""
    embedded = settings.store_url.startswith("sqlite")
    try:
        return KeyRing.from_file(settings.masking_key_path, create=embedded)
    except FileNotFoundError:
        raise RuntimeError(
            f"masking key file {settings.masking_key_path} is missing: create it once (32 random bytes, base64, "
            "mode 0600) and give every worker the same file; see docs/configuration.md"
        ) from None


async def open_audit(settings: Settings) -> AuditStore:
    """The audit store as configured: its chain's algorithm, and the checkpointer that signs it
    into the checkpoint database. The embedded default creates the signing key on first start,
    like the masking key; a deployment on a server database must provide it. A checkpoint
    database that does not answer at start-up is reported on /readyz, not fatal. An empty
    checkpoint URL is refused: a gateway never runs without signed checkpoints."""
    from audit.checkpoints import Checkpointer, CheckpointStore, SigningKey

    if not settings.audit_checkpoint_url.strip():
        raise RuntimeError(
            "GATEWAY_AUDIT_CHECKPOINT_URL is empty: the audit trail needs its signed checkpoints (without them a chain "
            "cut short or rewritten with fresh hashes goes unseen). Unset it for the default "
            "(audit_checkpoints.sqlite in the data directory) or give a database apart from the audit store; "
            "see docs/audit-integrity.md"
        )
    try:
        key = SigningKey.from_file(settings.audit_signing_key_path, create=settings.store_url.startswith("sqlite"))
    except FileNotFoundError:
        raise RuntimeError(
            f"audit signing key file {settings.audit_signing_key_path} is missing: create it once (an Ed25519 key, "
            "PEM, mode 0600) and give every worker the same file; see docs/configuration.md"
        ) from None
    checkpoints = CheckpointStore(make_engine(settings.audit_checkpoint_url))
    try:
        await checkpoints.create()
    except Exception as exc:
        log.error("audit checkpoint store unavailable at start-up: %s", type(exc).__name__)
    checkpointer = Checkpointer(checkpoints, key, every=settings.audit_checkpoint_every,
                                seconds=settings.audit_checkpoint_seconds, algorithm=settings.audit_hash)
    audit = AuditStore(make_engine(settings.audit_url), algorithm=settings.audit_hash, checkpointer=checkpointer)
    try:
        await audit.create()
    except BaseException:
        await audit.engine.dispose()
        await checkpoints.close()
        raise
    return audit


@dataclass
class Runtime:
    settings: Settings
    store_engine: AsyncEngine
    audit: AuditStore
    library_engines: dict[str, AsyncEngine]
    catalog: Catalog
    principals: Principals
    planner: Planner
    schema: strawberry.Schema
    sources: dict[str, LibrarySource]
    documents: DocumentCache
    persisted: PersistedQueries | None = None  # the allow-list, when the gateway runs registered queries only
    policy_revision: int = 0
    policy_checked_at: float = field(default_factory=time.monotonic)
    policy_error: str | None = None
    policy_confirmed_at: float = field(default_factory=time.monotonic)  # the store last answered a refresh
    department_names: dict[str, str] = field(default_factory=dict)
    keys: KeyRing | None = None
    cursors: CursorCodec = field(default_factory=lambda: CursorCodec(KeyRing.generate().derive("cursor")))
    subject_key: bytes = field(default_factory=lambda: KeyRing.generate().derive(SUBJECT_LABEL))
    check_monitor: CheckMonitor = field(default_factory=CheckMonitor)
    limiter: Limiter = field(default_factory=lambda: InProcessLimiter({}))
    clock: Callable[[], datetime] = now  # the workflow's "now" (tests set it to a fixed day)
    policy_channel: PolicyChannel | None = None  # set by the app's lifespan (gateway/fanout.py)
    _policy_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def __post_init__(self) -> None:
        self.department_names = self.principals.department_names

    @classmethod
    async def open(cls, settings: Settings) -> Runtime:
        store_engine = make_engine(settings.store_url)
        audit = await open_audit(settings)
        library_engines = {code: make_library_engine(url, settings.library_pool_size)
                           for code, url in settings.library_urls.items()}
        catalog = await repository.load_catalog(store_engine)
        snapshot = await repository.load_policy_snapshot(store_engine)  # one revision's principals, grants, rules
        principals = snapshot.principals
        keys = load_keys(settings)
        planner = Planner(build_policy(catalog, snapshot), keys=keys)
        runtime: Runtime
        schema = build_schema(catalog, AuditAccess(AuditReader(audit.engine, catalog), store_engine),
                              WorkflowAccess(store_engine, catalog, lambda: runtime.clock()), PolicyAccess(catalog, keys))
        runtime = cls(
            settings=settings, store_engine=store_engine, audit=audit, library_engines=library_engines,
            catalog=catalog, principals=principals, planner=planner, schema=schema,
            sources=library_sources(catalog, library_engines),
            documents=DocumentCache(schema._schema, settings.query_limits, suggestions=settings.introspection),
            persisted=PersistedQueries.load(settings.persisted_queries) if settings.persisted_queries else None,
            policy_revision=snapshot.revision, keys=keys, cursors=CursorCodec(keys.derive("cursor")),
            subject_key=keys.derive(SUBJECT_LABEL), limiter=make_limiter(settings),
        )
        return runtime

    @property
    def graphql_schema(self) -> GraphQLSchema:
        return self.schema._schema

    @property
    def deadlines(self) -> Deadlines:
        return Deadlines.of(self.settings)

    def workflow_unit(self) -> WorkflowUnit:
        return WorkflowUnit(self.store_engine, self.catalog, self.deadlines, lambda: self.clock())

    async def refresh_policy(self, force: bool = False) -> None:
        """Reload grants and principals when the store's policy revision moved; checked at
        most every `policy_refresh_seconds` (at once when `force`: this worker just changed
        it, or the policy channel announced a change: gateway/fanout.py). The reload reads one
        revision's snapshot and swaps it in without awaiting in between, so no request sees
        half of a change; reloads run one at a time, so an older snapshot never replaces a
        newer one. A store that cannot answer keeps the last good version serving and is
        reported on /readyz."""
        checked = time.monotonic()
        if not force and checked - self.policy_checked_at < self.settings.policy_refresh_seconds:
            return
        self.policy_checked_at = checked
        async with self._policy_lock:
            try:
                revision = await repository.policy_revision(self.store_engine)
                if revision != self.policy_revision:
                    snapshot = await repository.load_policy_snapshot(self.store_engine)
                    policy = build_policy(self.catalog, snapshot)
                    self.planner.replace(policy)
                    log.info("policy revision %d in force (was %d): policy version %s", snapshot.revision,
                             self.policy_revision, policy.version)
                    self.principals, self.policy_revision = snapshot.principals, snapshot.revision
                    self.department_names = snapshot.principals.department_names
                self.policy_error, self.policy_confirmed_at = None, time.monotonic()
            except Exception as exc:  # keep serving the last good version; readiness says why
                self.policy_error = type(exc).__name__
                log.warning("policy refresh failed: %s", type(exc).__name__)

    @property
    def policy_stale_seconds(self) -> float:
        """How long the policy in force has gone unconfirmed by the store (0 while it answers)."""
        return 0.0 if self.policy_error is None else time.monotonic() - self.policy_confirmed_at

    def require_current_policy(self) -> None:
        """Fail closed once the last good policy is older than the staleness limit: grants revoked
        meanwhile must not go on serving for ever (GATEWAY_POLICY_STALENESS_SECONDS)."""
        stale = self.policy_stale_seconds
        if stale > self.settings.policy_staleness_seconds:
            raise RequestRefused(
                ErrorCode.POLICY_UNAVAILABLE,
                f"The platform store has not confirmed the policy for {stale:.0f} s (limit "
                f"{self.settings.policy_staleness_seconds:g} s), so no request is served until it answers.")

    async def announce_policy(self) -> None:
        """After this worker committed a policy change: tell the other workers (gateway/fanout.py)."""
        if self.policy_channel is not None:
            await self.policy_channel.announce(self.policy_revision)

    @property
    def policy_channel_status(self) -> str:
        """/readyz's note on how policy changes reach this worker."""
        if self.policy_channel is not None:
            return self.policy_channel.status()
        return f"none: polling every {self.settings.policy_refresh_seconds:g}s"

    async def close(self) -> None:
        await self.limiter.close()
        await self.store_engine.dispose()
        await self.audit.close()
        for engine in self.library_engines.values():
            await engine.dispose()
        for source in self.sources.values():
            source.dispose()
