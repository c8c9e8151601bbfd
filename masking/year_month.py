"""``yearMonth``: generalise a date to its year and month.

Drops the day of month, which together with the year and month would pin a
birth date or an event to a single day::

    1990-03-07 -> 1990-03

Accepts ``datetime.date``/``datetime.datetime`` or a date string (see
:mod:`masking._dates`).  The result is always a ``YYYY-MM`` string.  Anything
that is not a valid date becomes the fixed ``***``.
"""

from __future__ import annotations

from masking._base import REDACTED, Masker
from masking._dates import parse_date
from masking.strategy import Strategy


def generalise_to_year_month(value: object) -> str:
    """Return the year and month of a date as ``YYYY-MM``."""
    parsed = parse_date(value)
    if parsed is None:
        return REDACTED
    return f"{parsed.year:04d}-{parsed.month:02d}"


def build() -> Masker:
    return generalise_to_year_month


STRATEGY = Strategy(
    name="yearMonth",
    description="Generalises a date to its year and month, e.g. 1990-03-07 -> 1990-03.",
    build=build,
    takes_text=False,
)
