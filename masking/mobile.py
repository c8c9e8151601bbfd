"""``mobile``: mainland China mobile phone number.

Keeps the first 3 digits (carrier prefix) and the last 4 and stars the middle
4, the usual display form on Chinese government and banking sites::

    13812345678       -> 138****5678
    +86 138 1234 5678 -> 138****5678

Spaces, hyphens and parentheses are dropped and a ``+86`` / ``0086`` / ``86``
country prefix is removed first, so the output is always the canonical
11-character form.  Anything that does not then look like an 11-digit number
starting with ``1`` (e.g. a foreign number) is starred completely, keeping
only its length: we cannot know which parts of an unknown layout identify the
subscriber.
"""

from __future__ import annotations

import re

from masking._base import MaskRule, keep_ends, stars, text_rule

_SEPARATORS = re.compile(r"[\s\-()]")
_COUNTRY_PREFIX = re.compile(r"(?:\+86|0086|86)(?=1\d{10}$)")
_SHAPE = re.compile(r"1\d{10}")


def mask_mobile(text: str) -> str:
    """Mask a mobile number as ``138****5678``, starring odd shapes fully."""
    digits = _COUNTRY_PREFIX.sub("", _SEPARATORS.sub("", text), count=1)
    if _SHAPE.fullmatch(digits):
        return keep_ends(digits, 3, 4)
    return stars(len(text))


RULE: MaskRule = text_rule(
    "mobile",
    "Keeps the first 3 and last 4 digits of a mobile number (after dropping a "
    "+86 prefix) and stars the middle, e.g. 13812345678 -> 138****5678.",
    mask_mobile,
)
