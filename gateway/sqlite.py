"""How the gateway opens SQLite files: WAL, so that readers run beside the single writer;
synchronous=FULL, so that a committed transaction (an audit record above all) survives a crash;
a busy timeout that rides out short locks."""

from __future__ import annotations

from sqlalchemy import Engine, event

CONNECT_ARGS = {"timeout": 5}


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
