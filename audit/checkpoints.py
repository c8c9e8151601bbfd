"""Signed checkpoints of the audit chain, kept apart from it.

The chain alone proves that no record was edited, removed, inserted or reordered *unless whoever
did it recomputed every hash from there on*, and it cannot tell that its newest records were cut
off. So every N records or T seconds the writer signs the newest committed record — (chain, seq,
hash, time, algorithm) — with an Ed25519 key the database does not hold, and stores the signed
checkpoint in *another* database. Someone who can rewrite the audit table then still cannot make
its hashes agree with the checkpoints, nor shorten it below the newest checkpoint, without the
signing key. The key and the signed statements live in audit.signing.

When checkpoints are signed: a worker's first commit at once; then whenever N records have
been committed since the last checkpoint, or T seconds have passed since it — by a timer, so a
burst followed by silence is signed T seconds later without waiting for another commit; and
whatever is left when the worker stops.

A checkpoint that cannot be written never costs an audit record: the record is committed before
the writer even tries. The failure is logged, `ping` reports it to /readyz, and the writer tries
again (at most once a second, or at the next commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace

from sqlalchemy import Column, Integer, MetaData, String, Table, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.schema_lock import create_tables
from audit.signing import (
    BASE_LABEL,
    CHECKPOINT_LABEL,
    SEAL_LABEL,
    Base,
    Checkpoint,
    PublicKey,
    Seal,
    SigningKey,
    find_public_key,
    load_public_key,
    public_key_path,
)

__all__ = ["BASE_LABEL", "CHECKPOINT_LABEL", "SEAL_LABEL", "Base", "Checkpoint", "CheckpointStore", "CheckpointUnavailable",
           "Checkpointer", "PublicKey", "Seal", "SigningKey", "find_public_key", "load_public_key", "public_key_path"]
log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0  # after a failed checkpoint write, the writer tries again once this has passed

metadata = MetaData()
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seq", Integer, nullable=False, index=True),
    Column("hash", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("algorithm", String(16), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("signature", String(128), nullable=False),
    Column("chain", String(64), nullable=False, server_default=""),
)


class CheckpointUnavailable(Exception):
    """The newest checkpoint could not be written (the audit records themselves are committed)."""


class CheckpointStore:
    """The database of signed checkpoints (its own, never the audit store's)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.created = False

    async def create(self) -> None:
        """Create the table if missing (a table from before checkpoints named their chain gets the column)."""
        async with self.engine.begin() as conn:
            await create_tables(conn, metadata)
            columns = await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("audit_checkpoints")})
        if "chain" not in columns:
            with contextlib.suppress(SQLAlchemyError):  # another worker added it meanwhile
                async with self.engine.begin() as conn:
                    await conn.execute(text("ALTER TABLE audit_checkpoints ADD COLUMN chain VARCHAR(64) NOT NULL "
                                            "DEFAULT ''"))
        self.created = True

    async def exists(self) -> bool:
        """Whether the checkpoint table is there (for `audit verify`, which never creates it)."""
        async with self.engine.connect() as conn:
            return bool(await conn.run_sync(lambda c: inspect(c).has_table("audit_checkpoints")))

    async def add(self, checkpoint: Checkpoint) -> Checkpoint:
        if not self.created:  # the database did not answer at start-up: create the table once it does
            await self.create()
        values = checkpoint.as_dict()
        values.pop("id")
        async with self.engine.begin() as conn:
            result = await conn.execute(audit_checkpoints.insert().values(**values))
            key = result.inserted_primary_key
        return replace(checkpoint, id=int(key[0]) if key else None)

    async def all(self) -> list[Checkpoint]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq,
                                                                          audit_checkpoints.c.id))
            return [Checkpoint.from_dict(dict(row._mapping)) for row in rows]

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    async def close(self) -> None:
        await self.engine.dispose()


class Checkpointer:
    """Signs the newest committed record of chain `chain`: at a worker's first commit, then every
    `every` records or `seconds` seconds, whichever comes first (see the module docstring).
    Writes run in a task of their own, so an append never waits for a checkpoint."""

    def __init__(self, store: CheckpointStore, key: SigningKey, *, every: int = 100, seconds: float = 10.0,
                 algorithm: str = "sha256", chain: str = "") -> None:
        if every < 1 or seconds <= 0:
            raise ValueError("checkpoints need every >= 1 record and seconds > 0")
        self.store, self.key, self.every, self.seconds, self.algorithm = store, key, every, seconds, algorithm
        self.chain = chain  # settled by AuditStore.create from the store's audit_meta
        self.written = 0  # checkpoints written by this process
        self.error: str | None = None  # why the last write failed, until one succeeds
        self._newest: tuple[int, str] | None = None  # the newest record this process saw committed
        self._signed = 0  # the newest sequence number signed by this process
        self._signed_at = float("-inf")  # nothing signed yet: the first commit is due at once
        self._retry_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    def committed(self, seq: int, digest: str) -> None:
        """Called by the audit writer after each commit (not awaited: it starts a task or a timer)."""
        if self._newest is None or seq > self._newest[0]:
            self._newest = (seq, digest)
        self._schedule()

    def _schedule(self) -> None:
        """Write a checkpoint now if one is due, else arm the timer for when it will be."""
        if self._closed or self._newest is None or self._newest[0] <= self._signed:
            self._cancel_timer()
            return
        if self._task is not None and not self._task.done():
            return  # a write is in flight; it schedules again when it ends
        now = time.monotonic()
        due = now if self._newest[0] - self._signed >= self.every else self._signed_at + self.seconds
        due = max(due, self._retry_at)
        loop = asyncio.get_running_loop()
        if due <= now:
            self._cancel_timer()
            self._task = loop.create_task(self._write(), name="audit-checkpoint")
        elif self._timer is None or self._timer.when() > loop.time() + (due - now):
            self._cancel_timer()
            self._timer = loop.call_later(due - now, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._schedule()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def flush(self) -> Checkpoint | None:
        """Sign the newest committed record now, unless it is signed already."""
        task = self._task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            await asyncio.gather(task, return_exceptions=True)
        if self._newest is None or self._newest[0] <= self._signed:
            return None
        return await self._sign(*self._newest)

    async def _write(self) -> None:
        try:
            if self._newest is not None and self._newest[0] > self._signed:
                with contextlib.suppress(CheckpointUnavailable):  # logged; tried again later
                    await self._sign(*self._newest)
        finally:
            self._task = None
            if not self._closed:
                self._schedule()  # records committed while this write was in flight

    async def _sign(self, seq: int, digest: str) -> Checkpoint:
        try:
            checkpoint = await self.store.add(self.key.sign_checkpoint(seq, digest, self.algorithm, self.chain))
        except Exception as exc:
            self.error = type(exc).__name__
            self._retry_at = time.monotonic() + RETRY_SECONDS
            log.error("audit checkpoint of record %s could not be written (%s); the records are committed, "
                      "the writer tries again", seq, self.error)
            raise CheckpointUnavailable(f"checkpoint of record {seq} not written: {self.error}") from exc
        self._signed, self._signed_at, self.error = max(self._signed, seq), time.monotonic(), None
        self.written += 1
        return checkpoint

    async def ping(self) -> None:
        """For /readyz: fails while checkpoints cannot be written, or the store does not answer."""
        if self.error is not None:
            raise CheckpointUnavailable(self.error)
        await self.store.ping()

    async def close(self) -> None:
        """Stop the timer, sign what is left (a failure is logged, never raised), then dispose of the engine."""
        self._closed = True
        self._cancel_timer()
        try:
            await self.flush()
        except CheckpointUnavailable:
            pass
        finally:
            await self.store.close()
