"""``divisionCode``: generalise a 6-digit administrative division code (行政区划代码).

Division codes are ``PPCCXX``: province, prefecture, county.  The rule zeroes
the digits below the chosen ``level``::

    level=prefecture (default)  110105 -> 110100
    level=province              110105 -> 110000
    level=county                110105 -> 110105   (only validated)

Codes already at a coarser level stay as they are (440300 at prefecture level
is 440300).  A string or integer is accepted, surrounding whitespace ignored.
The code must be 6 ASCII digits and a code python-stdnum's division table
(:mod:`masking.divisions`) knows, current or historical; anything else -
including codes created after that table - becomes the fixed ``***``,
because a number that merely looks like a code may be something else
entirely.
"""

from __future__ import annotations

from masking._base import REDACTED, TextCore
from masking.divisions import division_table
from masking.strategy import Param, Strategy

_KEPT_DIGITS = {"province": 2, "prefecture": 4, "county": 6}


def build(level: str = "prefecture") -> TextCore:
    """Generalise division codes to ``level``."""
    known = division_table().codes
    kept = _KEPT_DIGITS[level]
    zeros = "0" * (6 - kept)

    def generalise_division_code(text: str) -> str:
        code = text.strip()
        if code not in known:  # the table holds only 6-digit codes
            return REDACTED
        return code[:kept] + zeros

    return generalise_division_code


STRATEGY = Strategy(
    name="divisionCode",
    description="Generalises a 6-digit administrative division code to its prefecture "
    "(or, with level=province, its province), e.g. 110105 -> 110100.",
    build=build,
    params=(
        Param(
            "level",
            str,
            "prefecture",
            "county keeps the code, prefecture zeroes its last 2 digits, province its last 4",
            choices=("county", "prefecture", "province"),
        ),
    ),
)
