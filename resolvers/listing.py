"""List queries: the filters, sort keys and group keys of one list field, as plain data, and
the SQL they become. Values are bound parameters, never SQL text."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, and_, false, func, or_, true

from gateway.errors import ErrorCode, RequestRefused
from schema.catalog import DataType, Field, Resource
from schema.list_inputs import MAX_GROUP_KEYS, MAX_IN_VALUES, MAX_SORT_KEYS

MAX_TEXT = 200  # longest text a filter compares against
MAX_DECIMAL_EXPONENT = 30
OPERATORS = ("eq", "in_", "starts_with", "gt", "gte", "lt", "lte")


@dataclass(frozen=True)
class Condition:
    field: Field
    operator: str  # one of OPERATORS
    value: Any


@dataclass(frozen=True)
class SortKey:
    field: Field
    descending: bool = False


@dataclass(frozen=True)
class ListQuery:
    resource: Resource
    conditions: tuple[Condition, ...] = ()
    order: tuple[SortKey, ...] = ()

    def fingerprint(self) -> bytes:
        """Names the query a cursor belongs to: the resource, filters and sort keys."""
        parts = [self.resource.code]
        parts += [f"{c.field.name}:{c.operator}:{_jsonable(c.value)!r}" for c in self.conditions]
        parts += [f"{k.field.name}:{'desc' if k.descending else 'asc'}" for k in self.order]
        return hashlib.sha256("\x1f".join(parts).encode()).digest()

    def coordinates(self) -> set[str]:
        return {self.resource.coordinate(f) for f in (*(c.field for c in self.conditions), *(k.field for k in self.order))}


def list_query(resource: Resource, where: Any = None, order_by: Sequence[Any] | None = None) -> ListQuery:
    """Read the strawberry arguments of a list field into a `ListQuery`, bounding their sizes."""
    fields = {f.name: f for f in resource.fields}
    conditions: list[Condition] = []
    if where is not None:
        for name, field in fields.items():
            spec = getattr(where, name, None)
            if spec is None:
                continue
            for operator in OPERATORS:
                value = getattr(spec, operator, None)
                if value is not None:
                    conditions.append(Condition(field, operator, _bounded(field, operator, value)))
    order: list[SortKey] = []
    for key in order_by or ():
        name = enum_value(key.field)
        if any(k.field.name == name for k in order):
            raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"`orderBy` names `{name}` twice")
        order.append(SortKey(fields[name], enum_value(key.direction) == "DESC"))
    if len(order) > MAX_SORT_KEYS:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"`orderBy` takes at most {MAX_SORT_KEYS} keys")
    return ListQuery(resource, tuple(conditions), tuple(order))


def group_keys(resource: Resource, group_by: Sequence[Any]) -> list[Field]:
    fields = {f.name: f for f in resource.fields}
    names = list(dict.fromkeys(enum_value(g) for g in group_by))
    if not 1 <= len(names) <= MAX_GROUP_KEYS:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"`groupBy` takes 1 to {MAX_GROUP_KEYS} fields")
    return [fields[n] for n in names]


def enum_value(value: Any) -> str:
    return str(getattr(value, "value", value))


def _bounded(field: Field, operator: str, value: Any) -> Any:
    if operator == "in_":
        if not 1 <= len(value) <= MAX_IN_VALUES:
            raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"`in` on `{field.name}` takes 1 to {MAX_IN_VALUES} values")
        for item in value:
            _bounded(field, "eq", item)
        return tuple(value)
    if isinstance(value, str) and (len(value) > MAX_TEXT or "\x00" in value):
        raise RequestRefused(ErrorCode.BAD_USER_INPUT,
                             f"a filter on `{field.name}` must be text of at most {MAX_TEXT} characters, without NUL")
    if isinstance(value, Decimal) and not (value.is_finite() and abs(value.adjusted()) <= MAX_DECIMAL_EXPONENT):
        raise RequestRefused(ErrorCode.BAD_USER_INPUT,
                             f"a filter on `{field.name}` must be a finite number below 1e{MAX_DECIMAL_EXPONENT}")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"a filter on `{field.name}` is out of range")
    if operator == "starts_with" and not value:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"`startsWith` on `{field.name}` needs at least one character")
    return value


def where_clause(table: Table, query: ListQuery) -> ColumnElement[bool]:
    clauses = [_condition(table.c[c.field.column], c) for c in query.conditions]
    return and_(true(), *clauses)


def _condition(column: Column[Any], condition: Condition) -> ColumnElement[bool]:
    value = condition.value
    match condition.operator:
        case "eq":
            return column == value
        case "in_":
            return column.in_(list(value))
        case "starts_with":
            # Not LIKE: SQLite's LIKE ignores ASCII case, PostgreSQL's does not; this is exact on both.
            return func.substr(column, 1, len(value)) == value
        case "gt":
            return column > value
        case "gte":
            return column >= value
        case "lt":
            return column < value
        case "lte":
            return column <= value
    raise AssertionError(condition.operator)


def order_columns(table: Table, query: ListQuery, row_id: Column[Any]) -> list[Any]:
    """Sort keys with nulls lowest, then the row id so that the order is total."""
    keys = [
        table.c[k.field.column].desc().nulls_last() if k.descending else table.c[k.field.column].asc().nulls_first()
        for k in query.order
    ]
    return [*keys, row_id.asc()]


def after_clause(table: Table, query: ListQuery, row_id: Column[Any], position: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `position` (the sort values and row id of the last row served), in
    the order of `order_columns` (keyset pagination)."""
    *values, last_id = position
    alternatives = []
    equal_so_far: list[ColumnElement[bool]] = []
    for key, value in zip(query.order, values, strict=True):
        column = table.c[key.field.column]
        alternatives.append(and_(true(), *equal_so_far, _beyond(column, value, key.descending)))
        equal_so_far.append(column.is_(None) if value is None else column == value)
    alternatives.append(and_(true(), *equal_so_far, row_id > last_id))
    return or_(*alternatives)


def after_ranges(table: Table, query: ListQuery, row_id: Column[Any],
                 position: Sequence[Any]) -> list[ColumnElement[bool]]:
    """`after_clause` as conditions that, read one after the other (each until the page is full),
    give the same rows in the same order, each bounded on the first sort key so that an index on it
    can seek to the position: `after_clause` alone is an OR that an index can only scan from the top,
    so a page 200,000 rows into a list cost 500× the first (bench/README.md, item 4)."""
    clause = after_clause(table, query, row_id, position)
    if not query.order or position[0] is None:  # ascending from the nulls: every non-null value is after
        return [clause]
    first, value = query.order[0], position[0]
    column = table.c[first.field.column]
    if not first.descending:
        return [and_(column >= value, clause)]
    return [and_(column <= value, clause), and_(column.is_(None), clause)]  # descending: nulls come last


def _beyond(column: Column[Any], value: Any, descending: bool) -> ColumnElement[bool]:
    if descending:  # nulls come last
        return false() if value is None else or_(column < value, column.is_(None))
    return column.is_not(None) if value is None else column > value


def position_of(row: dict[str, Any], query: ListQuery) -> list[Any]:
    return [*(_jsonable(row[k.field.column]) for k in query.order), row["row_id"]]


def restore_position(query: ListQuery, payload: Any) -> list[Any] | None:
    """The position a cursor carried, typed back; None when it does not fit the query."""
    if not isinstance(payload, list) or len(payload) != len(query.order) + 1:
        return None
    *values, row_id = payload
    if not isinstance(row_id, int) or isinstance(row_id, bool):
        return None
    try:
        typed = [None if v is None else _typed(k.field, v) for k, v in zip(query.order, values, strict=True)]
    except (TypeError, ValueError, ArithmeticError):
        return None
    return [*typed, row_id]


def _typed(field: Field, value: Any) -> Any:
    match field.data_type:
        case DataType.DATE:
            return date.fromisoformat(value)
        case DataType.DECIMAL:
            return Decimal(value)
        case DataType.INTEGER:
            return int(value)
        case DataType.BOOLEAN:
            return bool(value)
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
