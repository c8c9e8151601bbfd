"""``creditCode``: unified social credit code (GB 32100-2015).

The 18-character code is laid out as registration authority (1) +
organisation type (1) + administrative division (6) + organisation code (9)
+ check character (1).  The first 8 characters only say who registered the
organisation and where, so they are kept together with the last 2; the
organisation code in between is starred::

    91110105MA01ABCD2X -> 91110105********2X

Whitespace is removed and letters upper-cased first.  Anything that is not
then 18 letters/digits is starred completely, keeping only its length.
"""

from __future__ import annotations

import re

from masking._base import MaskRule, keep_ends, stars, text_rule

_SHAPE = re.compile(r"[0-9A-Z]{18}")


def mask_credit_code(text: str) -> str:
    """Mask a credit code as first 8 + 8 stars + last 2."""
    code = "".join(text.split()).upper()
    if _SHAPE.fullmatch(code):
        return keep_ends(code, 8, 2)
    return stars(len(text))


RULE: MaskRule = text_rule(
    "creditCode",
    "Keeps the first 8 (registration authority and division) and last 2 "
    "characters of a unified social credit code and stars the rest, "
    "e.g. 91110105MA01ABCD2X -> 91110105********2X.",
    mask_credit_code,
)
