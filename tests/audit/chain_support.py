"""Helpers of the chain, checkpoint and archive tests: a real audit store on SQLite in a temporary
directory, with its checkpointer, and raw SQL to tamper with it the way an intruder would."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from audit import AuditRecord, AuditStore
from audit.checkpoints import Checkpointer, CheckpointStore, SigningKey
from gateway.runtime import make_engine

NOW = "2024-05-01T08:00:00+00:00"


def record(request_id: str, at: str = NOW) -> AuditRecord:
    return AuditRecord(request_id=request_id, at=at, operation="query", outcome="SERVED",
                       application="mz-assistance", operator="mz-wangli", fields={"Person.name": "RAW"})


def url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def key_path(directory: Path) -> Path:
    return directory / "keys" / "audit-signing.key"


async def open_store(directory: Path, *, algorithm: str | None = "sha256", every: int = 10,
                     seconds: float = 3600.0) -> AuditStore:
    """The audit store in `directory` with a checkpointer (key and checkpoint database beside it)."""
    key = SigningKey.from_file(key_path(directory), create=True)
    checkpoints = CheckpointStore(make_engine(url(directory / "audit_checkpoints.sqlite")))
    await checkpoints.create()
    checkpointer = Checkpointer(checkpoints, key, every=every, seconds=seconds)
    store = AuditStore(make_engine(url(directory / "audit.sqlite")), algorithm=algorithm, checkpointer=checkpointer)
    await store.create()
    return store


async def fill(store: AuditStore, count: int, *, at: str = NOW, prefix: str = "r") -> None:
    """Append `count` records one after the other (so checkpoints fall every `every` records),
    then sign the newest."""
    for i in range(count):
        await store.append(record(f"{prefix}{i:04d}", at))
        await asyncio.sleep(0)  # let a checkpoint task run
    assert store.checkpointer is not None
    await store.checkpointer.flush()


def sql(database: Path, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as conn:
        return conn.execute(statement, params).fetchall()
