"""Records: the objects GraphQL reads, holding only final (already masked) values.

Allowed fields are plain attribute reads through strawberry's default resolver, so a field
costs what strawberry itself costs; a refused field raises its error at its own path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from gateway.errors import ErrorCode, field_refused
from masking import REDACTED
from masking.free_text import scrub
from policies.planner import Access, Decision
from resolvers.datasource import Row
from schema.catalog import DataType, Field, FieldRef, Sensitivity
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
    scrubbed: Counter[str] | None = None,
) -> Record:
    """`rows` maps resource code → the row of that resource (None when it has none);
    `scrubbed` counts, by coordinate, free-text values served with identifiers masked."""
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
            value = values[name] = present(ref.field, raw, decision)
            if value is not raw and scrubbed is not None and isinstance(raw, str) and decision.access is Access.RAW:
                scrubbed[ref.coordinate] += 1
    return Record(key, values, refused)


def present(field: Field, raw: Any, decision: Decision) -> Any:
    """The value as it leaves: masked when the plan says so, typed as the schema declares."""
    if raw is None:
        return None
    if decision.access is Access.MASKED:
        value = decision.masker(raw) if decision.masker else REDACTED
        return None if value is None else str(value)
    if is_free_text(field):
        return scrub(raw, embedded_only=True) if isinstance(raw, str) else raw
    if served_as_string(field):
        return _as_string(raw)
    if field.data_type is DataType.DECIMAL and not isinstance(raw, Decimal):
        return Decimal(str(raw))
    return raw


def is_free_text(field: Field) -> bool:
    """Text the catalog does not label sensitive: scanned for embedded identifiers on the way out
    (all of it, not only `Field.open_text`: a short code field may hold one by mistake)."""
    return field.data_type is DataType.STRING and field.sensitivity is Sensitivity.NONE


def _as_string(raw: Any) -> str:
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, Decimal):
        return format(raw, "f")
    return str(raw)
