"""Records: the objects GraphQL reads, holding only final (already masked) values.

Allowed fields are plain attribute reads through strawberry's default resolver, so a field
costs what strawberry itself costs; a refused field raises its error at its own path.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from gateway.errors import ErrorCode, field_refused
from masking import mask
from policies.planner import Access, Decision
from resolvers.datasource import Row
from schema.catalog import DataType, Field, FieldRef
from schema.types import served_as_string


class Record:
    __slots__ = ("key", "_values", "_refused")

    def __init__(self, key: str, values: dict[str, Any], refused: dict[str, ErrorCode]) -> None:
        self.key = key
        self._values = values
        self._refused = refused

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            pass
        code = self._refused.get(name)
        if code is not None:
            raise field_refused(code)
        raise AttributeError(name)


def build_record(
    key: str,
    requested: list[tuple[FieldRef, Decision]],
    rows: Mapping[str, Row | None],
    unavailable: frozenset[str] = frozenset(),
) -> Record:
    """`rows` maps resource code → the row of that resource (None when it has none)."""
    values: dict[str, Any] = {}
    refused: dict[str, ErrorCode] = {}
    for ref, decision in requested:
        name = ref.field.name
        if decision.access is Access.DENIED:
            refused[name] = decision.reason or ErrorCode.FIELD_NOT_SHARED
        elif ref.resource.code in unavailable:
            refused[name] = ErrorCode.LIBRARY_UNAVAILABLE
        else:
            row = rows.get(ref.resource.code)
            raw = None if row is None else row.get(ref.field.column)
            values[name] = present(ref.field, raw, decision)
    return Record(key, values, refused)


def present(field: Field, raw: Any, decision: Decision) -> Any:
    """The value as it leaves: masked when the plan says so, typed as the schema declares."""
    if raw is None:
        return None
    if decision.access is Access.MASKED:
        value = mask(decision.rule or "redact", raw)
        return None if value is None else str(value)
    if served_as_string(field):
        return _as_string(raw)
    if field.data_type is DataType.DECIMAL and not isinstance(raw, Decimal):
        return Decimal(str(raw))
    return raw


def _as_string(raw: Any) -> str:
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, Decimal):
        return format(raw, "f")
    return str(raw)
