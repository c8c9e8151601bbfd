"""How catalog data types appear in GraphQL.

A field that some caller may receive masked is a `String`, whatever its stored type, so that
its masked form (`1990`, `[1000, 5000)`) fits the same schema for every caller.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from schema.catalog import DataType, Field, Sensitivity

_PYTHON_TYPES: dict[DataType, type] = {
    DataType.STRING: str,
    DataType.INTEGER: int,
    DataType.DECIMAL: Decimal,
    DataType.DATE: date,
    DataType.BOOLEAN: bool,
}


def served_as_string(field: Field) -> bool:
    """A typed field that may be served masked: declared with a mask rule (other than
    `suppress`, whose null fits any type) or a sensitivity."""
    if field.data_type is DataType.STRING or field.mask_rule == "suppress":
        return False
    return field.mask_rule is not None or field.sensitivity is not Sensitivity.NONE


def fits_rule(field: Field, rule: str) -> bool:
    """Whether the output of mask rule `rule` fits the field's GraphQL type."""
    return rule == "suppress" or field.data_type is DataType.STRING or served_as_string(field)


def python_type(field: Field) -> type:
    return str if served_as_string(field) else _PYTHON_TYPES[field.data_type]
