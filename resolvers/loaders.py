"""Per-request DataLoaders: every entity and every list of records is fetched in one query
per library resource for all the keys a request asks for, never one query per key."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from gateway.errors import ErrorCode, FieldRefused, field_refused
from resolvers.context import RequestContext
from resolvers.datasource import LibraryUnavailable, Row
from resolvers.records import Record, build_record
from schema.catalog import Entity, Resource


class EntityLoader:
    """Loads `Person` / `Enterprise` records by key, from every library that holds a requested
    field. Rows a list query already read are reused (`prime`), not fetched again."""

    def __init__(self, ctx: RequestContext, entity: Entity) -> None:
        self.ctx = ctx
        self.entity = entity
        self.anchor = ctx.catalog.anchor_of(entity)
        self.resources = ctx.catalog.resources_of(entity.value)
        self.cache: dict[str, dict[str, Row | None]] = {}  # resource code → key → row
        self.loader: DataLoader[str, Record | None | FieldRefused] = DataLoader(self._load)

    def needed(self) -> list[Resource]:
        """The anchor (existence) and each resource with an allowed requested field."""
        return [r for r in self.resources if r is self.anchor or self.ctx.allowed_columns(self.entity.value, r.code)]

    def prime(self, resource: Resource, rows: Sequence[Row]) -> None:
        cached = self.cache.setdefault(resource.code, {})
        for row in rows:
            cached[row[resource.key_column]] = row

    async def load(self, key: str) -> Record | None:
        return await self.loader.load(key)  # type: ignore[return-value]

    async def load_many(self, keys: Sequence[str]) -> list[Record | None]:
        return await self.loader.load_many(keys)  # type: ignore[return-value]

    async def _load(self, keys: list[str]) -> list[Record | None | FieldRefused]:
        needed = self.needed()
        pending = []
        for resource in needed:
            cached = self.cache.setdefault(resource.code, {})
            missing = [k for k in keys if k not in cached]
            if missing:
                pending.append((resource, missing))
        results = await asyncio.gather(
            *(self._fetch(resource, missing) for resource, missing in pending), return_exceptions=True
        )
        unavailable = set()
        for (resource, _keys), result in zip(pending, results, strict=True):
            if isinstance(result, LibraryUnavailable):
                unavailable.add(resource.code)
            elif isinstance(result, BaseException):
                raise result
        if self.anchor.code in unavailable:
            return [field_refused(ErrorCode.LIBRARY_UNAVAILABLE)] * len(keys)
        requested = self.ctx.requested(self.entity.value)
        records: list[Record | None | FieldRefused] = []
        for key in keys:
            rows = {r.code: self.cache.get(r.code, {}).get(key) for r in needed}
            if rows.get(self.anchor.code) is None:
                records.append(None)
            else:
                records.append(build_record(key, requested, rows, frozenset(unavailable), self.ctx.scrubbed))
        return records

    async def _fetch(self, resource: Resource, keys: list[str]) -> None:
        source = self.ctx.sources[resource.library]
        columns = self.ctx.allowed_columns(self.entity.value, resource.code)
        grouped = await source.fetch(resource, columns, keys)
        self.ctx.rows[resource.code] += sum(len(v) for v in grouped.values())
        cached = self.cache.setdefault(resource.code, {})
        for key in keys:
            rows = grouped.get(key)
            cached[key] = rows[0] if rows else None


class RecordListLoader:
    """Loads the records of a MANY resource (e.g. a person's licences) by entity key."""

    def __init__(self, ctx: RequestContext, resource: Resource) -> None:
        self.ctx = ctx
        self.resource = resource
        self.loader: DataLoader[str, list[Record] | FieldRefused] = DataLoader(self._load)

    async def load(self, key: str) -> list[Record]:
        return await self.loader.load(key)  # type: ignore[return-value]

    async def _load(self, keys: list[str]) -> list[list[Record] | FieldRefused]:
        resource = self.resource
        columns = self.ctx.allowed_columns(resource.type_name, resource.code)
        try:
            grouped = await self.ctx.sources[resource.library].fetch(resource, columns, keys)
        except LibraryUnavailable:
            return [field_refused(ErrorCode.LIBRARY_UNAVAILABLE)] * len(keys)
        self.ctx.rows[resource.code] += sum(len(v) for v in grouped.values())
        return [[self.record(key, row) for row in grouped.get(key, [])] for key in keys]

    def record(self, key: str, row: Row) -> Record:
        return build_record(key, self.ctx.requested(self.resource.type_name), {self.resource.code: row},
                            scrubbed=self.ctx.scrubbed)


def entity_loader(ctx: RequestContext, entity: Entity) -> EntityLoader:
    loader = ctx.loaders.get(entity)
    if loader is None:
        loader = ctx.loaders[entity] = EntityLoader(ctx, entity)
    return loader  # type: ignore[no-any-return]


def record_list_loader(ctx: RequestContext, resource: Resource) -> RecordListLoader:
    loader = ctx.loaders.get(resource.code)
    if loader is None:
        loader = ctx.loaders[resource.code] = RecordListLoader(ctx, resource)
    return loader  # type: ignore[no-any-return]
