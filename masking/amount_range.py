"""``amountRange``: generalise a monetary amount to a fixed bucket.

Exact amounts (salaries, subsidies, tax paid ...) can single out a person, so
they are replaced by the bucket they fall in.  The buckets are fixed, on a
roughly logarithmic scale with edges 1, 5, 10, 50, 100, 500, ... (1 and 5
times each power of ten), and are returned as strings:

==================================  =======================
value                               result
==================================  =======================
negative (including ``-inf``)       ``< 0``
exactly 0                           ``0``
``0 < v < 1``                       ``(0, 1)``
``1 <= v < 5``                      ``[1, 5)``
``5 <= v < 10``                     ``[5, 10)``
...                                 ...
``500000000 <= v < 1000000000``     ``[500000000, 1000000000)``
``v >= 1000000000`` (incl. ``inf``)  ``>= 1000000000``
==================================  =======================

So ``3500 -> [1000, 5000)``, ``12000 -> [10000, 50000)`` and
``2345678 -> [1000000, 5000000)``.  Buckets are half-open: an edge value
belongs to the bucket it starts.

Accepted inputs are ``int``, ``float``, ``Decimal`` and numeric strings; a
string may carry surrounding whitespace, thousands separators (``,``), a
leading currency sign (``¥``/``￥``) or a trailing ``元``.  Comparisons are
done exactly with ``Decimal``.  Anything else (``bool``, NaN, unparsable
text) becomes the fixed ``***``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from masking._base import REDACTED, Masker
from masking.strategy import Strategy

CEILING = 10**9
"""Amounts at or above this value all share the open-ended top bucket."""

_CURRENCY_SIGNS = "¥\uffe5"
_UNIT = "元"


def _to_decimal(value: object) -> Decimal | None:
    """Convert a supported numeric value to ``Decimal``; ``None`` if unsupported."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float):
        number = Decimal(value)
    elif isinstance(value, str):
        text = (
            value.strip()
            .lstrip(_CURRENCY_SIGNS)
            .removesuffix(_UNIT)
            .replace(",", "")
            .strip()
        )
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
    else:
        return None
    return None if number.is_nan() else number


def amount_bucket(value: object) -> str:
    """Return the bucket label of an amount, or ``***`` if it is not a number."""
    number = _to_decimal(value)
    if number is None:
        return REDACTED
    if number < 0:
        return "< 0"
    if number == 0:
        return "0"
    if number < 1:
        return "(0, 1)"
    if number >= CEILING:
        return f">= {CEILING}"
    power = 10 ** number.adjusted()
    if number < 5 * power:
        return f"[{power}, {5 * power})"
    return f"[{5 * power}, {10 * power})"


def build() -> Masker:
    return amount_bucket


STRATEGY = Strategy(
    name="amountRange",
    description="Replaces an amount with its bucket on a 1-5-10 logarithmic scale, e.g. 3500 -> [1000, 5000).",
    build=build,
    takes_text=False,
)
