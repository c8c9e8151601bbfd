"""The audit store: an append-only, hash-chained table in its own database.

Each record's hash is SHA-256(previous hash ‖ canonical record), so editing, deleting,
inserting or reordering a record breaks the chain at that record, and `verify` names it.
Writes are serialized within a process; the unique sequence number refuses a forked chain
across processes (the writer reloads its tail and retries).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.record import AuditRecord

GENESIS = "0" * 64
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


class AuditStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._lock = asyncio.Lock()
        self._tail: tuple[int, str] | None = None

    async def create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def append(self, record: AuditRecord) -> int:
        """Commit one record durably; raises AuditUnavailable if it cannot."""
        body = record.canonical()
        async with self._lock:
            for _ in range(5):
                try:
                    tail = self._tail or await self._read_tail()
                    seq, digest = tail[0] + 1, chain_hash(tail[1], body)
                    async with self.engine.begin() as conn:
                        await conn.execute(audit_records.insert().values(
                            seq=seq, request_id=record.request_id, at=record.at, application=record.application,
                            body=body.decode(), prev_hash=tail[1], hash=digest,
                        ))
                    self._tail = (seq, digest)
                    return seq
                except IntegrityError:
                    self._tail = None  # another process appended: reload the tail and retry
                except (SQLAlchemyError, OSError) as exc:
                    self._tail = None
                    raise AuditUnavailable("the audit store cannot be written") from exc
            raise AuditUnavailable("the audit chain is contended; try again")

    async def _read_tail(self) -> tuple[int, str]:
        async with self.engine.connect() as conn:
            row = (await conn.execute(
                select(audit_records.c.seq, audit_records.c.hash).order_by(audit_records.c.seq.desc()).limit(1)
            )).first()
        return (int(row.seq), str(row.hash)) if row else (0, GENESIS)

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
