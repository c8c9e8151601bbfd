"""Libraries on a database server: autocommit reads from a fixed pool, without a ping before each
use, so a connection the server dropped must be retried, not turned into LIBRARY_UNAVAILABLE."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from gateway.runtime import make_library_engine
from tests import postgres
from tests.support import Gateway

PERSON = "query($id: ID!) { person(idNumber: $id) { name } }"


def test_a_library_engine_on_a_server_has_a_fixed_pool() -> None:
    engine = make_library_engine("postgresql+asyncpg://gateway@db.invalid/population", pool_size=7)
    pool = engine.sync_engine.pool
    assert (pool.size(), pool._max_overflow) == (7, 0)  # type: ignore[attr-defined]
    assert not pool._pre_ping  # type: ignore[attr-defined]


@pytest.mark.skipif(postgres.STORE != "postgres", reason="needs the libraries on PostgreSQL (GATEWAY_TEST_STORE=postgres)")
async def test_a_dropped_library_connection_is_retried(gateway: Gateway) -> None:
    engine = gateway.runtime.sources["population"].engine
    first = await gateway.query(PERSON, variables={"id": gateway.sample_id}, expect_status=200)
    assert "errors" not in first and first["data"]["person"]["name"]

    killer = create_async_engine(engine.url, poolclass=NullPool)
    try:
        async with killer.connect() as conn:  # every server process behind the pool, gone
            killed = (await conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))).scalar_one()
    finally:
        await killer.dispose()
    assert killed >= 1

    again = await gateway.query(PERSON, variables={"id": gateway.sample_id}, expect_status=200)
    assert "errors" not in again, again
    assert again["data"] == first["data"]
