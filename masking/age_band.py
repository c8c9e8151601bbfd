"""``ageBand``: generalise an age, or a birth date, to a band of ages.

Exact ages and birth dates are quasi-identifiers; a band is enough for most
statistics.  Bands are ``width`` years wide (default 10, 1..50) and start at
multiples of the width, written ``<first>-<last>``::

    35         -> 30-39
    1990-03-07 -> 30-39     (age on today's date in China, UTC+8)
    ageBand(width=5): 37 -> 35-39

The input is either an age - an ``int`` or a string of 1 to 3 ASCII digits -
or a date (``datetime.date``/``datetime.datetime`` or a date string as for
``year``, see :mod:`masking._dates`), read as a birth date: the age is then
computed on the current date in China Standard Time (UTC+8), so a value's
band changes on birthdays.  Ages below 0 (birth dates in the future) or above
150, and anything else, become the fixed ``***``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

from masking._base import REDACTED, Masker
from masking._dates import parse_date
from masking.strategy import Param, Strategy

CHINA = timezone(timedelta(hours=8), "CST")
MAX_AGE = 150
_AGE = re.compile(r"\d{1,3}", re.ASCII)


def today_in_china() -> date:
    """Today's date in China Standard Time, the reference date of ages."""
    return datetime.now(CHINA).date()


def age_on(birth: date, today: date) -> int:
    """Completed years between ``birth`` and ``today`` (negative if born later)."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def build(width: int = 10, today: Callable[[], date] = today_in_china) -> Masker:
    """Band ages ``width`` years wide; ``today`` gives the reference date of birth dates."""

    def age_band(value: object) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            age = value
        elif isinstance(value, str) and _AGE.fullmatch(value.strip()):
            age = int(value)
        else:
            birth = parse_date(value)
            if birth is None:
                return REDACTED
            age = age_on(birth, today())
        if not 0 <= age <= MAX_AGE:
            return REDACTED
        first = age - age % width
        return f"{first}-{first + width - 1}"

    return age_band


STRATEGY = Strategy(
    name="ageBand",
    description="Generalises an age, or a birth date's age today, to a band of 10 years, e.g. 35 -> 30-39.",
    build=build,
    params=(Param("width", int, 10, "years per band", minimum=1, maximum=50),),
    takes_text=False,
)
