"""``mobile``: mainland China mobile phone number.

By default keeps the first 3 digits (carrier prefix) and the last 4 and stars
the middle 4, the usual display form on Chinese government and banking sites::

    13812345678       -> 138****5678
    +86 138 1234 5678 -> 138****5678

``head`` and ``tail`` (0..8 each) change how many digits are kept.  Spaces,
hyphens and parentheses are dropped and a ``+86`` / ``0086`` / ``86`` country
prefix is removed first, so the output is always the canonical 11-character
form.  Anything that does not then look like an 11-digit number starting with
``1`` (e.g. a foreign number) is starred completely, keeping only its length:
we cannot know which parts of an unknown layout identify the subscriber.
"""

from __future__ import annotations

import re

from masking._base import TextCore, keep_ends_fixed, stars
from masking.strategy import Strategy, head_tail

_SEPARATORS = re.compile(r"[\s\-()]")
_COUNTRY_PREFIX = re.compile(r"(?:\+86|0086|86)(?=1\d{10}$)")
_SHAPE = re.compile(r"1\d{10}")


def build(head: int = 3, tail: int = 4) -> TextCore:
    """Mask mobile numbers, keeping ``head`` leading and ``tail`` trailing digits."""
    keep = keep_ends_fixed(11, head, tail)
    shape = _SHAPE.fullmatch

    def mask_mobile(text: str) -> str:
        if shape(text) is None:  # rare: separators or a country prefix
            digits = _COUNTRY_PREFIX.sub("", _SEPARATORS.sub("", text), count=1)
            if shape(digits) is None:
                return stars(len(text))
            text = digits
        return keep(text)

    return mask_mobile


STRATEGY = Strategy(
    name="mobile",
    description="Keeps the first 3 and last 4 digits of a mobile number (after dropping a "
    "+86 prefix) and stars the middle, e.g. 13812345678 -> 138****5678.",
    build=build,
    params=head_tail(3, 4, "digits"),
)
