"""The audit store: an append-only, hash-chained table in its own database.

Each record's hash is SHA-256(previous hash ‖ canonical record), so editing, deleting,
inserting or reordering a record breaks the chain at that record, and `verify` names it.

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
import hashlib
import json
import logging
from collections import deque
from dataclasses import dataclass

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit.record import AuditRecord

log = logging.getLogger(__name__)
GENESIS = "0" * 64
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


class AuditUnavailable(Exception):
    """The audit record could not be committed: no data may leave."""


@dataclass(frozen=True)
class VerifyReport:
    records: int
    first_bad: int | None  # sequence number of the first record that does not hold
    problem: str | None = None


def chain_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


@dataclass
class _Waiting:
    """One queued record and the append that waits for its commit."""

    record: AuditRecord
    body: bytes
    future: asyncio.Future[int]


class AuditStore:
    def __init__(self, engine: AsyncEngine, *, max_group: int = MAX_GROUP) -> None:
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        self.engine = engine
        self.max_group = max_group
        self.commits = 0  # transactions committed by this store (records / commits = mean group size)
        self._tail: tuple[int, str] | None = None
        self._queue: deque[_Waiting] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    async def create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

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
                async with self.engine.begin() as conn:
                    tail = self._tail
                    if tail is None:
                        await _lock_for_append(conn)
                        tail = await _read_tail(conn)
                    rows, last = _chain(tail, group)
                    await conn.execute(audit_records.insert(), rows)
                self._tail = last
                self.commits += 1
                return tail[0] + 1
            except IntegrityError:
                self._tail = None  # another process appended: retry the group on the tail read under the lock
            except (SQLAlchemyError, OSError) as exc:
                self._tail = None
                raise AuditUnavailable("the audit store cannot be written") from exc
        raise AuditUnavailable("the audit chain is contended; try again")

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    async def records(self, limit: int = 100) -> list[dict[str, object]]:
        """The newest records, newest first (for operators and tests)."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(audit_records.c.seq, audit_records.c.body)
                                      .order_by(audit_records.c.seq.desc()).limit(limit))
            return [{"seq": r.seq, **json.loads(r.body)} for r in rows]

    async def verify(self) -> VerifyReport:
        """Walk the chain from the genesis; the first record whose sequence, link or hash
        does not hold is reported."""
        prev, expected, count = GENESIS, 1, 0
        async with self.engine.connect() as conn:
            result = await conn.stream(select(audit_records).order_by(audit_records.c.seq))
            async for row in result:
                if row.seq != expected:
                    return VerifyReport(count, expected, f"record {expected} is missing (next is {row.seq})")
                if row.prev_hash != prev:
                    return VerifyReport(count, row.seq, "its link to the previous record does not hold")
                if chain_hash(prev, row.body.encode()) != row.hash:
                    return VerifyReport(count, row.seq, "its content does not match its hash")
                prev, expected, count = row.hash, expected + 1, count + 1
        return VerifyReport(count, None)


def _fail(group: list[_Waiting], cause: BaseException) -> None:
    """Each waiter gets its own AuditUnavailable (an exception object raised in many tasks would
    collect all their tracebacks)."""
    message = str(cause) if isinstance(cause, AuditUnavailable) else "the audit store cannot be written"
    for waiting in group:
        if not waiting.future.done():
            error = AuditUnavailable(message)
            error.__cause__ = cause.__cause__ if isinstance(cause, AuditUnavailable) else cause
            waiting.future.set_exception(error)


def _chain(tail: tuple[int, str], group: list[_Waiting]) -> tuple[list[dict[str, object]], tuple[int, str]]:
    """The rows of `group` (consecutive sequence numbers after `tail`, each hash chained on the
    previous) and the tail they make."""
    seq, prev = tail
    rows: list[dict[str, object]] = []
    for waiting in group:
        seq, digest = seq + 1, chain_hash(prev, waiting.body)
        record = waiting.record
        rows.append({"seq": seq, "request_id": record.request_id, "at": record.at, "application": record.application,
                     "body": waiting.body.decode(), "prev_hash": prev, "hash": digest})
        prev = digest
    return rows, (seq, prev)


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
    return (int(row.seq), str(row.hash)) if row else (0, GENESIS)
