"""``licenseNumber``: generic certificate or licence number.

For identifiers whose internal layout we do not know (business licences,
practising certificates, permits ...) only the first 2 and last 2 characters
are kept, enough to tell two numbers apart on screen, and the middle is
starred with the length preserved::

    A12345678                  -> A1*****78
    京交运管许可字110105001234号 -> 京交****************4号

Values of 4 characters or fewer are starred completely, since keeping 2 + 2
would reveal all of them.  Surrounding whitespace is ignored.
"""

from __future__ import annotations

from masking._base import MaskRule, keep_ends, text_rule


def mask_license_number(text: str) -> str:
    """Mask a certificate number as first 2 + stars + last 2."""
    return keep_ends(text.strip() or text, 2, 2)


RULE: MaskRule = text_rule(
    "licenseNumber",
    "Keeps the first 2 and last 2 characters of a certificate number and stars "
    "the middle, e.g. A12345678 -> A1*****78.",
    mask_license_number,
)
