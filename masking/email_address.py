"""``email``: e-mail address.

Keeps the first character of the local part, replaces the rest of the local
part by a fixed ``****`` (so its length does not leak) and keeps the domain,
which usually only names an organisation or a mail provider::

    zhangsan@example.com -> z****@example.com

The split is made at the last ``@``.  Surrounding whitespace is ignored.  A
value without a non-empty local part and a non-empty, whitespace-free domain
is not an address we understand and becomes the fixed ``***``.  The rule takes
no parameters: the local part's length is hidden, so keeping more of it would
only ever reveal more.
"""

from __future__ import annotations

from masking._base import REDACTED, TextCore
from masking.strategy import Strategy

LOCAL_STARS = "****"


def mask_email(text: str) -> str:
    """Mask an e-mail address as ``z****@example.com``."""
    local, at, domain = text.strip().rpartition("@")
    if not at or not local or not domain or any(char.isspace() for char in domain):
        return REDACTED
    return f"{local[0]}{LOCAL_STARS}@{domain}"


def build() -> TextCore:
    return mask_email


STRATEGY = Strategy(
    name="email",
    description="Keeps the first character of an e-mail address's local part and its domain, "
    "replacing the rest of the local part with a fixed ****, "
    "e.g. zhangsan@example.com -> z****@example.com.",
    build=build,
)
