"""``fixedPhone``: mainland China fixed-line (landline) number.

Keeps the area code and, by default, the last 2 digits of the subscriber
number and stars the rest.  The area code only locates a city, while the
subscriber number identifies a household or office::

    010-62345678   -> 010-******78
    0755-87654321  -> 0755-******21
    01062345678    -> 010-******78
    62345678       -> ******78        (no area code)

``tail`` (0..8) changes how many trailing digits are kept.  Input may use
spaces, hyphens, parentheses or a ``+86``/``0086`` country prefix
(``+86 10 6234 5678``); the output is always normalised to
``<area code>-<stars><tail digits>``.  The area code length follows the
national numbering plan: ``010`` and ``02x`` have 3 digits, every other
``0xxx`` code has 4, and the subscriber number has 7 or 8 digits.  Anything
else, including extensions such as ``010-62345678-801`` and mobile numbers,
is starred completely, keeping only its length.
"""

from __future__ import annotations

import re

from masking._base import TextCore, keep_ends, stars
from masking.strategy import Strategy, keep_param

_SEPARATORS = re.compile(r"[\s\-()]")
_COUNTRY_PREFIX = re.compile(r"(?:\+86|0086)(?=[1-9])")
_WITH_AREA = re.compile(r"(010|02\d|0[3-9]\d{2})(\d{7,8})")
_LOCAL_ONLY = re.compile(r"[2-9]\d{6,7}")


def build(tail: int = 2) -> TextCore:
    """Mask landline numbers as ``<area>-<stars><tail digits>``."""

    def mask_fixed_phone(text: str) -> str:
        digits = _SEPARATORS.sub("", text)
        if _COUNTRY_PREFIX.match(digits):
            digits = "0" + _COUNTRY_PREFIX.sub("", digits, count=1)
        with_area = _WITH_AREA.fullmatch(digits)
        if with_area:
            area, local = with_area.groups()
            return f"{area}-{keep_ends(local, 0, tail)}"
        if _LOCAL_ONLY.fullmatch(digits):
            return keep_ends(digits, 0, tail)
        return stars(len(text))

    return mask_fixed_phone


STRATEGY = Strategy(
    name="fixedPhone",
    description="Keeps the area code and the last 2 digits of a landline number and stars "
    "the rest, e.g. 010-62345678 -> 010-******78.",
    build=build,
    params=(keep_param("tail", 2, "digits of the subscriber number kept at the end"),),
)
