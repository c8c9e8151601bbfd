"""Throw-away PostgreSQL databases for the tests that run the product on PostgreSQL.

They run where a server answers at GATEWAY_TEST_POSTGRES_URL (default 127.0.0.1:5432) and skip,
saying why, where none does; CI sets GATEWAY_TEST_REQUIRE_POSTGRES=1 to forbid the skip, and so
does GATEWAY_TEST_STORE=postgres, which runs the whole suite with the platform store and the five
libraries on PostgreSQL (see `Stores` and tests/conftest.py).
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
STORE = os.environ.get("GATEWAY_TEST_STORE", "sqlite")  # "postgres": the whole suite's stores on SERVER
REQUIRED = bool(os.environ.get("GATEWAY_TEST_REQUIRE_POSTGRES")) or STORE == "postgres"


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
        if REQUIRED:
            raise
        pytest.skip(f"PostgreSQL not reachable at {make_url(SERVER).render_as_string()}: {type(exc).__name__}")
    base = make_url(SERVER)
    try:
        yield {name: base.set(database=f"{prefix}_{name}").render_as_string(hide_password=False) for name in names}
    finally:
        asyncio.run(_admin([f"DROP DATABASE IF EXISTS {prefix}_{name} WITH (FORCE)" for name in names]))


def url_of(database: str) -> str:
    return make_url(SERVER).set(database=database).render_as_string(hide_password=False)


def reachable() -> str | None:
    """None when SERVER answers, else why not."""
    try:
        asyncio.run(_admin(["SELECT 1"]))
    except Exception as exc:
        return f"PostgreSQL not reachable at {make_url(SERVER).render_as_string()}: {type(exc).__name__}: {exc}"
    return None


class Stores:
    """The platform store and the five libraries of GATEWAY_TEST_STORE=postgres: template databases
    the session builds the demo into once, and a fresh copy of them per test (CREATE DATABASE …
    TEMPLATE), written into the copied data directory's gateway.env. All share one prefix, dropped
    at the end of the session whatever the tests left behind."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = list(names)
        self.prefix = f"gw_suite_{uuid.uuid4().hex[:8]}"
        self.copies = 0

    def templates(self) -> dict[str, str]:
        """Created empty: the caller builds the demo into them."""
        asyncio.run(_admin([f"CREATE DATABASE {self.prefix}_t_{name}" for name in self.names]))
        return {name: f"{self.prefix}_t_{name}" for name in self.names}

    def copy(self) -> dict[str, str]:
        """Fresh databases from the templates, as database names by store name. A connection
        left open on a template (a test that read the built demo and did not dispose its engine)
        would make CREATE DATABASE wait and fail: it is ended first."""
        self.copies += 1
        names = {name: f"{self.prefix}_{self.copies}_{name}" for name in self.names}
        asyncio.run(_admin([
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname LIKE '{self.prefix}_t_%' AND pid <> pg_backend_pid()",
            *(f"CREATE DATABASE {database} TEMPLATE {self.prefix}_t_{name}" for name, database in names.items()),
        ]))
        return names

    @staticmethod
    def drop(databases: Iterable[str]) -> None:
        asyncio.run(_admin([f"DROP DATABASE IF EXISTS {database} WITH (FORCE)" for database in databases]))

    def drop_all(self) -> None:
        """Every database of this session: the templates and any copy a teardown missed."""
        async def run() -> None:
            engine = create_async_engine(SERVER, isolation_level="AUTOCOMMIT")
            try:
                async with engine.connect() as conn:
                    found = (await conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                                {"p": f"{self.prefix}\\_%"})).scalars().all()
                    for database in found:
                        await conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            finally:
                await engine.dispose()

        asyncio.run(run())
