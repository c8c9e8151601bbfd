"""Resolver factories, one per kind of field (never one per resource): the schema builder
asks these for the root entities, the list fields and the nested record lists."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLResolveInfo

from gateway.errors import ErrorCode, RequestRefused, field_refused
from masking.free_text import is_credit_code, is_id_number
from policies.planner import Access, Decision
from resolvers.context import RequestContext
from resolvers.datasource import Row
from resolvers.listing import ListQuery, position_of
from resolvers.loaders import entity_loader, record_list_loader
from resolvers.pagination import check_page_size
from resolvers.records import Record, present
from schema.catalog import Cardinality, Catalog, Entity, Field, Resource
from schema.list_inputs import GroupCount


@dataclass
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@dataclass
class Edge:
    cursor: str
    node: Record | None


@dataclass
class Connection:
    edges: list[Edge]
    page_info: PageInfo


def context(info: Any) -> RequestContext:
    ctx: RequestContext = info.context
    return ctx


def ensure_resource_visible(ctx: RequestContext, resource: Resource) -> None:
    """Lists and relations reveal which records exist: refuse them, before any read, when the
    caller may see none of the resource's fields."""
    if ctx.allowed_columns(resource.type_name, resource.code):
        return  # a field of it the request planned is served: the planner's answer would be the same
    decision = ctx.planner.plan_resource(ctx.application, ctx.purpose or "", resource.code)
    if decision.access is Access.DENIED:
        raise field_refused(decision.reason or ErrorCode.GRANT_REQUIRED)


_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")  # ASCII only: other scripts' digits are not a key
_CREDIT_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")  # GB 32100 layout


def normalize_key(entity: Entity, value: str) -> str:
    """Validate an ID number (GB 11643) or credit code (GB 32100) with its check digit, after
    normalizing what people type: full-width characters, spaces anywhere, a lower-case x or letters."""
    compact = "".join(unicodedata.normalize("NFKC", value).split()).upper()
    if entity is Entity.PERSON and _ID_NUMBER.fullmatch(compact) and is_id_number(compact):
        return compact
    if entity is Entity.ENTERPRISE and _CREDIT_CODE.fullmatch(compact) and is_credit_code(compact):
        return compact
    what = "公民身份号码 (GB 11643)" if entity is Entity.PERSON else "统一社会信用代码 (GB 32100)"
    raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"`{entity.key_argument}` is not a valid {what}")


def entity_root(entity: Entity) -> Callable[..., Awaitable[Record | None]]:
    async def resolve(info: GraphQLResolveInfo, key: str) -> Record | None:
        ctx = context(info)
        ensure_resource_visible(ctx, ctx.catalog.anchor_of(entity))  # existence is the anchor's to share
        key = normalize_key(entity, key)
        ctx.subjects.append(key)
        return await entity_loader(ctx, entity).load(key)

    return resolve


def entity_list(resource: Resource) -> Callable[..., Awaitable[Connection]]:
    """A ONE resource's list: its rows in the query's order, each node the federated entity."""

    async def resolve(info: GraphQLResolveInfo, first: int, after: str | None, query: ListQuery) -> Connection:
        ctx = context(info)
        rows, more, cursor = await _page(ctx, resource, first, after, query)
        loader = entity_loader(ctx, resource.entity)
        loader.prime(resource, rows)
        nodes = await loader.load_many([row[resource.key_column] for row in rows])
        edges = [Edge(cursor(row), node) for row, node in zip(rows, nodes, strict=True)]
        return Connection(edges, PageInfo(more, edges[-1].cursor if edges else None))

    return resolve


def record_list(resource: Resource) -> Callable[..., Awaitable[Connection]]:
    """A MANY resource's list: its records in the query's order."""

    async def resolve(info: GraphQLResolveInfo, first: int, after: str | None, query: ListQuery) -> Connection:
        ctx = context(info)
        rows, more, cursor = await _page(ctx, resource, first, after, query)
        builder = record_list_loader(ctx, resource)
        edges = [Edge(cursor(row), builder.record(row[resource.key_column], row)) for row in rows]
        return Connection(edges, PageInfo(more, edges[-1].cursor if edges else None))

    return resolve


async def _page(ctx: RequestContext, resource: Resource, first: int, after: str | None,
                query: ListQuery) -> tuple[list[Row], bool, Callable[[Row], str]]:
    limit = check_page_size(first)
    ensure_resource_visible(ctx, resource)
    ensure_raw(ctx, query.coordinates())
    position = ctx.cursors.decode(ctx.application, query, after)
    ctx.subjects.extend(_keys_named(resource, query))
    columns = ctx.allowed_columns(resource.type_name, resource.code)
    rows = await ctx.sources[resource.library].page(resource, columns, query, position, limit + 1)
    rows, more = rows[:limit], len(rows) > limit
    ctx.rows[resource.code] += len(rows)
    return rows, more, lambda row: ctx.cursors.encode(ctx.application, query, position_of(row, query))


def _keys_named(resource: Resource, query: ListQuery) -> list[str]:
    """Entity keys a list's filter names outright: audited as subjects, like key lookups."""
    keys: list[str] = []
    for condition in query.conditions:
        if condition.field.column == resource.key_column and condition.operator in ("eq", "in_"):
            keys.extend(condition.value if condition.operator == "in_" else [condition.value])
    return keys


def group_counts(resource: Resource) -> Callable[..., Awaitable[list[GroupCount]]]:
    """Counts of a resource's records by the values of raw-visible fields."""

    async def resolve(info: GraphQLResolveInfo, query: ListQuery, keys: list[Field], first: int) -> list[GroupCount]:
        ctx = context(info)
        limit = check_page_size(first)
        ensure_resource_visible(ctx, resource)
        ensure_raw(ctx, query.coordinates() | {resource.coordinate(f) for f in keys})
        rows = await ctx.sources[resource.library].groups(resource, query, [f.column for f in keys], limit)
        ctx.rows[resource.code] += sum(row["count"] for row in rows)
        raw = Decision(Access.RAW)
        return [
            GroupCount(values=[_as_text(present(f, row[f.column], raw)) for f in keys], count=row["count"])
            for row in rows
        ]

    return resolve


def ensure_raw(ctx: RequestContext, coordinates: set[str]) -> None:
    """Filters, sort keys and group keys only on fields the caller sees raw. The view refuses
    such requests before anything runs; this is the resolver's own guard."""
    for coordinate in sorted(coordinates):
        refusal = probe_refusal(ctx.catalog, coordinate, ctx.planner.explain(ctx.application, ctx.purpose or "", coordinate))
        if refusal:
            raise RequestRefused(ErrorCode.FILTER_NOT_ALLOWED, refusal)


def probe_refusal(catalog: Catalog, coordinate: str, decision: Decision) -> str | None:
    """Why a field may not be filtered, sorted or grouped on, if it may not; names the field and
    the reason, never a value."""
    if decision.access is not Access.RAW:
        reason = f", {decision.reason.value}" if decision.reason else ""
        return (f"`{coordinate}` is {decision.access.value} for you{reason}: filtering, sorting, grouping and "
                "paging work only on fields you see raw")
    ref = catalog.by_coordinate.get(coordinate)
    if ref is not None and ref.field.open_text:
        return (f"`{coordinate}` is free text that may hold identifiers masked on the way out: it cannot be "
                "filtered, sorted or grouped on")
    return None


def _as_text(value: object) -> str | None:
    return None if value is None else str(value)


def nested_records(resource: Resource) -> Callable[..., Awaitable[list[Record]]]:
    """`Person.licenses` and the like: batched across every entity of the request."""
    assert resource.cardinality is Cardinality.MANY

    async def resolve(root: Record, info: GraphQLResolveInfo) -> list[Record]:
        ctx = context(info)
        ensure_resource_visible(ctx, resource)
        return await record_list_loader(ctx, resource).load(root.key)

    return resolve
