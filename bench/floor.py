"""The floor of bench/http.py: a bare Starlette + SQLAlchemy Core application that answers the
benchmark's one request with the same SQL and the same values as the gateway, and nothing else.

    .venv/bin/python -m bench.floor --data-dir DIR --port PORT

- ``POST /graphql`` reads ``variables.id`` of the JSON body (the query text is not parsed: the
  floor serves only `QUERY`), runs the statement the gateway issues for that query (read from
  the gateway's SQL log) on the population library named by the data directory's settings
  (``Settings.from_env(..., data_dir=DIR)``: SQLite files or the PostgreSQL of
  bench/pgdemo.py), and answers ``{"data": {"person": {...} | null}}``;
- ``POST /constant`` answers a constant JSON without touching the database: with it, the
  benchmark measures its own client's ceiling;
- ``GET /readyz`` answers 200 once the application is up (what scripts/served.py waits for).

See `Library` for how each database is read. One uvicorn process, with the options ``gateway serve`` uses.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import Row, bindparam, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import cli, json_codec
from gateway.json_codec import JSONAnswer
from gateway.runtime import make_library_engine
from gateway.settings import Settings
from gateway.sqlite import on_a_file, sync_twin

QUERY = "query($id: ID!) { person(idNumber: $id) { name gender ethnicity birthPlaceCode } }"
# The gateway's statement for QUERY, as its SQL log shows it (resolvers/datasource.py fetch_by; the order of its
# columns varies from process to process).
SQL = text(
    "SELECT person_basic.id_number, person_basic.birth_place_code, person_basic.ethnicity, person_basic.gender, "
    "person_basic.name FROM person_basic WHERE person_basic.id_number IN (:ids) ORDER BY person_basic.row_id"
).bindparams(bindparam("ids", expanding=True))
FIELDS = {"name": "name", "gender": "gender", "ethnicity": "ethnicity", "birthPlaceCode": "birth_place_code"}
CONSTANT = {"data": {"person": {"name": "constant", "gender": "女", "ethnicity": "汉族", "birthPlaceCode": "350000"}}}


class Library:
    """The population library, read the way the gateway reads it (resolvers/datasource.py): on
    SQLite one hop to a worker thread through a synchronous engine (aiosqlite's five hops per query
    would make the floor about twice as slow as the gateway's own reads, and the ratio flattering);
    on a database server, the async engine configured as the gateway's library engines are (its
    pool and isolation level: a pool tuned for one side only would measure the tuning)."""

    def __init__(self, settings: Settings) -> None:
        self.engine = make_library_engine(settings.library_urls["population"], settings.library_pool_size)
        self.threaded = on_a_file(self.engine)
        if self.threaded:
            self.sync = sync_twin(self.engine)

    async def person(self, key: str) -> Row[Any] | None:
        if self.threaded:
            return await asyncio.to_thread(self._read, key)
        async with self.engine.connect() as conn:
            return (await conn.execute(SQL, {"ids": [key]})).first()

    def _read(self, key: str) -> Row[Any] | None:
        with self.sync.connect() as conn:
            return conn.execute(SQL, {"ids": [key]}).first()

    async def dispose(self) -> None:
        if self.threaded:
            self.sync.dispose()
        await self.engine.dispose()


def create_floor(settings: Settings) -> Starlette:
    library: Library | None = None

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        nonlocal library
        library = Library(settings)
        try:
            yield
        finally:
            await library.dispose()

    async def person(request: Request) -> Response:
        key = json_codec.loads(await request.body())["variables"]["id"]
        assert library is not None
        row = await library.person(key)
        found = None if row is None else {name: row._mapping[column] for name, column in FIELDS.items()}
        return JSONAnswer({"data": {"person": found}})

    async def constant(_request: Request) -> Response:
        return JSONAnswer(CONSTANT)

    async def ready(_request: Request) -> Response:
        return JSONAnswer({"status": "ready"})

    return Starlette(routes=[Route("/graphql", person, methods=["POST"]), Route("/constant", constant, methods=["POST"]),
                             Route("/readyz", ready)], lifespan=lifespan)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="the demo's data directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    settings = Settings.from_env({}, data_dir=args.data_dir)
    uvicorn.run(create_floor(settings), host=args.host, port=args.port, **cli.UVICORN_OPTIONS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
