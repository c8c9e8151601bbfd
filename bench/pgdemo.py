"""The demo on PostgreSQL: the platform store and the five libraries in throw-away databases of
one server, named in the data directory's settings file (`gateway.env`), so that
`gateway serve` over that directory, a floor endpoint and PostGraphile all read the same data.

The audit store and its checkpoints stay SQLite files in the data directory, as in the tests.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.harness import settings_for
from demo.build import build_demo
from gateway.settings import LIBRARY_CODES, SETTINGS_FILE

SERVER = os.environ.get("GATEWAY_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
STORES = ("platform", *LIBRARY_CODES)
SETTING = {"platform": "GATEWAY_STORE_URL", **{code: f"GATEWAY_LIBRARY_{code.upper()}_URL" for code in LIBRARY_CODES}}


async def administer(server: str, statements: list[str]) -> None:
    """Run statements that cannot run in a transaction (CREATE DATABASE, DROP DATABASE) on `server`."""
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def unreachable_reason() -> str | None:
    """None when the server answers, else why not."""
    try:
        asyncio.run(administer(SERVER, ["SELECT 1"]))
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"PostgreSQL not reachable at {make_url(SERVER).render_as_string()}: {type(exc).__name__}"
    return None


def url_of(database: str, driver: str = "postgresql+asyncpg") -> str:
    return make_url(SERVER).set(drivername=driver, database=database).render_as_string(hide_password=False)


@contextmanager
def postgres_demo(data_dir: Path, persons: int, seed: int = 7) -> Iterator[dict[str, str]]:
    """Build the demo into new databases (store → database name) for `data_dir`; drop them after."""
    prefix = f"gw_bench_{uuid.uuid4().hex[:8]}"
    databases = {store: f"{prefix}_{store}" for store in STORES}
    asyncio.run(administer(SERVER, [f"CREATE DATABASE {name}" for name in databases.values()]))
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"{SETTING[store]}={url_of(name)}" for store, name in databases.items()]
        (data_dir / SETTINGS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
        asyncio.run(build_demo(settings_for(data_dir), persons=persons, seed=seed))
        yield databases
    finally:
        asyncio.run(administer(SERVER, [f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" for name in databases.values()]))
