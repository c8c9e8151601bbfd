"""The arguments of list fields: filters (`where`), sorting (`orderBy`) and grouping (`groupBy`).

One `…Where` input, one `…Field` enum and one `…Order` input per resource, generated from the
catalog like the output types. Every filter, sort key or group key names a catalog field; the
gateway allows it only on fields the caller sees raw, and refuses the request before anything
runs otherwise (`FILTER_NOT_ALLOWED`; docs/masking.md, "No oracle").

This module deliberately does not use `from __future__ import annotations` (see builder).
"""

import enum
from datetime import date
from decimal import Decimal
from typing import Any, Optional

import strawberry

from schema.catalog import DataType, Resource

MAX_IN_VALUES = 100
MAX_SORT_KEYS = 3
MAX_GROUP_KEYS = 3


@strawberry.input(description="Conditions on a text field; all given conditions must hold.")
class StringFilter:
    eq: Optional[str] = None
    in_: Optional[list[str]] = strawberry.field(name="in", default=None, description=f"At most {MAX_IN_VALUES} values.")
    starts_with: Optional[str] = None


@strawberry.input(description="Conditions on a whole-number field; all given conditions must hold.")
class IntFilter:
    eq: Optional[int] = None
    in_: Optional[list[int]] = strawberry.field(name="in", default=None, description=f"At most {MAX_IN_VALUES} values.")
    gt: Optional[int] = None
    gte: Optional[int] = None
    lt: Optional[int] = None
    lte: Optional[int] = None


@strawberry.input(description="Conditions on a decimal field; all given conditions must hold.")
class DecimalFilter:
    eq: Optional[Decimal] = None
    in_: Optional[list[Decimal]] = strawberry.field(name="in", default=None, description=f"At most {MAX_IN_VALUES} values.")
    gt: Optional[Decimal] = None
    gte: Optional[Decimal] = None
    lt: Optional[Decimal] = None
    lte: Optional[Decimal] = None


@strawberry.input(description="Conditions on a date field; all given conditions must hold.")
class DateFilter:
    eq: Optional[date] = None
    in_: Optional[list[date]] = strawberry.field(name="in", default=None, description=f"At most {MAX_IN_VALUES} values.")
    gt: Optional[date] = None
    gte: Optional[date] = None
    lt: Optional[date] = None
    lte: Optional[date] = None


@strawberry.input(description="Conditions on a yes/no field.")
class BooleanFilter:
    eq: Optional[bool] = None


FILTERS: dict[DataType, Any] = {
    DataType.STRING: StringFilter,
    DataType.INTEGER: IntFilter,
    DataType.DECIMAL: DecimalFilter,
    DataType.DATE: DateFilter,
    DataType.BOOLEAN: BooleanFilter,
}


@strawberry.enum(description="Sort direction; nulls sort lowest (first ascending, last descending).")
class SortDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.type(description="One group of a grouped count: the group's key values, in `groupBy` order, and its size.")
class GroupCount:
    values: list[Optional[str]]
    count: int


def type_prefix(resource: Resource) -> str:
    return resource.list_field[0].upper() + resource.list_field[1:]


def groups_field(resource: Resource) -> str:
    return f"{resource.list_field}Groups"


class ListInputs:
    """The generated input types of one resource."""

    def __init__(self, resource: Resource) -> None:
        prefix = type_prefix(resource)
        names = [f.name for f in resource.fields]
        self.field_enum: Any = strawberry.enum(
            enum.Enum(f"{prefix}Field", {n: n for n in names}),  # type: ignore[misc]
            description=f"The fields of {resource.name} ({resource.code}).",
        )
        annotations = {f.name: Optional[FILTERS[f.data_type]] for f in resource.fields}
        namespace: dict[str, Any] = {n: None for n in names}
        namespace["__annotations__"] = annotations
        self.where: Any = strawberry.input(
            type(f"{prefix}Where", (), namespace),
            description=f"Filters on {resource.name}: every given field's conditions must hold (AND). "
            "Only fields you see raw may be filtered.",
        )
        self.order: Any = strawberry.input(
            type(f"{prefix}Order", (), {
                "__annotations__": {"field": self.field_enum, "direction": SortDirection},
                "direction": SortDirection.ASC,
            }),
            description="One sort key. Only fields you see raw may be sorted on.",
        )
