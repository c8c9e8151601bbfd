"""Date parsing shared by the ``year`` and ``yearMonth`` generalisation rules.

Both rules accept a ``datetime.date`` (``datetime.datetime`` included) or a
string holding a calendar date as ``YYYY-MM-DD``, ``YYYY/MM/DD`` (month and
day may have one digit) or ``YYYYMMDD``, optionally followed by a time part
after ``T`` or a space, as in ISO 8601 timestamps.
The date must exist (``2023-02-30`` is rejected): a string that merely looks
like a date is not necessarily one, and generalising garbage would publish a
part of it unmasked.
"""

from __future__ import annotations

import re
from datetime import date

from masking._base import as_text

_DATE = re.compile(
    r"(\d{4})(?:([-/])(\d{1,2})\2(\d{1,2})|(\d{2})(\d{2}))(?:[T ].*)?", re.DOTALL
)


def parse_date(value: object) -> date | None:
    """Return ``value`` as a date, or ``None`` if it is not a valid date."""
    if isinstance(value, date):
        return value
    text = as_text(value)
    if text is None:
        return None
    found = _DATE.fullmatch(text.strip())
    if found is None:
        return None
    year, _, month, day, compact_month, compact_day = found.groups()
    try:
        return date(int(year), int(month or compact_month), int(day or compact_day))
    except ValueError:
        return None
