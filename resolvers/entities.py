"""Resolver factories, one per kind of field (never one per resource): the schema builder
asks these for the root entities, the list fields and the nested record lists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLResolveInfo
from stdnum.cn import ric, uscc

from gateway.errors import ErrorCode, RequestRefused, field_refused
from policies.planner import Access
from resolvers.context import RequestContext
from resolvers.loaders import entity_loader, record_list_loader
from resolvers.pagination import check_page_size, decode_cursor, encode_cursor
from resolvers.records import Record
from schema.catalog import Cardinality, Entity, Resource


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
    decision = ctx.planner.plan_resource(ctx.application, ctx.purpose or "", resource.code)
    if decision.access is Access.DENIED:
        raise field_refused(decision.reason or ErrorCode.GRANT_REQUIRED)


def normalize_key(entity: Entity, value: str) -> str:
    """Validate an ID number (GB 11643) or credit code (GB 32100) with its check digit."""
    module = ric if entity is Entity.PERSON else uscc
    try:
        return str(module.validate(value))
    except Exception:  # stdnum raises several ValidationError subclasses; all mean the same here
        what = "公民身份号码 (GB 11643)" if entity is Entity.PERSON else "统一社会信用代码 (GB 32100)"
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"`{entity.key_argument}` is not a valid {what}") from None


def entity_root(entity: Entity) -> Callable[..., Awaitable[Record | None]]:
    async def resolve(info: GraphQLResolveInfo, key: str) -> Record | None:
        return await entity_loader(context(info), entity).load(normalize_key(entity, key))

    return resolve


def entity_list(resource: Resource) -> Callable[..., Awaitable[Connection]]:
    """A ONE resource's list: its rows in order, each node the federated entity."""

    async def resolve(info: GraphQLResolveInfo, first: int, after: str | None) -> Connection:
        ctx = context(info)
        limit = check_page_size(first)
        ensure_resource_visible(ctx, resource)
        loader = entity_loader(ctx, resource.entity)
        columns = ctx.allowed_columns(resource.type_name, resource.code)
        rows = await ctx.sources[resource.library].page(resource, columns, decode_cursor(after), limit + 1)
        rows, more = rows[:limit], len(rows) > limit
        ctx.rows[resource.code] += len(rows)
        loader.prime(resource, rows)
        nodes = await loader.load_many([row[resource.key_column] for row in rows])
        edges = [Edge(encode_cursor(row["row_id"]), node) for row, node in zip(rows, nodes, strict=True)]
        return Connection(edges, PageInfo(more, edges[-1].cursor if edges else None))

    return resolve


def record_list(resource: Resource) -> Callable[..., Awaitable[Connection]]:
    """A MANY resource's list: its records in order."""

    async def resolve(info: GraphQLResolveInfo, first: int, after: str | None) -> Connection:
        ctx = context(info)
        limit = check_page_size(first)
        ensure_resource_visible(ctx, resource)
        columns = ctx.allowed_columns(resource.type_name, resource.code)
        rows = await ctx.sources[resource.library].page(resource, columns, decode_cursor(after), limit + 1)
        rows, more = rows[:limit], len(rows) > limit
        ctx.rows[resource.code] += len(rows)
        builder = record_list_loader(ctx, resource)
        edges = [Edge(encode_cursor(row["row_id"]), builder.record(row[resource.key_column], row)) for row in rows]
        return Connection(edges, PageInfo(more, edges[-1].cursor if edges else None))

    return resolve


def nested_records(resource: Resource) -> Callable[..., Awaitable[list[Record]]]:
    """`Person.licenses` and the like: batched across every entity of the request."""
    assert resource.cardinality is Cardinality.MANY

    async def resolve(root: Record, info: GraphQLResolveInfo) -> list[Record]:
        ctx = context(info)
        ensure_resource_visible(ctx, resource)
        return await record_list_loader(ctx, resource).load(root.key)

    return resolve
