"""The seam every masking strategy plugs into: :class:`Strategy` and its :class:`Param`.

A strategy is data plus one builder.  The builder receives the rule's
parameters (already validated, defaults filled in) as keyword arguments, and
for keyed strategies also ``scope`` and ``keys``; it returns the strategy's
*core*, a function from one value to its masked form.  Everything that can be
computed once (regular expressions, star runs, derived keys, cipher objects)
is computed in the builder, so the core does the least work per value.

The core need not be defensive: :func:`masking.compile_rule` wraps it so that
``None`` passes, other types and any exception become ``***``.  A core of a
strategy with ``takes_text=True`` only ever sees ``str`` (integers are
converted to their decimal text, every other type is ``***`` already).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from masking._base import MAX_KEEP

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def format_value(value: object) -> str:
    """Spell a parameter value as it is written in a rule spec (``0.01``, ``8``, ``sm3``)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a strategy: ``type`` is ``int``, ``Decimal`` or ``str``.

    An ``int`` parameter accepts ``minimum..maximum``; a ``Decimal`` or ``str``
    parameter accepts exactly its ``choices``.  ``doc`` is a short English
    phrase for the docs table.
    """

    name: str
    type: type
    default: object
    doc: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[object, ...] = ()

    def allowed(self) -> str:
        """The accepted values in the docs' notation: ``0..8`` or ``sha256 | sm3``."""
        if self.choices:
            return " | ".join(format_value(choice) for choice in self.choices)
        return f"{self.minimum}..{self.maximum}"

    def expectation(self) -> str:
        """What a value must be, for error messages: ``an integer from 0 to 8``."""
        if self.choices:
            return "one of " + ", ".join(format_value(choice) for choice in self.choices)
        return f"an integer from {self.minimum} to {self.maximum}"

    def convert(self, raw: str) -> object:
        """Turn the spelling ``raw`` into the parameter's value.

        Raises:
            ValueError: with no message, when ``raw`` is not an accepted value
                (the caller words the error, naming the rule).
        """
        if self.type is int:
            if _INTEGER.fullmatch(raw) is None:
                raise ValueError
            number = int(raw)
            if self.minimum is not None and number < self.minimum:
                raise ValueError
            if self.maximum is not None and number > self.maximum:
                raise ValueError
            return number
        if self.type is Decimal:
            if _NUMBER.fullmatch(raw) is None:
                raise ValueError
            wanted = Decimal(raw)
            for choice in self.choices:
                if choice == wanted:
                    return choice  # the canonical spelling, whatever zeros were written
            raise ValueError
        if raw in self.choices:
            return raw
        raise ValueError


@dataclass(frozen=True, slots=True)
class Strategy:
    """A named, documented masking strategy.

    ``description`` is a single English sentence with an example
    (``..., e.g. 13812345678 -> 138****5678.``) shown to data consumers in the
    docs and the field catalog, so it must describe the output shape precisely.
    ``keyed`` strategies need a :class:`~masking.MaskScope` and a
    :class:`~masking.KeyRing` to be compiled.
    """

    name: str
    description: str
    build: Callable[..., Callable[..., object]] = field(repr=False, compare=False)
    params: tuple[Param, ...] = ()
    keyed: bool = False
    takes_text: bool = True

    @property
    def defaults(self) -> Mapping[str, object]:
        """Each parameter's default value, by name."""
        return {param.name: param.default for param in self.params}


def keep_param(name: str, default: int, doc: str) -> Param:
    """A ``head``/``tail``-like count of kept characters, 0..8."""
    return Param(name, int, default, doc, minimum=0, maximum=MAX_KEEP)


def head_tail(head: int, tail: int, what: str = "characters") -> tuple[Param, Param]:
    """The usual ``head``/``tail`` pair of a partial mask."""
    return (keep_param("head", head, f"{what} kept at the start"), keep_param("tail", tail, f"{what} kept at the end"))
