"""``name``: a person's name.

Keeps only the surname and replaces every other character by one star, so the
number of characters of the given name is still visible (it is needed to tell
records apart on screen, and is common practice in Chinese public notices)::

    张三     -> 张*
    张三丰   -> 张**
    欧阳修   -> 欧阳*      (compound surname, see compound_surnames.py)
    欧阳娜娜 -> 欧阳**
    John Smith -> J*** *****

A compound surname is only recognised when at least one character follows it:
``欧阳`` alone may just as well be surname 欧 plus given name 阳, and keeping one
character is the safer reading.  Names that do not start with a Han character
keep their first character; spaces are kept so the word structure of
romanised names stays readable, every other character is starred.  A
single-character value becomes ``*``.  The rule takes no parameters: what a
surname is does not depend on configuration.
"""

from __future__ import annotations

from masking._base import STAR, TextCore, stars
from masking.compound_surnames import COMPOUND_SURNAMES
from masking.strategy import Strategy

_COMPOUND = 2


def _surname_length(name: str) -> int:
    """Return how many leading characters of ``name`` form the surname."""
    if len(name) > _COMPOUND and name[:_COMPOUND] in COMPOUND_SURNAMES:
        return _COMPOUND
    return 1


def mask_name(text: str) -> str:
    """Mask a person's name, keeping the surname (or first character)."""
    name = text.strip()
    if not name:
        return stars(len(text))
    if len(name) == 1:
        return STAR
    keep = _surname_length(name)
    rest = "".join(" " if char == " " else STAR for char in name[keep:])
    return name[:keep] + rest


def build() -> TextCore:
    return mask_name


STRATEGY = Strategy(
    name="name",
    description="Keeps the surname (including compound surnames such as 欧阳) and "
    "replaces each remaining character with a star, e.g. 张三丰 -> 张**.",
    build=build,
)
