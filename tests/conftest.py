"""Fixtures that build a real, small demo (SQLite files in a temporary directory) once per
session, and an HTTP client that talks to the real ASGI application.

GATEWAY_TEST_STORE=postgres runs the same tests with the platform store and the five libraries
on the PostgreSQL server of tests/postgres.py (the audit store and its checkpoints stay SQLite
files in the data directory): the demo is built once into template databases, each test's copy
of the data directory gets fresh databases made from them, and the directory's `gateway.env`
names them, so every `Settings.from_env(..., data_dir=...)` and every `gateway --data-dir ...`
uses them unchanged. Tests about SQLite itself are marked `sqlite_only` and skipped in that mode.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from demo.build import build_demo
from gateway.app import create_app
from gateway.settings import LIBRARY_CODES, SETTINGS_FILE, Settings
from tests import postgres
from tests.support import Gateway

PERSONS = 300
ON_POSTGRES = postgres.STORE == "postgres"
STORES = ("platform", *LIBRARY_CODES)  # on PostgreSQL in that mode; the audit store stays SQLite


def pytest_configure(config: pytest.Config) -> None:
    if postgres.STORE not in ("sqlite", "postgres"):
        raise pytest.UsageError(f"GATEWAY_TEST_STORE={postgres.STORE!r}: use sqlite (the default) or postgres")


def pytest_sessionstart(session: pytest.Session) -> None:
    if ON_POSTGRES and (why := postgres.reachable()):  # asked for: a failure, not a skip
        pytest.exit(f"GATEWAY_TEST_STORE=postgres, but {why}", returncode=1)


def pytest_report_header(config: pytest.Config) -> str:
    return f"stores: {'PostgreSQL at ' + postgres.SERVER if ON_POSTGRES else 'SQLite'} (GATEWAY_TEST_STORE)"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if ON_POSTGRES and (marker := item.get_closest_marker("sqlite_only")):
        pytest.skip(f"SQLite only{': ' + marker.args[0] if marker.args else ''} (GATEWAY_TEST_STORE=postgres)")


def write_store_urls(directory: Path, databases: dict[str, str]) -> None:
    """The data directory's settings file, naming the PostgreSQL databases of its stores."""
    names = {"platform": "GATEWAY_STORE_URL", **{code: f"GATEWAY_LIBRARY_{code.upper()}_URL" for code in LIBRARY_CODES}}
    lines = [f"{names[store]}={postgres.url_of(database)}" for store, database in databases.items()]
    (directory / SETTINGS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def pg_stores() -> Iterator[postgres.Stores | None]:
    if not ON_POSTGRES:
        yield None
        return
    stores = postgres.Stores(STORES)
    try:
        yield stores
    finally:
        stores.close()


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory: pytest.TempPathFactory, pg_stores: postgres.Stores | None) -> Path:
    directory = tmp_path_factory.mktemp("demo")
    if pg_stores is not None:
        write_store_urls(directory, pg_stores.templates())
    asyncio.run(build_demo(Settings.from_env({}, data_dir=directory), persons=PERSONS, seed=7))  # disposes its engines
    if pg_stores is not None:
        write_store_urls(directory, pg_stores.seal())  # the templates stay as built; this directory reads a copy
    return directory


@pytest.fixture
def data_dir(built_demo: Path, tmp_path: Path, pg_stores: postgres.Stores | None) -> Iterator[Path]:
    """A private copy of the built demo, so a test may change grants or break a store."""
    target = tmp_path / "data"
    shutil.copytree(built_demo, target)
    if pg_stores is None:
        yield target
        return
    databases = pg_stores.copy()
    write_store_urls(target, databases)
    try:
        yield target
    finally:
        pg_stores.release(databases.values())


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings.from_env({"GATEWAY_POLICY_REFRESH_SECONDS": "0"}, data_dir=data_dir)


@pytest.fixture
def credentials(data_dir: Path) -> dict[str, Any]:
    return json.loads((data_dir / "demo-credentials.json").read_text(encoding="utf-8"))


@pytest.fixture
async def gateway(settings: Settings, credentials: dict[str, Any]) -> AsyncIterator[Gateway]:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield Gateway(client, credentials, manager._state)
