"""Registry of masking strategies, looked up by the names used in policies.

Policies refer to rules by name (``mobile``, ``mobile(head=4)``), so the
registry is the single place where a name is bound to a strategy.  It is
read-only: rules are part of the gateway's contract with data owners and must
not be swapped at runtime.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from masking import (
    address,
    age_band,
    amount_range,
    bank_card,
    credit_code,
    division_code,
    email_address,
    fixed_phone,
    grid,
    id_number,
    license_number,
    license_plate,
    mobile,
    partial,
    person_name,
    pseudonym,
    redact,
    reversible,
    suppress,
    year,
    year_month,
)
from masking.errors import UnknownMaskRule
from masking.strategy import Strategy


def _index(strategies: Iterable[Strategy]) -> Mapping[str, Strategy]:
    """Index strategies by name, refusing duplicates so no rule silently shadows another."""
    index: dict[str, Strategy] = {}
    for strategy in strategies:
        if strategy.name in index:
            raise ValueError(f"duplicate mask rule name {strategy.name!r}")
        index[strategy.name] = strategy
    return MappingProxyType(index)


RULES: Mapping[str, Strategy] = _index(
    module.STRATEGY
    for module in (
        # partial masks
        id_number,
        mobile,
        person_name,
        fixed_phone,
        bank_card,
        email_address,
        credit_code,
        license_number,
        license_plate,
        partial,
        # generalisation
        address,
        division_code,
        amount_range,
        year,
        year_month,
        age_band,
        grid,
        # suppression
        suppress,
        redact,
        # keyed
        pseudonym,
        reversible,
    )
)
"""Read-only mapping of rule name to strategy."""


def rule_names() -> list[str]:
    """Return the names of all rules, sorted, e.g. for docs and validation."""
    return sorted(RULES)


def strategy_named(name: str) -> Strategy:
    """Return the strategy called ``name``.

    Raises:
        UnknownMaskRule: if there is none.
    """
    try:
        return RULES[name]
    except KeyError:
        raise UnknownMaskRule(name, rule_names()) from None
