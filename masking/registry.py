"""Registry of masking rules, looked up by the names used in policies.

Policies refer to rules by name (``@mask(rule: "mobile")``), so the registry
is the single place where a name is bound to a strategy.  It is read-only:
rules are part of the gateway's contract with data owners and must not be
swapped at runtime.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from masking import (
    address,
    amount_range,
    bank_card,
    credit_code,
    email_address,
    fixed_phone,
    id_number,
    license_number,
    mobile,
    person_name,
    redact,
    suppress,
    year,
    year_month,
)
from masking._base import MaskRule


class UnknownMaskRule(KeyError):
    """Raised when a policy names a masking rule that does not exist.

    It is a ``KeyError`` so callers treating the registry as a mapping can
    catch it as such; it is raised even for ``None`` values so that a typo in
    a policy is found on the first request, not on the first non-null one.
    """

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule

    def __str__(self) -> str:
        return (
            f"unknown mask rule {self.rule!r}; known rules: {', '.join(rule_names())}"
        )


def _index(rules: Iterable[MaskRule]) -> Mapping[str, MaskRule]:
    """Index rules by name, refusing duplicates so no rule silently shadows another."""
    index: dict[str, MaskRule] = {}
    for rule in rules:
        if rule.name in index:
            raise ValueError(f"duplicate mask rule name {rule.name!r}")
        index[rule.name] = rule
    return MappingProxyType(index)


RULES: Mapping[str, MaskRule] = _index(
    module.RULE
    for module in (
        id_number,
        mobile,
        person_name,
        fixed_phone,
        address,
        bank_card,
        email_address,
        credit_code,
        amount_range,
        year,
        year_month,
        license_number,
        suppress,
        redact,
    )
)
"""Read-only mapping of rule name to rule."""


def rule_names() -> list[str]:
    """Return the names of all rules, sorted, e.g. for docs and validation."""
    return sorted(RULES)


def mask(rule: str, value: object) -> object:
    """Apply the rule called ``rule`` to ``value``.

    ``None`` stays ``None``.  Never raises for a known rule: values of an
    unexpected shape are masked more, not less (see each rule's module).

    Raises:
        UnknownMaskRule: if no rule is called ``rule``.
    """
    try:
        strategy = RULES[rule]
    except KeyError:
        raise UnknownMaskRule(rule) from None
    return strategy(value)
