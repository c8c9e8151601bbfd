"""``redact``: replace the whole value by a fixed marker.

Any non-null value, whatever its type or length, becomes the string ``***``.
Meant for free text (remarks, case descriptions ...) that may contain
personal data anywhere and therefore must not leave the gateway, while still
telling the consumer that *a* value exists::

    患者自述头痛三天 -> ***
"""

from __future__ import annotations

from masking._base import REDACTED, Masker
from masking.strategy import Strategy


def redact_value(value: object) -> str:
    """Replace ``value`` by the fixed marker ``***``."""
    del value
    return REDACTED


def build() -> Masker:
    return redact_value


STRATEGY = Strategy(
    name="redact",
    description="Replaces any value with the fixed string ***, e.g. 患者自述头痛三天 -> ***.",
    build=build,
    takes_text=False,
)
