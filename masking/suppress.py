"""``suppress``: drop the value entirely.

Every input, whatever its type, becomes ``None``, so the field is returned as
``null``.  Use it when even the presence or shape of a value must not be
visible to a consumer, while keeping the field in the schema so that queries
written against the full schema stay valid::

    13812345678 -> None
"""

from __future__ import annotations

from masking._base import Masker
from masking.strategy import Strategy


def suppress_value(value: object) -> None:
    """Discard ``value``."""
    del value


def build() -> Masker:
    return suppress_value


STRATEGY = Strategy(
    name="suppress",
    description="Replaces any value with null, e.g. 13812345678 -> null.",
    build=build,
    takes_text=False,
)
