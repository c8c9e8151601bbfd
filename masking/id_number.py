"""``idNumber``: resident identity card number (GB 11643-1999).

By default keeps the first 6 characters (the administrative division code of
the place of registration) and the last 4 (sequence code and check digit) and
stars the rest, i.e. the date of birth, which is the most identifying part::

    110101199003071233 -> 110101********1233   (18-digit number)
    110101900307123    -> 110101*****7123      (old 15-digit number)

``head`` and ``tail`` (0..8 each) change how many characters are kept.  The
length is preserved.  Surrounding and embedded whitespace is removed first and
a lowercase check character ``x`` is normalised to ``X``.  Any text that is
not 18 characters (17 digits plus digit/X) or 15 digits is starred
completely, keeping only its length, because a partial number of unknown
layout could expose the birth date.
"""

from __future__ import annotations

import re

from masking._base import TextCore, keep_ends_fixed, stars
from masking.strategy import Strategy, head_tail

_SHAPE = re.compile(r"\d{17}[\dX]|\d{15}")


def build(head: int = 6, tail: int = 4) -> TextCore:
    """Mask ID numbers, keeping ``head`` leading and ``tail`` trailing characters."""
    keep_new, keep_old = keep_ends_fixed(18, head, tail), keep_ends_fixed(15, head, tail)
    shape = _SHAPE.fullmatch

    def mask_id_number(text: str) -> str:
        if shape(text) is None:  # rare: not already compact and upper-case
            compact = "".join(text.split()).upper()
            if shape(compact) is None:
                return stars(len(text))
            text = compact
        return keep_new(text) if len(text) == 18 else keep_old(text)

    return mask_id_number


STRATEGY = Strategy(
    name="idNumber",
    description="Keeps the first 6 and last 4 characters of a resident ID number and stars "
    "the rest, e.g. 110101199003071233 -> 110101********1233.",
    build=build,
    params=head_tail(6, 4),
)
