"""``licensePlate``: mainland China vehicle licence plate (GA 36-2018).

Keeps the province character and the letter of the issuing authority (which
only locate the registration, usually a city) and, by default, the last 2
characters, and stars the rest, with the length preserved::

    京A12345   -> 京A***45     (ordinary plate, 7 characters)
    京AD12345  -> 京A****45    (new-energy plate, 8 characters)
    粤B·1234学 -> 粤B***4学

``tail`` (0..8) changes how many trailing characters are kept.  Whitespace and
the separators ``·``, ``•``, ``-`` and ``.`` are removed and letters
upper-cased first.  A plate must then be one of the 31 province characters, an
authority letter (``A``-``Z`` except ``I``), and either 5 serial characters
(digits and letters except ``I``/``O``, the last one possibly 挂, 学, 警, 港,
澳, 领, 试 or 超) or a 6-character new-energy serial (``D``/``F`` then a
letter or digit and 4 digits, or 5 digits then ``D``/``F``).  Anything else is
starred completely, keeping only its length.
"""

from __future__ import annotations

import re

from masking._base import TextCore, keep_ends, stars
from masking.strategy import Strategy, keep_param

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_SERIAL = "A-HJ-NP-Z0-9"
_SHAPE = re.compile(
    f"[{_PROVINCES}][A-HJ-Z]"
    f"(?:[{_SERIAL}]{{4}}[{_SERIAL}挂学警港澳领试超]"  # ordinary
    r"|[DF][" + _SERIAL + r"]\d{4}"  # new energy, small vehicle
    r"|\d{5}[DF])",  # new energy, large vehicle
    re.ASCII,
)
_SEPARATORS = re.compile(r"[\s·•\-.]")
_KEPT_PREFIX = 2  # province character + authority letter


def build(tail: int = 2) -> TextCore:
    """Mask plates as province + authority letter + stars + ``tail`` characters."""
    shape = _SHAPE.fullmatch

    def mask_license_plate(text: str) -> str:
        if shape(text) is None:
            plate = _SEPARATORS.sub("", text).upper()
            if shape(plate) is None:
                return stars(len(text))
            text = plate
        return keep_ends(text, _KEPT_PREFIX, tail)

    return mask_license_plate


STRATEGY = Strategy(
    name="licensePlate",
    description="Keeps the province character, the authority letter and the last 2 characters "
    "of a vehicle licence plate and stars the rest, e.g. 京AD12345 -> 京A****45.",
    build=build,
    params=(keep_param("tail", 2, "characters kept at the end"),),
)
