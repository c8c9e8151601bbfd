"""How catalog data types appear in GraphQL.

A field that some caller may receive masked is a `String`, whatever its stored type, so that
its masked form (`1990`, `[1000, 5000)`) fits the same schema for every caller.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from schema.catalog import DataType, Field

_PYTHON_TYPES: dict[DataType, type] = {
    DataType.STRING: str,
    DataType.INTEGER: int,
    DataType.DECIMAL: Decimal,
    DataType.DATE: date,
    DataType.BOOLEAN: bool,
}


def served_as_string(field: Field) -> bool:
    return field.data_type is not DataType.STRING and field.mask_rule not in (None, "suppress")


def python_type(field: Field) -> type:
    return str if served_as_string(field) else _PYTHON_TYPES[field.data_type]
