"""The exceptions of the masking package, in one place.

::

    ValueError
    ├── InvalidMaskRule        a rule spec that cannot be used (raised when parsing or compiling)
    │   ├── UnknownMaskRule    ...because no rule has that name (also a KeyError)
    │   └── MaskKeyRequired    ...because a keyed rule was compiled without scope or keys
    └── UnmaskError            a reversible token that cannot be decrypted for this scope and key

Applying a compiled rule never raises: odd values are masked more, not less.
"""

from __future__ import annotations


class InvalidMaskRule(ValueError):
    """A mask rule spec is malformed, names an unknown rule or parameter, or has a bad value.

    The message is one line that says what is wrong and what is accepted instead.
    """


class UnknownMaskRule(InvalidMaskRule, KeyError):
    """No mask rule has this name.

    It is also a ``KeyError`` so that code treating the registry as a mapping
    can catch it as such.  It is raised even for ``None`` values, so that a typo
    in a policy is found on the first request, not on the first non-null one.
    """

    def __init__(self, rule: str, known: list[str] | None = None) -> None:
        super().__init__(rule)
        self.rule = rule
        self._known = known

    @property
    def known(self) -> list[str]:
        """The names of all rules, sorted."""
        if self._known is None:
            from masking.registry import rule_names  # the registry imports this module

            return rule_names()
        return self._known

    def __str__(self) -> str:
        return f"unknown mask rule {self.rule!r}; known rules: {', '.join(self.known)}"


class MaskKeyRequired(InvalidMaskRule):
    """A keyed rule (``pseudonym``, ``reversible``) was compiled without a scope or a key ring.

    Keyed output depends on who consumes it and on the gateway's secret key, so
    there is no meaningful default: compile it with a :class:`~masking.MaskScope`
    and a :class:`~masking.KeyRing`.
    """


class UnmaskError(ValueError):
    """A ``reversible`` token cannot be decrypted.

    The message is deliberately generic: it never says whether the token was
    malformed, tampered with, issued for another scope or under another key,
    and never contains the value or key material.
    """
