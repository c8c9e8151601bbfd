"""Desensitization (脱敏) strategies for the data-sharing gateway.

Each strategy lives in its own small module and is registered under the name
policies use to refer to it; see :data:`RULES` and :func:`mask`.  All rules
are one-way and produce output of a fixed shape, ``None`` passes through, and
a value of an unexpected shape is masked more rather than less (fail closed).
"""

from __future__ import annotations

from masking._base import MaskRule
from masking.registry import RULES, UnknownMaskRule, mask, rule_names

__all__ = ["RULES", "MaskRule", "UnknownMaskRule", "mask", "rule_names"]
