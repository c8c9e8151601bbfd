"""Turning a rule spec into a masker: :func:`compile_rule`, and the conveniences around it.

Compiling parses the spec, checks it, and asks the strategy to build its core
once; the returned masker then does the least work per value.  The wrapper
added here is what makes every rule safe to apply to anything:

* ``None`` gives ``None``;
* for text strategies, a ``str`` goes straight to the core, an ``int`` as its
  decimal text, anything else (``bool``, ``float``, ``bytes``, lists ...)
  gives ``***``;
* any exception inside a core gives ``***`` (fail closed): a bug must
  neither crash a query nor let a value out unmasked.

Un-keyed maskers are pure and cached by canonical spec.  Keyed ones depend
on the scope and key ring, so they are built for each call of
:func:`compile_rule`; callers that mask many values compile once and reuse.
"""

from __future__ import annotations

from functools import lru_cache

from masking._base import REDACTED, Masker, TextCore
from masking.errors import MaskKeyRequired
from masking.keys import KeyRing, MaskScope
from masking.registry import RULES
from masking.spec import RuleSpec, parse_rule
from masking.strategy import Strategy


def _spec(spec: str | RuleSpec) -> RuleSpec:
    if isinstance(spec, RuleSpec):
        return parse_rule(str(spec))  # validates a spec built by hand, fills in defaults
    return parse_rule(spec)


def is_keyed(spec: str | RuleSpec) -> bool:
    """Whether the rule needs a scope and a key ring (``pseudonym``, ``reversible``).

    Raises:
        InvalidMaskRule: if ``spec`` is not a valid rule.
    """
    return RULES[_spec(spec).name].keyed


def compile_rule(spec: str | RuleSpec, scope: MaskScope | None = None, keys: KeyRing | None = None) -> Masker:
    """Return a function that masks one value by ``spec``; it never raises.

    ``scope`` and ``keys`` are needed by keyed rules and ignored by the others.

    Raises:
        InvalidMaskRule: if ``spec`` is not a valid rule (``UnknownMaskRule``
            if the name is unknown).
        MaskKeyRequired: if the rule is keyed and ``scope`` or ``keys`` is missing.
    """
    rule = _spec(spec)
    strategy = RULES[rule.name]
    if not strategy.keyed:
        return _compile_pure(rule)
    if not isinstance(scope, MaskScope) or not isinstance(keys, KeyRing):
        raise MaskKeyRequired(
            f"mask rule {rule.name!r} is keyed: compile it with a MaskScope (consuming application and "
            "coordinate) and the gateway's KeyRing"
        )
    return _guard(strategy, strategy.build(**rule.arguments(), scope=scope, keys=keys))


@lru_cache(maxsize=512)
def _compile_pure(rule: RuleSpec) -> Masker:
    strategy = RULES[rule.name]
    return _guard(strategy, strategy.build(**rule.arguments()))


def mask(spec: str | RuleSpec, value: object, scope: MaskScope | None = None, keys: KeyRing | None = None) -> object:
    """Mask ``value`` by ``spec``: ``mask("mobile", "13812345678") == "138****5678"``.

    ``None`` stays ``None``.  Never raises for a valid rule: values of an
    unexpected shape are masked more, not less (see each rule's module).

    Raises:
        InvalidMaskRule: as :func:`compile_rule`, even for ``None`` values.
        MaskKeyRequired: as :func:`compile_rule`.
    """
    return compile_rule(spec, scope, keys)(value)


def _guard(strategy: Strategy, core: TextCore | Masker) -> Masker:
    """Wrap a strategy's core with the guarantees every masker gives (module docstring)."""
    if not strategy.takes_text:
        any_core: Masker = core  # type: ignore[assignment]

        def masker(value: object) -> object:
            if value is None:
                return None
            try:
                return any_core(value)
            # Deliberately broad: whatever goes wrong inside a strategy, the value
            # must neither leak unmasked nor crash the whole query (fail closed).
            except Exception:  # noqa: BLE001
                return REDACTED

        return masker

    text_core: TextCore = core

    def text_masker(value: object) -> object:
        if value.__class__ is str:  # the hot path: one identity test
            try:
                return text_core(value)
            except Exception:  # noqa: BLE001 - fail closed, as above
                return REDACTED
        if value is None:
            return None
        if isinstance(value, str):
            text = str.__str__(value)  # a str subclass, as a plain str
        elif isinstance(value, int) and not isinstance(value, bool):
            text = int.__repr__(value)  # not a subclass's own __str__
        else:
            return REDACTED
        try:
            return text_core(text)
        except Exception:  # noqa: BLE001 - fail closed, as above
            return REDACTED

    return text_masker
