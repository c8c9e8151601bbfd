"""Desensitization (脱敏) strategies for the data-sharing gateway.

Each strategy lives in its own small module and is registered under the name
policies use to refer to it (:data:`RULES`).  A rule is written as a spec,
``name`` or ``name(key=value, ...)``; :func:`parse_rule` validates it and
:func:`compile_rule` turns it into a fast masker that never raises: ``None``
passes through, and a value of an unexpected shape is masked more rather than
less (fail closed).  Keyed rules (``pseudonym``, ``reversible``) also need
the consumer's :class:`MaskScope` and the gateway's :class:`KeyRing`.

Exceptions (all ``ValueError``)::

    InvalidMaskRule          bad spec (parse or compile time)
    ├── UnknownMaskRule      unknown rule name (also a KeyError)
    └── MaskKeyRequired      keyed rule without scope or keys
    UnmaskError              reversible token that cannot be decrypted here
"""

from __future__ import annotations

from masking._base import REDACTED, Masker
from masking.compiler import compile_rule, is_keyed, mask
from masking.errors import InvalidMaskRule, MaskKeyRequired, UnknownMaskRule, UnmaskError
from masking.keys import KeyRing, MaskScope
from masking.registry import RULES, rule_names
from masking.reversible import unmask
from masking.spec import RuleSpec, parse_rule
from masking.strategy import Param, Strategy

__all__ = [
    "REDACTED",
    "RULES",
    "InvalidMaskRule",
    "KeyRing",
    "MaskKeyRequired",
    "MaskScope",
    "Masker",
    "Param",
    "RuleSpec",
    "Strategy",
    "UnknownMaskRule",
    "UnmaskError",
    "compile_rule",
    "is_keyed",
    "mask",
    "parse_rule",
    "rule_names",
    "unmask",
]
