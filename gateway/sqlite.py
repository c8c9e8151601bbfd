"""How the gateway opens SQLite files: WAL, so that readers run beside the single writer;
synchronous=FULL, so that a committed transaction (an audit record above all) survives a crash;
a busy timeout that rides out short locks."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

CONNECT_ARGS = {"timeout": 5}


def on_a_file(engine: AsyncEngine) -> bool:
    """An aiosqlite engine on a database file (which a second engine can open too)."""
    return engine.url.drivername == "sqlite+aiosqlite" and engine.url.database not in (None, "", ":memory:")


def sync_twin(engine: AsyncEngine) -> Engine:
    """A synchronous engine on the same SQLite file, with the same pragmas, for work done in one
    hop to a worker thread: aiosqlite makes a hop per call (cursor, execute, fetch, close, commit),
    which dominates a short statement's cost."""
    url = engine.url.set(drivername="sqlite")
    return use_pragmas(create_engine(url, connect_args={**CONNECT_ARGS, "check_same_thread": False}))


def use_pragmas(engine: Engine) -> Engine:
    """Set the gateway's pragmas on every new connection of `engine` (a sync engine, or an async
    engine's `sync_engine`)."""

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    return engine
