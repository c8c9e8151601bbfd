"""``bankCard``: bank card number (PAN, ISO/IEC 7812).

Keeps the first 6 digits (the issuer identification number, i.e. the bank
and card type) and the last 4 (what card holders use to recognise their own
card) and stars the rest; the length is preserved::

    6222021234567890123 -> 622202*********0123

Spaces and hyphens are removed first (``6222 0212 3456 7890 123`` masks the
same).  Anything that is not then 13 to 19 digits is starred completely,
keeping only its length.
"""

from __future__ import annotations

import re

from masking._base import MaskRule, keep_ends, stars, text_rule

_SEPARATORS = re.compile(r"[\s\-]")
_SHAPE = re.compile(r"\d{13,19}")


def mask_bank_card(text: str) -> str:
    """Mask a card number as ``622202*********0123``, starring odd shapes."""
    digits = _SEPARATORS.sub("", text)
    if _SHAPE.fullmatch(digits):
        return keep_ends(digits, 6, 4)
    return stars(len(text))


RULE: MaskRule = text_rule(
    "bankCard",
    "Keeps the first 6 and last 4 digits of a bank card number and stars the rest, "
    "e.g. 6222021234567890123 -> 622202*********0123.",
    mask_bank_card,
)
