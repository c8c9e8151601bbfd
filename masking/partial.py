"""``partial``: keep both ends of any text, star the middle.

The generic partial mask for identifiers that have no dedicated rule.  By
default the first and the last character are kept; every character in
between becomes one star, so the length is preserved::

    ABC12345 -> A******5
    张三丰   -> 张*丰

``head`` and ``tail`` (0..8 each) change how many characters are kept.  The
text is taken exactly as stored (no trimming), so the output is the input with
exactly the positions ``head .. len - tail - 1`` starred.  A value no longer
than ``head + tail`` is starred completely: keeping its ends would reveal all
of it.
"""

from __future__ import annotations

from masking._base import TextCore, keep_ends
from masking.strategy import Strategy, head_tail


def build(head: int = 1, tail: int = 1) -> TextCore:
    """Mask any text as ``head`` characters + stars + ``tail`` characters."""

    def mask_partial(text: str) -> str:
        return keep_ends(text, head, tail)

    return mask_partial


STRATEGY = Strategy(
    name="partial",
    description="Keeps the first and last character of any text and stars every character "
    "in between, e.g. ABC12345 -> A******5.",
    build=build,
    params=head_tail(1, 1),
)
