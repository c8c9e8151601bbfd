"""``licenseNumber``: generic certificate or licence number.

For identifiers whose internal layout we do not know (business licences,
practising certificates, permits ...) by default only the first 2 and last 2
characters are kept, enough to tell two numbers apart on screen, and the
middle is starred with the length preserved::

    A12345678                  -> A1*****78
    京交运管许可字110105001234号 -> 京交****************4号

``head`` and ``tail`` (0..8 each) change how many characters are kept.
Values no longer than ``head + tail`` are starred completely, since keeping
both ends would reveal all of them.  Surrounding whitespace is ignored.
"""

from __future__ import annotations

from masking._base import TextCore, keep_ends
from masking.strategy import Strategy, head_tail


def build(head: int = 2, tail: int = 2) -> TextCore:
    """Mask certificate numbers as ``head`` characters + stars + ``tail`` characters."""

    def mask_license_number(text: str) -> str:
        return keep_ends(text.strip() or text, head, tail)

    return mask_license_number


STRATEGY = Strategy(
    name="licenseNumber",
    description="Keeps the first 2 and last 2 characters of a certificate number and stars "
    "the middle, e.g. A12345678 -> A1*****78.",
    build=build,
    params=head_tail(2, 2),
)
