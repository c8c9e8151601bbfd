"""``idNumber``: resident identity card number (GB 11643-1999).

Keeps the first 6 characters (the administrative division code of the place
of registration) and the last 4 (sequence code and check digit) and stars the
rest, i.e. the date of birth, which is the most identifying part::

    110101199003071233 -> 110101********1233   (18-digit number)
    110101900307123    -> 110101*****7123      (old 15-digit number)

The length is preserved.  Surrounding and embedded whitespace is removed
first and a lowercase check character ``x`` is normalised to ``X``.  Any text
that is not 18 characters (17 digits plus digit/X) or 15 digits is starred
completely, keeping only its length, because a partial number of unknown
layout could expose the birth date.
"""

from __future__ import annotations

import re

from masking._base import MaskRule, keep_ends, stars, text_rule

_SHAPE = re.compile(r"\d{17}[\dX]|\d{15}")


def mask_id_number(text: str) -> str:
    """Mask an ID number, starring everything when its shape is unexpected."""
    compact = "".join(text.split()).upper()
    if _SHAPE.fullmatch(compact):
        return keep_ends(compact, 6, 4)
    return stars(len(text))


RULE: MaskRule = text_rule(
    "idNumber",
    "Keeps the first 6 and last 4 characters of a resident ID number and stars "
    "the rest, e.g. 110101199003071233 -> 110101********1233.",
    mask_id_number,
)
