"""``bankCard``: bank card number (PAN, ISO/IEC 7812).

By default keeps the first 6 digits (the issuer identification number, i.e.
the bank and card type) and the last 4 (what card holders use to recognise
their own card) and stars the rest; the length is preserved::

    6222021234567890123 -> 622202*********0123

``head`` and ``tail`` (0..8 each) change how many digits are kept.  Spaces
and hyphens are removed first (``6222 0212 3456 7890 123`` masks the same).
Anything that is not then 13 to 19 digits is starred completely, keeping only
its length.
"""

from __future__ import annotations

import re

from masking._base import TextCore, keep_ends, stars
from masking.strategy import Strategy, head_tail

_SEPARATORS = re.compile(r"[\s\-]")
_SHAPE = re.compile(r"\d{13,19}")


def build(head: int = 6, tail: int = 4) -> TextCore:
    """Mask card numbers, keeping ``head`` leading and ``tail`` trailing digits."""
    shape = _SHAPE.fullmatch

    def mask_bank_card(text: str) -> str:
        if shape(text) is None:
            digits = _SEPARATORS.sub("", text)
            if shape(digits) is None:
                return stars(len(text))
            text = digits
        return keep_ends(text, head, tail)

    return mask_bank_card


STRATEGY = Strategy(
    name="bankCard",
    description="Keeps the first 6 and last 4 digits of a bank card number and stars the rest, "
    "e.g. 6222021234567890123 -> 622202*********0123.",
    build=build,
    params=head_tail(6, 4, "digits"),
)
