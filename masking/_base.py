"""Shared building blocks for the masking rules.

Every rule is a tiny pure function wrapped in a :class:`MaskRule`.  The
wrapper, not the individual strategies, owns the cross-cutting guarantees:

* ``None`` passes through untouched (absence of data is not sensitive);
* a value of an unexpected type never leaks: it becomes :data:`REDACTED`;
* a rule never raises.  A bug inside a strategy must not turn into either a
  crashed query or an unmasked value, so any exception is converted into
  :data:`REDACTED` ("fail closed").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

REDACTED = "***"
"""Fixed marker used whenever a value cannot be masked by its normal shape."""

STAR = "*"


@dataclass(frozen=True, slots=True)
class MaskRule:
    """A named, documented, one-way desensitization strategy.

    ``description`` is a single English sentence with an example; it is shown
    to data consumers in the docs and the field catalog, so it must describe
    the output shape precisely.
    """

    name: str
    description: str
    strategy: Callable[[object], object] = field(repr=False, compare=False)

    def __call__(self, value: object) -> object:
        """Mask ``value``; ``None`` stays ``None`` and errors fail closed."""
        if value is None:
            return None
        try:
            return self.strategy(value)
        # Deliberately broad: whatever goes wrong inside a strategy, the value
        # must neither leak unmasked nor crash the whole query (fail closed).
        except Exception:  # noqa: BLE001
            return REDACTED


def stars(count: int) -> str:
    """Return ``count`` stars (``''`` for non-positive counts)."""
    return STAR * max(count, 0)


def keep_ends(text: str, head: int, tail: int) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters, star the rest.

    The length is preserved.  When the text is too short for at least one
    character to be hidden, every character is starred instead: showing the
    "kept" parts of a short value would reveal all of it.
    """
    if len(text) <= head + tail:
        return stars(len(text))
    return text[:head] + stars(len(text) - head - tail) + text[len(text) - tail :]


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


def text_rule(name: str, description: str, strategy: Callable[[str], str]) -> MaskRule:
    """Build a rule whose strategy works on text.

    Non-text input becomes :data:`REDACTED` so that a schema mismatch (e.g. a
    list where a string was expected) can never bypass masking.
    """

    def apply(value: object) -> object:
        text = as_text(value)
        if text is None:
            return REDACTED
        return strategy(text)

    return MaskRule(name=name, description=description, strategy=apply)
