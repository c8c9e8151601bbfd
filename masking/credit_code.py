"""``creditCode``: unified social credit code (GB 32100-2015).

The 18-character code is laid out as registration authority (1) +
organisation type (1) + administrative division (6) + organisation code (9)
+ check character (1).  The first 8 characters only say who registered the
organisation and where, so by default they are kept together with the last
2; the organisation code in between is starred::

    91110105MA01ABCD2X -> 91110105********2X

``head`` and ``tail`` (0..8 each) change how many characters are kept.
Whitespace is removed and letters upper-cased first.  Anything that is not
then 18 letters/digits is starred completely, keeping only its length.
"""

from __future__ import annotations

import re

from masking._base import TextCore, keep_ends_fixed, stars
from masking.strategy import Strategy, head_tail

_SHAPE = re.compile(r"[0-9A-Z]{18}")


def build(head: int = 8, tail: int = 2) -> TextCore:
    """Mask credit codes, keeping ``head`` leading and ``tail`` trailing characters."""
    keep = keep_ends_fixed(18, head, tail)
    shape = _SHAPE.fullmatch

    def mask_credit_code(text: str) -> str:
        if shape(text) is None:
            code = "".join(text.split()).upper()
            if shape(code) is None:
                return stars(len(text))
            text = code
        return keep(text)

    return mask_credit_code


STRATEGY = Strategy(
    name="creditCode",
    description="Keeps the first 8 (registration authority and division) and last 2 characters "
    "of a unified social credit code and stars the rest, e.g. 91110105MA01ABCD2X -> 91110105********2X.",
    build=build,
    params=head_tail(8, 2),
)
