"""The audit store: an append-only, hash-chained table in its own database.

Each record's hash is H(previous hash ‖ canonical record), H being SHA-256 or SM3 as recorded in
the store's `audit_meta` when it was created (a store from before that record is SHA-256), so
editing, deleting, inserting or reordering a record breaks the chain at that record, and `verify`
names it. Signed checkpoints, kept in another database (audit.checkpoints), catch what the chain
alone cannot: a chain rewritten from some record on, and its newest records cut off.

Appends share transactions (group commit): each request's record is queued with a future,
and one writer task takes everything queued (up to `max_group` records), chains it on the
tail, commits it in ONE transaction and only then resolves every future with its sequence
number. A lone append is written at once (no timer); records that arrive while a commit is
in flight wait for it and go together in the next, so a durable commit (one fsync on
SQLite) is paid per group instead of per request. If the transaction fails, every append
of that group gets AuditUnavailable and the tail is reloaded; the next group tries afresh.
Across processes the unique sequence number refuses a forked chain: the writer then retries
the whole group (a bounded number of times) on the tail it reads under a lock that other
appenders queue for.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, delete, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit.chain import ALGORITHMS, GENESIS, VerifyReport, Walk, base_problem, chain_hash, hasher
from audit.checkpoints import Base, Checkpoint, Checkpointer, PublicKey
from audit.record import AuditRecord
from audit.schema_lock import create_tables
from gateway.sqlite import on_a_file, sync_twin

__all__ = ["GENESIS", "AuditConfigError", "AuditStore", "AuditUnavailable", "StoredRow", "VerifyReport", "chain_hash"]
log = logging.getLogger(__name__)
MAX_GROUP = 500  # records per transaction
RETRIES = 5  # attempts of one group when another process appended first
CLOSE_TIMEOUT = 10.0  # seconds `close` lets the writer finish what it holds
APPEND_LOCK = int.from_bytes(b"auditlog", "big")  # PostgreSQL advisory lock key of the appenders
metadata = MetaData()
audit_records = Table(
    "audit_records",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("request_id", String(64), nullable=False, index=True),
    Column("at", String(40), nullable=False, index=True),
    Column("application", String(64), nullable=True, index=True),
    Column("body", Text, nullable=False),  # the canonical record
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
# One row per fact: "hash" → the chain's algorithm and "chain" → the chain's random id (both written
# when the store is created);
# "base" → the signed Base (JSON) once records were archived and removed (audit.archive).
audit_meta = Table(
    "audit_meta",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", Text, nullable=False),
)


class AuditUnavailable(Exception):
    """The audit record could not be committed: no data may leave."""


class AuditConfigError(Exception):
    """The audit store cannot be used as configured (e.g. its chain's algorithm is not the setting's)."""


@dataclass(frozen=True)
class StoredRow:
    """One row of the chain as stored: what an archive holds and what `verify` walks."""

    seq: int
    at: str
    prev_hash: str
    hash: str
    body: str


@dataclass
class _Waiting:
    """One queued record and the append that waits for its commit."""

    record: AuditRecord
    body: bytes
    future: asyncio.Future[int]


class AuditStore:
    """`algorithm` is the chain's hash (GATEWAY_AUDIT_HASH): a new store records it, an existing
    one must match it. None (readers, `audit verify`) takes whatever the store holds.
    `checkpointer`, when given, signs the chain as it grows and is closed with the store."""

    def __init__(self, engine: AsyncEngine, *, max_group: int = MAX_GROUP, algorithm: str | None = None,
                 checkpointer: Checkpointer | None = None) -> None:
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        if algorithm is not None:
            hasher(algorithm)  # refuse an unknown name at once
        self.engine = engine
        self.max_group = max_group
        self.commits = 0  # transactions committed by this store (records / commits = mean group size)
        self.algorithm = algorithm or "sha256"  # settled by `create` from the store's audit_meta
        self.chain = ""  # the chain's random id, settled by `create` (signed in every checkpoint and base)
        self.checkpointer = checkpointer
        self._wanted = algorithm
        self._hash = hasher(self.algorithm)
        self._tail: tuple[int, str] | None = None
        self._queue: deque[_Waiting] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self._sync: Engine | None = None  # on a SQLite file: the writer's engine (gateway.sqlite.sync_twin)
        self._thread: ThreadPoolExecutor | None = None  # and the thread it writes from

    async def create(self) -> None:
        """Create the tables if missing and settle the chain's algorithm: the one recorded in the
        store; a store without that record holds SHA-256 records, or is new and takes the wanted one.

        Raises AuditConfigError if the store's algorithm is not the wanted one."""
        async with self.engine.begin() as conn:
            await create_tables(conn, metadata)
        for _ in range(2):  # a second round when another worker recorded the algorithm or the chain id first
            try:
                async with self.engine.begin() as conn:
                    stored = await _meta(conn, "hash")
                    if stored is None:
                        has_rows = (await conn.execute(select(audit_records.c.seq).limit(1))).first() is not None
                        stored = "sha256" if has_rows else self._wanted
                        if stored is not None:
                            await conn.execute(audit_meta.insert().values(name="hash", value=stored))
                    chain = await _meta(conn, "chain")
                    if chain is None:
                        chain = secrets.token_hex(16)
                        await conn.execute(audit_meta.insert().values(name="chain", value=chain))
                break
            except IntegrityError:
                continue
        if stored is not None and stored not in ALGORITHMS:
            raise AuditConfigError(f"the audit store chains with {stored!r}, which this gateway does not know")
        if self._wanted is not None and stored is not None and stored != self._wanted:
            raise AuditConfigError(
                f"the audit store chains its records with {stored}, but GATEWAY_AUDIT_HASH is {self._wanted}: a "
                f"chain keeps the algorithm it was created with. Set GATEWAY_AUDIT_HASH={stored}, or archive this "
                "store and point GATEWAY_AUDIT_URL at a new one")
        self.algorithm = stored or self._wanted or "sha256"
        self.chain = chain or ""
        self._hash = hasher(self.algorithm)
        if self.checkpointer is not None:
            self.checkpointer.algorithm, self.checkpointer.chain = self.algorithm, self.chain

    async def append(self, record: AuditRecord) -> int:
        """Commit one record durably and return its sequence number; raises AuditUnavailable
        if it cannot. Returns only after the transaction holding the record has committed."""
        if self._closed:
            raise AuditUnavailable("the audit store is closed")
        loop = asyncio.get_running_loop()
        waiting = _Waiting(record, record.canonical(), loop.create_future())
        self._queue.append(waiting)
        if self._writer is None or self._writer.done():
            # No writer running: start one now. It lives only while records are queued, so an idle
            # store holds no task, and nothing waits for a timer.
            self._writer = loop.create_task(self._drain(), name="audit-writer")
        # A cancelled caller cancels only its wait: its record, once queued, is still written.
        return await waiting.future

    async def close(self) -> None:
        """Refuse new appends, let the writer commit what is queued (for at most CLOSE_TIMEOUT
        seconds; whatever is left then fails with AuditUnavailable), and dispose of the engine."""
        self._closed = True
        writer = self._writer
        if writer is not None and not writer.done() and writer.get_loop() is asyncio.get_running_loop():
            try:
                await asyncio.wait_for(asyncio.shield(writer), CLOSE_TIMEOUT)
            except TimeoutError:
                writer.cancel()
                await asyncio.gather(writer, return_exceptions=True)
        if self.checkpointer is not None:
            await self.checkpointer.close()  # signs the newest record this store committed
        if self._thread is not None:
            self._thread.shutdown(wait=True)
        if self._sync is not None:
            self._sync.dispose()
        await self.engine.dispose()

    async def _drain(self) -> None:
        """The writer: one transaction per group until the queue is empty. It never awaits between
        finding the queue empty and returning, so an append either joins its queue or, finding
        it finished, starts the next writer."""
        group: list[_Waiting] = []
        try:
            while self._queue:
                group = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_group))]
                try:
                    first = await self._commit(group)
                except Exception as exc:
                    self._tail = None
                    if not isinstance(exc, AuditUnavailable):
                        log.error("audit writer failed: %s", type(exc).__name__, exc_info=exc)
                    _fail(group, exc)
                else:
                    for offset, waiting in enumerate(group):
                        if not waiting.future.done():
                            waiting.future.set_result(first + offset)
                    if self.checkpointer is not None and self._tail is not None:
                        self.checkpointer.committed(*self._tail)  # after the answers: never delays one
                group = []
        finally:  # cancelled (close timed out, or the event loop is shutting down): nobody waits forever
            if group:
                self._tail = None  # the interrupted transaction may or may not have committed
            leftovers = group + list(self._queue)
            self._queue.clear()
            _fail(leftovers, AuditUnavailable("the audit writer stopped"))

    async def _commit(self, group: list[_Waiting]) -> int:
        """Chain `group` on the tail and insert it in one transaction; the first sequence number.

        The cached tail costs nothing to use; if another process appended meanwhile, the unique
        sequence number refuses the insert. The retry then locks the table before it reads the
        tail, so the tail it chains on stays the tail until it commits: writers of several
        processes queue for the lock instead of racing for the same sequence number."""
        for _ in range(RETRIES):
            try:
                tail, last = await self._insert(self._tail, [(w.record, w.body) for w in group])
                self._tail = last
                self.commits += 1
                return tail[0] + 1
            except IntegrityError:
                self._tail = None  # another process appended: retry the group on the tail read under the lock
            except (SQLAlchemyError, OSError) as exc:
                self._tail = None
                raise AuditUnavailable("the audit store cannot be written") from exc
        raise AuditUnavailable("the audit chain is contended; try again")

    async def _insert(self, tail: tuple[int, str] | None,
                      group: list[tuple[AuditRecord, bytes]]) -> tuple[tuple[int, str], tuple[int, str]]:
        """Insert `group` chained on `tail` (read under the append lock when None) in one
        transaction; the tail it chained on and the new one."""
        if tail is not None and on_a_file(self.engine):  # the common case on SQLite: one thread hop
            if self._sync is None:
                self._sync = sync_twin(self.engine)
                # Its own thread: in the default pool the commit would queue behind library reads.
                self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-writer")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._thread, self._insert_sync, self._sync, tail, group)
        async with self.engine.begin() as conn:
            if tail is None:
                await _lock_for_append(conn)
                tail = await _read_tail(conn)
            rows, last = _chain(tail, group, self._hash)
            await conn.execute(audit_records.insert(), rows)
        return tail, last

    def _insert_sync(self, engine: Engine, tail: tuple[int, str],
                     group: list[tuple[AuditRecord, bytes]]) -> tuple[tuple[int, str], tuple[int, str]]:
        rows, last = _chain(tail, group, self._hash)
        with engine.begin() as conn:
            conn.execute(audit_records.insert(), rows)
        return tail, last

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    async def checkpoint_ping(self) -> None:
        """For /readyz: fails while signed checkpoints cannot be written (records still are)."""
        if self.checkpointer is not None:
            await self.checkpointer.ping()

    async def records(self, limit: int = 100) -> list[dict[str, object]]:
        """The newest records, newest first (for operators and tests)."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(audit_records.c.seq, audit_records.c.body)
                                      .order_by(audit_records.c.seq.desc()).limit(limit))
            return [{"seq": r.seq, **json.loads(r.body)} for r in rows]

    async def base(self) -> Base | None:
        """The signed base, once records were archived and removed; None while the chain starts
        at the genesis."""
        async with self.engine.connect() as conn:
            if not await conn.run_sync(lambda c: inspect(c).has_table("audit_meta")):
                return None  # a store from before audit_meta was never archived
            return await _read_base(conn)

    async def exists(self) -> bool:
        """Whether the audit table is there (`audit verify` reads a store without creating one)."""
        async with self.engine.connect() as conn:
            return bool(await conn.run_sync(lambda c: inspect(c).has_table("audit_records")))

    async def identity(self) -> tuple[str, str]:
        """The chain's algorithm and id as the store recorded them (a store from before they were
        recorded: SHA-256, and no id)."""
        async with self.engine.connect() as conn:
            if not await conn.run_sync(lambda c: inspect(c).has_table("audit_meta")):
                return "sha256", ""
            return await _meta(conn, "hash") or "sha256", await _meta(conn, "chain") or ""

    async def rows(self, first: int = 1, last: int | None = None) -> AsyncIterator[StoredRow]:
        """The stored rows from sequence number `first` (to `last`), in order (streamed)."""
        query = select(audit_records).where(audit_records.c.seq >= first)
        if last is not None:
            query = query.where(audit_records.c.seq <= last)
        async with self.engine.connect() as conn:
            result = await conn.stream(query.order_by(audit_records.c.seq))
            async for row in result:
                yield StoredRow(row.seq, row.at, row.prev_hash, row.hash, row.body)

    async def last_before(self, first: int, moment: str) -> int:
        """The last sequence number of the run of records from `first` that are all older than
        `moment` (ISO 8601 UTC, or a date): a prefix of the chain, so that what is archived and
        what stays each remain one chain. `first - 1` if record `first` is not older."""
        async with self.engine.connect() as conn:
            cut = (await conn.execute(select(func.min(audit_records.c.seq))
                                      .where(audit_records.c.seq >= first, audit_records.c.at >= moment))).scalar()
            return int(cut) - 1 if cut is not None else (await _read_tail(conn))[0]

    async def verify(self, public_key: PublicKey | None = None, checkpoints: Iterable[Checkpoint] | None = None,
                     *, keep: Iterable[int] = ()) -> VerifyReport:
        """Walk the chain from the genesis (or the signed base) and check it against the signed
        checkpoints: the first record whose sequence, link, hash or checkpoint does not hold is
        reported, and so is a chain shorter than its newest checkpoint. Checkpoints and the public
        key default to the store's checkpointer's; with neither, the chain alone is checked.
        `keep`: sequence numbers whose hashes the report carries (to link archives)."""
        if self.checkpointer is not None:
            if checkpoints is None:
                checkpoints = await self.checkpointer.store.all()
            public_key = public_key or self.checkpointer.key.public
        algorithm, chain = await self.identity()
        base = await self.base()
        seq, prev = 1, GENESIS
        if base is not None:
            problem = base_problem(base, algorithm, chain, public_key)
            if problem is not None:
                return VerifyReport(0, base.seq, problem, algorithm=algorithm, first=base.seq, last=base.seq - 1,
                                    chain=chain)
            seq, prev = base.seq, base.prev_hash
        walk = Walk(algorithm, seq=seq, prev=prev, chain=chain, checkpoints=checkpoints or (), public_key=public_key,
                    keep=keep, base=base)
        if not walk.failed:
            async for row in self.rows(seq):
                if not walk.step(row.seq, row.prev_hash, row.hash, row.body):
                    break
        return walk.end()

    async def remove_archived(self, base: Base, record: AuditRecord) -> int:
        """Retention: in ONE transaction, remove the records before `base.seq` (archived and
        verified by the caller), keep the signed base, and append `record` (the removal's own
        audit record). Returns the record's sequence number. Refuses if the chain's start is not
        what the caller archived from (another removal ran meanwhile)."""
        body = record.canonical()
        async with self.engine.begin() as conn:
            await _lock_for_append(conn)
            current = await _read_base(conn)
            tail = await _read_tail(conn)
            if tail[0] < base.seq - 1:
                raise AuditUnavailable(f"the chain ends at record {tail[0]}, before the archived records")
            if current is not None and current.seq >= base.seq:
                raise AuditUnavailable(f"records before {current.seq} were removed already")
            await conn.execute(delete(audit_records).where(audit_records.c.seq < base.seq))
            await conn.execute(delete(audit_meta).where(audit_meta.c.name == "base"))
            await conn.execute(audit_meta.insert().values(name="base", value=json.dumps(base.as_dict())))
            rows, last = _chain(tail, [(record, body)], self._hash)
            await conn.execute(audit_records.insert(), rows)
        self._tail = last
        self.commits += 1
        if self.checkpointer is not None:
            self.checkpointer.committed(*last)
        return last[0]


def _fail(group: list[_Waiting], cause: BaseException) -> None:
    """Each waiter gets its own AuditUnavailable (an exception object raised in many tasks would
    collect all their tracebacks)."""
    message = str(cause) if isinstance(cause, AuditUnavailable) else "the audit store cannot be written"
    for waiting in group:
        if not waiting.future.done():
            error = AuditUnavailable(message)
            error.__cause__ = cause.__cause__ if isinstance(cause, AuditUnavailable) else cause
            waiting.future.set_exception(error)


def _chain(tail: tuple[int, str], group: list[tuple[AuditRecord, bytes]],
           hash_: Callable[[str, bytes], str]) -> tuple[list[dict[str, object]], tuple[int, str]]:
    """The rows of `group` (consecutive sequence numbers after `tail`, each hash chained on the
    previous) and the tail they make."""
    seq, prev = tail
    rows: list[dict[str, object]] = []
    for record, body in group:
        seq, digest = seq + 1, hash_(prev, body)
        rows.append({"seq": seq, "request_id": record.request_id, "at": record.at, "application": record.application,
                     "body": body.decode(), "prev_hash": prev, "hash": digest})
        prev = digest
    return rows, (seq, prev)


async def _meta(conn: AsyncConnection, name: str) -> str | None:
    row = (await conn.execute(select(audit_meta.c.value).where(audit_meta.c.name == name))).first()
    return str(row.value) if row else None


async def _read_base(conn: AsyncConnection) -> Base | None:
    value = await _meta(conn, "base")
    return Base.from_dict(json.loads(value)) if value else None


async def _lock_for_append(conn: AsyncConnection) -> None:
    """Hold off other appenders, in any process, until this transaction ends; readers go on.
    Neither way needs more than the INSERT and SELECT an append-only audit role is granted."""
    if conn.dialect.name == "postgresql":  # a transaction-scoped advisory lock, not a table lock
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK})
    else:  # SQLite: a transaction's first write, even of no row, takes the database's write lock
        await conn.execute(text("UPDATE audit_records SET seq = seq WHERE 1 = 0"))


async def _read_tail(conn: AsyncConnection) -> tuple[int, str]:
    row = (await conn.execute(
        select(audit_records.c.seq, audit_records.c.hash).order_by(audit_records.c.seq.desc()).limit(1)
    )).first()
    if row:
        return int(row.seq), str(row.hash)
    base = await _read_base(conn)  # every record was archived and removed: the chain goes on from the base
    return (base.seq - 1, base.prev_hash) if base else (0, GENESIS)
