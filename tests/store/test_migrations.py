"""The migrations build exactly the tables store/tables.py declares: no drift between the two."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.runtime import make_engine
from store.migrate import upgrade
from store.tables import metadata
from tests import postgres


@contextmanager
def empty_store(tmp_path: Path) -> Iterator[str]:
    """A new platform store: a SQLite file, or a PostgreSQL database with GATEWAY_TEST_STORE=postgres."""
    if postgres.STORE != "postgres":
        yield f"sqlite+aiosqlite:///{tmp_path / 'platform.sqlite'}"
        return
    with postgres.temporary_databases("migrations", ["platform"]) as urls:
        yield urls["platform"]


async def drift(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
    finally:
        await engine.dispose()


def test_the_migrated_store_matches_the_declared_tables(tmp_path: Path) -> None:
    with empty_store(tmp_path) as url:
        upgrade(url)
        assert asyncio.run(drift(url)) == []
