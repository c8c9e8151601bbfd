"""Rule specs: ``name`` or ``name(key=value, ...)``, parsed and validated once.

Grammar (whitespace is allowed around every token)::

    spec  = name [ "(" [ param { "," param } ] ")" ]
    name  = letter { letter | digit }                 e.g. mobile, yearMonth
    param = name "=" value
    value = integer | decimal | word                  e.g. 3, 0.01, sm4-gcm
            integer = [+|-] digit { digit }
            decimal = [+|-] digit { digit } "." digit { digit }
            word    = { letter | digit | "_" | "-" }

A :class:`RuleSpec` has every parameter of its strategy, defaults filled in,
in declared order.  Its ``str`` is the canonical spelling: the bare name when
every parameter has its default, otherwise only the non-default parameters,
without spaces (``mobile(head=4)``); parsing it gives the same spec again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from masking.errors import InvalidMaskRule
from masking.registry import RULES, strategy_named
from masking.strategy import format_value

_NAME = r"[A-Za-z][A-Za-z0-9]*"
_VALUE = r"[+-]?\d+(?:\.\d+)?|[A-Za-z0-9_-]+"
_SPEC = re.compile(rf"\s*({_NAME})\s*(?:\(([^()]*)\)\s*)?", re.ASCII)
_PARAM = re.compile(rf"\s*({_NAME})\s*=\s*({_VALUE})\s*", re.ASCII)
_SYNTAX = "name or name(key=value, ...)"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A validated mask rule: the strategy's ``name`` and all its ``params`` as ``(name, value)`` pairs."""

    name: str
    params: tuple[tuple[str, object], ...] = ()

    def __str__(self) -> str:
        strategy = RULES.get(self.name)
        defaults = strategy.defaults if strategy is not None else {}
        changed = [
            f"{key}={format_value(value)}"
            for key, value in self.params
            if key not in defaults or defaults[key] != value
        ]
        return f"{self.name}({','.join(changed)})" if changed else self.name

    def arguments(self) -> dict[str, object]:
        """The parameters as keyword arguments of the strategy's builder."""
        return dict(self.params)


def parse_rule(spec: str) -> RuleSpec:
    """Parse and validate a rule spec such as ``mobile`` or ``grid(step=0.1)``.

    Raises:
        UnknownMaskRule: if no rule has that name (also a ``KeyError``).
        InvalidMaskRule: if the spec is malformed, names a parameter the rule
            does not have, or gives a value of the wrong type or out of range.
    """
    if not isinstance(spec, str):
        raise InvalidMaskRule(f"a mask rule must be a string such as mobile or mobile(head=3), not {type(spec).__name__}")
    return _parse(spec)


@lru_cache(maxsize=1024)
def _parse(spec: str) -> RuleSpec:
    found = _SPEC.fullmatch(spec)
    if found is None:
        raise InvalidMaskRule(f"malformed mask rule {spec!r}: expected {_SYNTAX}")
    name, arguments = found.groups()
    strategy = strategy_named(name)
    given: dict[str, str] = {}
    if arguments is not None and arguments.strip():
        for argument in arguments.split(","):
            pair = _PARAM.fullmatch(argument)
            if pair is None:
                raise InvalidMaskRule(
                    f"malformed parameter {argument.strip()!r} in mask rule {spec!r}: expected key=value, "
                    "the value an integer, a decimal or a word"
                )
            key, value = pair.groups()
            if key in given:
                raise InvalidMaskRule(f"parameter {key!r} given twice in mask rule {spec!r}")
            given[key] = value
    declared = {param.name: param for param in strategy.params}
    for key in given:
        if key not in declared:
            accepted = f"accepted: {', '.join(declared)}" if declared else "it takes no parameters"
            raise InvalidMaskRule(f"mask rule {name!r} has no parameter {key!r}; {accepted}")
    params: list[tuple[str, object]] = []
    for param in strategy.params:
        if param.name not in given:
            params.append((param.name, param.default))
            continue
        try:
            params.append((param.name, param.convert(given[param.name])))
        except ValueError:
            raise InvalidMaskRule(
                f"parameter {param.name!r} of mask rule {name!r} must be {param.expectation()}, "
                f"not {given[param.name]!r}"
            ) from None
    return RuleSpec(name, tuple(params))
