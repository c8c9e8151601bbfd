"""The one seam to a library: fetch these columns for these keys.

SQLite and PostgreSQL are two configurations of the same `LibrarySource` (an AsyncEngine
URL), not two code paths. Only the columns the plan allows are ever selected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from libraries.tables import ROW_ID, library_metadata
from schema.catalog import Catalog, Resource

Row = dict[str, Any]


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

    async def fetch(self, resource: Resource, columns: Sequence[str], keys: Sequence[str]) -> dict[str, list[Row]]:
        """Rows of `resource` for `keys`, grouped by key, holding only `columns`."""
        table = self.tables[resource.code]
        key = table.c[resource.key_column]
        wanted = [table.c[c] for c in dict.fromkeys(columns) if c != resource.key_column]
        query = select(key, *wanted).where(key.in_(list(keys))).order_by(table.c[ROW_ID])
        rows = await self._run(query)
        grouped: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            grouped[row[resource.key_column]].append(row)
        return grouped

    async def page(self, resource: Resource, columns: Sequence[str], after: int, limit: int) -> list[Row]:
        """Up to `limit` rows after the surrogate row id `after`, in row order."""
        table = self.tables[resource.code]
        wanted = [table.c[c] for c in dict.fromkeys([resource.key_column, *columns])]
        query = select(table.c[ROW_ID], *wanted).where(table.c[ROW_ID] > after).order_by(table.c[ROW_ID]).limit(limit)
        return await self._run(query)

    async def ping(self) -> None:
        await self._run(select(1))

    async def _run(self, query: Any) -> list[Row]:
        try:
            async with self.engine.connect() as conn:
                result = await conn.execute(query)
                return [dict(r._mapping) for r in result]
        except (SQLAlchemyError, OSError) as exc:
            raise LibraryUnavailable(self.code) from exc


def library_sources(catalog: Catalog, engines: dict[str, AsyncEngine]) -> dict[str, LibrarySource]:
    sources = {}
    for code in catalog.libraries:
        _, tables = library_metadata(catalog, code)
        sources[code] = LibrarySource(code, engines[code], tables)
    return sources
