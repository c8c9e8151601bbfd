"""Creating the audit tables from several processes at once (workers starting together on a new
PostgreSQL database): one creator at a time, the others then find the tables there."""

from __future__ import annotations

from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncConnection

CREATE_LOCK = 727_001  # a PostgreSQL advisory lock key, held until the creating transaction ends


async def create_tables(conn: AsyncConnection, metadata: MetaData) -> None:
    """`metadata.create_all` in the caller's transaction, serialized across processes on PostgreSQL
    (SQLite's single writer serializes it already)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"SELECT pg_advisory_xact_lock({CREATE_LOCK})"))
    await conn.run_sync(metadata.create_all)
