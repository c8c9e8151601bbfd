"""``year``: generalise a date to its year.

A full date (typically a birth date) is a strong quasi-identifier; the year
alone is enough for age-band statistics::

    1990-03-07 -> 1990

Accepts ``datetime.date``/``datetime.datetime`` or a date string (see
:mod:`masking._dates`).  The result is always a 4-digit string.  Anything that
is not a valid date becomes the fixed ``***``.
"""

from __future__ import annotations

from masking._base import REDACTED, Masker
from masking._dates import parse_date
from masking.strategy import Strategy


def generalise_to_year(value: object) -> str:
    """Return the year of a date as ``YYYY``."""
    parsed = parse_date(value)
    if parsed is None:
        return REDACTED
    return f"{parsed.year:04d}"


def build() -> Masker:
    return generalise_to_year


STRATEGY = Strategy(
    name="year",
    description="Generalises a date to its year, e.g. 1990-03-07 -> 1990.",
    build=build,
    takes_text=False,
)
