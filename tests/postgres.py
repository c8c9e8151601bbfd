"""Throw-away PostgreSQL databases for the tests that run the product on PostgreSQL.

They run where a server answers at GATEWAY_TEST_POSTGRES_URL (default 127.0.0.1:5432) and skip,
saying why, where none does; CI sets GATEWAY_TEST_REQUIRE_POSTGRES=1 to forbid the skip.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

SERVER = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


async def _admin(statements: list[str]) -> None:
    engine = create_async_engine(SERVER, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


@contextmanager
def temporary_databases(label: str, names: Iterable[str]) -> Iterator[dict[str, str]]:
    """One new database per name, as URLs by name; dropped afterwards."""
    names = list(names)
    prefix = f"gw_{label}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_admin([f"CREATE DATABASE {prefix}_{name}" for name in names]))
    except Exception as exc:  # no server here: say so, unless CI requires it
        if os.environ.get("GATEWAY_TEST_REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {make_url(SERVER).render_as_string()}: {type(exc).__name__}")
    base = make_url(SERVER)
    try:
        yield {name: base.set(database=f"{prefix}_{name}").render_as_string(hide_password=False) for name in names}
    finally:
        asyncio.run(_admin([f"DROP DATABASE IF EXISTS {prefix}_{name} WITH (FORCE)" for name in names]))
