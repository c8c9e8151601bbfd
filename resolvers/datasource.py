"""The one seam to a library: fetch these columns for these keys.

SQLite and PostgreSQL are two configurations of the same `LibrarySource` (an AsyncEngine
URL), not two code paths. Only the columns the plan allows are ever selected.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, Table, bindparam, func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.sqlite import on_a_file, sync_twin
from libraries.tables import ROW_ID, library_metadata
from resolvers.listing import ListQuery, after_ranges, order_columns, where_clause
from schema.catalog import Catalog, Resource

Row = dict[str, Any]
MAX_KEYED_STATEMENTS = 1024


class LibraryUnavailable(Exception):
    """A library's database could not answer; the message names the library, never SQL."""

    def __init__(self, library: str) -> None:
        super().__init__(f"library {library} is unavailable")
        self.library = library


class LibrarySource:
    def __init__(self, code: str, engine: AsyncEngine, tables: dict[str, Table]) -> None:
        self.code = code
        self.engine = engine
        self.tables = tables
        self._sync: Engine | None = None
        self._sync_for: AsyncEngine | None = None
        self._sync_lock = threading.Lock()
        self._keyed: dict[tuple[str, str, tuple[str, ...]], Any] = {}  # (resource, by, columns) → statement

    async def fetch(self, resource: Resource, columns: Sequence[str], keys: Sequence[str]) -> dict[str, list[Row]]:
        """Rows of `resource` for `keys`, grouped by key, holding only `columns`."""
        return await self.fetch_by(resource, resource.key_column, columns, keys)

    async def fetch_by(self, resource: Resource, by: str, columns: Sequence[str], values: Sequence[str]) -> dict[str, list[Row]]:
        """Rows of `resource` whose column `by` holds one of `values`, grouped by that value."""
        grouped: dict[str, list[Row]] = defaultdict(list)
        for row in await self._run(self._keyed_statement(resource, by, columns), {"values": list(values)}):
            grouped[row[by]].append(row)
        return grouped

    def _keyed_statement(self, resource: Resource, by: str, columns: Sequence[str]) -> Any:
        """One statement per (resource, key column, columns), its keys an expanding parameter:
        building a SELECT and its cache key anew for every request cost more than running it."""
        signature = (resource.code, by, tuple(columns))
        statement = self._keyed.get(signature)
        if statement is None:
            if len(self._keyed) >= MAX_KEYED_STATEMENTS:  # column sets follow the callers' plans: bounded, but not by us
                self._keyed.clear()
            table = self.tables[resource.code]
            column = table.c[by]
            wanted = [table.c[c] for c in dict.fromkeys(columns) if c != by]
            statement = self._keyed[signature] = (
                select(column, *wanted).where(column.in_(bindparam("values", expanding=True))).order_by(table.c[ROW_ID]))
        return statement

    async def page(self, resource: Resource, columns: Sequence[str], query: ListQuery, after: Sequence[Any] | None,
                   limit: int) -> list[Row]:
        """Up to `limit` rows matching `query`, in its order, after the position `after`; each
        row also holds its sort columns and row id (for the next cursor)."""
        table = self.tables[resource.code]
        row_id = table.c[ROW_ID]
        names = dict.fromkeys([resource.key_column, *columns, *(k.field.column for k in query.order)])
        statement = select(row_id, *(table.c[c] for c in names)).where(where_clause(table, query))
        statement = statement.order_by(*order_columns(table, query, row_id))
        if after is None:
            return await self._run(statement.limit(limit))
        rows: list[Row] = []
        for condition in after_ranges(table, query, row_id, after):
            rows += await self._run(statement.where(condition).limit(limit - len(rows)))
            if len(rows) >= limit:
                break
        return rows

    async def groups(self, resource: Resource, query: ListQuery, keys: Sequence[str], limit: int) -> list[Row]:
        """Row counts of `query`'s rows grouped by the columns `keys`, largest groups first."""
        table = self.tables[resource.code]
        columns = [table.c[k] for k in keys]
        size = func.count().label("count")
        statement = (
            select(*columns, size).where(where_clause(table, query)).group_by(*columns)
            .order_by(size.desc(), *(c.asc().nulls_first() for c in columns)).limit(limit)
        )
        return await self._run(statement)

    async def ping(self) -> None:
        await self._run(select(1))

    @property
    def _threaded(self) -> bool:
        return on_a_file(self.engine)

    @property
    def executing_engine(self) -> Engine:
        """The engine whose connections run this source's queries (for instrumentation)."""
        return self._sync_engine() if self._threaded else self.engine.sync_engine

    async def _run(self, query: Any, params: dict[str, Any] | None = None) -> list[Row]:
        try:
            if self._threaded:
                # One hop to a worker thread per query: aiosqlite makes five (cursor, execute,
                # fetch, close, rollback), which dominate a keyed lookup's cost.
                return await asyncio.to_thread(self._run_sync, query, params)
            try:
                return await self._run_async(query, params)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                # A pooled connection the server dropped (a restart, an idle timeout): library
                # engines do not ping before use, so the first read on it fails; one retry opens a new one.
                return await self._run_async(query, params)
        except (SQLAlchemyError, OSError) as exc:
            raise LibraryUnavailable(self.code) from exc

    async def _run_async(self, query: Any, params: dict[str, Any] | None = None) -> list[Row]:
        async with self.engine.connect() as conn:
            result = await conn.execute(query, params)
            return [dict(r._mapping) for r in result]

    def _run_sync(self, query: Any, params: dict[str, Any] | None = None) -> list[Row]:
        with self._sync_engine().connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query, params)]

    def _sync_engine(self) -> Engine:
        """A synchronous twin of the SQLite engine, with the same pragmas (made once, under a
        lock: the first queries arrive from several worker threads at once)."""
        with self._sync_lock:
            if self._sync is None or self._sync_for is not self.engine:
                if self._sync is not None:
                    self._sync.dispose()
                self._sync = sync_twin(self.engine)
                self._sync_for = self.engine
            return self._sync

    def dispose(self) -> None:
        if self._sync is not None:
            self._sync.dispose()


def library_sources(catalog: Catalog, engines: dict[str, AsyncEngine]) -> dict[str, LibrarySource]:
    sources = {}
    for code in catalog.libraries:
        _, tables = library_metadata(catalog, code)
        sources[code] = LibrarySource(code, engines[code], tables)
    return sources
