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
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.pgdemo import administer

SERVER = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
STORE = os.environ.get("GATEWAY_TEST_STORE", "sqlite")  # "postgres": the whole suite's stores on SERVER
REQUIRED = bool(os.environ.get("GATEWAY_TEST_REQUIRE_POSTGRES")) or STORE == "postgres"


@contextmanager
def temporary_databases(label: str, names: Iterable[str]) -> Iterator[dict[str, str]]:
    """One new database per name, as URLs by name; dropped afterwards."""
    names = list(names)
    prefix = f"gw_{label}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(administer(SERVER, [f"CREATE DATABASE {prefix}_{name}" for name in names]))
    except Exception as exc:  # no server here: say so, unless CI requires it
        if REQUIRED:
            raise
        pytest.skip(f"PostgreSQL not reachable at {make_url(SERVER).render_as_string()}: {type(exc).__name__}")
    base = make_url(SERVER)
    try:
        yield {name: base.set(database=f"{prefix}_{name}").render_as_string(hide_password=False) for name in names}
    finally:
        asyncio.run(administer(SERVER, [f"DROP DATABASE IF EXISTS {prefix}_{name} WITH (FORCE)" for name in names]))


def url_of(database: str) -> str:
    return make_url(SERVER).set(database=database).render_as_string(hide_password=False)


def reachable() -> str | None:
    """None when SERVER answers, else why not."""
    try:
        asyncio.run(administer(SERVER, ["SELECT 1"]))
    except Exception as exc:
        return f"PostgreSQL not reachable at {make_url(SERVER).render_as_string()}: {type(exc).__name__}: {exc}"
    return None


class Stores:
    """The platform store and the five libraries of GATEWAY_TEST_STORE=postgres, as databases
    that share one prefix per session:

    - templates (`<prefix>_t_<store>`), created empty for the session to build the demo into, then
      sealed: closed to connections, so no test can change them or hold up a copy;
    - the built demo's own databases (`<prefix>_s_<store>`), copied from them once, for the tests
      that read the built demo directory directly;
    - a fresh copy per test (`<prefix>_<n>_<store>`, CREATE DATABASE … TEMPLATE), for its private
      data directory.

    Copies are made and dropped by one background thread, the next copy while a test runs, so a
    test mostly finds its databases ready. Everything with the prefix is dropped by `close`."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = list(names)
        self.prefix = f"gw_suite_{uuid.uuid4().hex[:8]}"
        self._copies = 0  # touched by the worker thread only
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gw-test-databases")
        self._next: Future[dict[str, str]] | None = None
        self._drops: list[Future[None]] = []

    def _template(self, name: str) -> str:
        return f"{self.prefix}_t_{name}"

    def templates(self) -> dict[str, str]:
        """Created empty, as database names by store name: the caller builds the demo into them,
        disposes its engines, then calls `seal`."""
        asyncio.run(administer(SERVER, [f"CREATE DATABASE {self._template(name)}" for name in self.names]))
        return {name: self._template(name) for name in self.names}

    def seal(self) -> dict[str, str]:
        """Close the templates to connections; the built demo's own copy of them, as database
        names by store name; start making the first test's copy."""
        shared = {name: f"{self.prefix}_s_{name}" for name in self.names}
        asyncio.run(administer(SERVER, [
            *(f"ALTER DATABASE {self._template(name)} ALLOW_CONNECTIONS false" for name in self.names),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # any engine the build left open
            f"WHERE datname LIKE '{self.prefix}_t_%' AND pid <> pg_backend_pid()",
            *(f"CREATE DATABASE {database} TEMPLATE {self._template(name)}" for name, database in shared.items()),
        ]))
        self._next = self._worker.submit(self._create)
        return shared

    def _create(self) -> dict[str, str]:
        self._copies += 1
        names = {name: f"{self.prefix}_{self._copies}_{name}" for name in self.names}
        asyncio.run(administer(SERVER, [f"CREATE DATABASE {database} TEMPLATE {self._template(name)}"
                            for name, database in names.items()]))
        return names

    def copy(self) -> dict[str, str]:
        """Fresh databases made from the templates, as database names by store name."""
        assert self._next is not None, "seal() the templates first"
        names = self._next.result()
        self._next = self._worker.submit(self._create)
        return names

    def release(self, databases: Iterable[str]) -> None:
        """Drop a test's databases, in the background (connections left open are ended)."""
        self._drops.append(self._worker.submit(self.drop, list(databases)))

    @staticmethod
    def drop(databases: Iterable[str]) -> None:
        asyncio.run(administer(SERVER, [f"DROP DATABASE IF EXISTS {database} WITH (FORCE)" for database in databases]))

    def close(self) -> None:
        """Every database of this session dropped: the templates, the built demo's, the copy made
        ahead and any a teardown missed. Then a failed background drop is reported."""
        self._worker.shutdown(wait=True)

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
        for dropped in self._drops:
            dropped.result()
