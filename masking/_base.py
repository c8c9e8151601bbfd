"""Shared building blocks for the masking strategies.

A strategy's builder returns a *core*: a plain function from a value (or, for
text strategies, from a ``str``) to the masked value.  The core may raise or
see odd input; :func:`masking.compiler.compile_rule` wraps it once so that the
cross-cutting guarantees hold for every rule:

* ``None`` passes through untouched (absence of data is not sensitive);
* a value of an unexpected type never leaks: it becomes :data:`REDACTED`;
* a masker never raises.  A bug inside a strategy must not turn into either a
  crashed query or an unmasked value, so any exception is converted into
  :data:`REDACTED` ("fail closed").
"""

from __future__ import annotations

from collections.abc import Callable

Masker = Callable[[object], object]
"""A compiled rule: value in, masked value out; never raises."""

TextCore = Callable[[str], object]
"""The core of a text strategy: sees only ``str`` (integers are converted first)."""

REDACTED = "***"
"""Fixed marker used whenever a value cannot be masked by its normal shape."""

STAR = "*"

MAX_KEEP = 8
"""Upper bound of every ``head``/``tail`` parameter: at most 8 characters kept at each end."""


def stars(count: int) -> str:
    """Return ``count`` stars (``''`` for non-positive counts)."""
    return STAR * max(count, 0)


def keep_ends(text: str, head: int, tail: int) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters, star the rest.

    The length is preserved.  When the text is too short for at least one
    character to be hidden, every character is starred instead: showing the
    "kept" parts of a short value would reveal all of it.
    """
    length = len(text)
    if length <= head + tail:
        return STAR * length
    return text[:head] + STAR * (length - head - tail) + text[length - tail :]


def keep_ends_fixed(length: int, head: int, tail: int) -> Callable[[str], str]:
    """Return :func:`keep_ends` specialised for texts of exactly ``length`` characters.

    The stars and slice bounds are computed once, which is what makes the
    fixed-shape rules (mobile numbers, ID numbers ...) cheap on the hot path.
    """
    if length <= head + tail:
        hidden = STAR * length
        return lambda text: hidden
    middle = STAR * (length - head - tail)
    end = length - tail
    return lambda text: text[:head] + middle + text[end:]


def as_text(value: object) -> str | None:
    """Return ``value`` as text if it is a string or a plain integer.

    Integers are accepted because identifiers such as phone or card numbers
    are often stored numerically.  ``bool`` is an ``int`` subclass but never a
    meaningful identifier, so it is rejected like every other type.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
