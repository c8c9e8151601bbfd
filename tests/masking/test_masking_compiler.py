"""Compiled maskers: bound once, cached when pure, and never raising whatever they are given."""

from __future__ import annotations

import enum

import pytest
from hypothesis import given, settings

from masking import RULES, Masker, MaskScope, RuleSpec, Strategy, compile_rule, mask, parse_rule, rule_names
from masking.compiler import _guard
from tests.masking.support import ANYTHING, KEYS, PROPERTY, SCOPE

# Every rule, and some non-default spelling of each rule that has parameters.
SPECS = [
    *rule_names(),
    "mobile(head=0,tail=8)",
    "idNumber(head=8,tail=0)",
    "bankCard(head=0,tail=0)",
    "creditCode(head=8,tail=8)",
    "licenseNumber(head=8,tail=8)",
    "partial(head=0,tail=0)",
    "licensePlate(tail=8)",
    "fixedPhone(tail=8)",
    "divisionCode(level=county)",
    "divisionCode(level=province)",
    "ageBand(width=1)",
    "ageBand(width=50)",
    "grid(step=1)",
    "grid(step=0.0001)",
    "pseudonym(hash=sm3)",
    "reversible(cipher=sm4-gcm)",
]


def test_pure_maskers_are_compiled_once() -> None:
    assert compile_rule("mobile") is compile_rule("mobile")
    assert compile_rule("mobile") is compile_rule("mobile(head=3, tail=4)")
    assert compile_rule("mobile") is compile_rule(parse_rule("mobile"))
    assert compile_rule("mobile") is not compile_rule("mobile(head=4)")


def test_keyed_maskers_are_bound_to_their_scope() -> None:
    first = compile_rule("pseudonym", SCOPE, KEYS)
    assert first("13812345678") == compile_rule("pseudonym", SCOPE, KEYS)("13812345678")
    other = compile_rule("pseudonym", MaskScope("another-app", SCOPE.coordinate), KEYS)
    assert other("13812345678") != first("13812345678")


def test_scope_and_keys_are_ignored_by_pure_rules() -> None:
    assert mask("mobile", "13812345678", SCOPE, KEYS) == "138****5678"
    assert compile_rule("mobile", SCOPE, KEYS) is compile_rule("mobile")


def test_rule_spec_objects_are_accepted() -> None:
    spec = parse_rule("mobile(head=0)")
    assert mask(spec, "13812345678") == "*******5678"
    assert mask(RuleSpec("mobile", (("head", 0), ("tail", 4))), "13812345678") == "*******5678"


def _broken(message: str) -> Strategy:
    def build() -> Masker:
        def core(value: object) -> object:
            raise RuntimeError(message)

        return core

    return Strategy("broken", "Broken, e.g. x -> ***.", build=build)


@pytest.mark.parametrize("takes_text", [True, False])
def test_strategy_errors_fail_closed(takes_text: bool) -> None:
    strategy = _broken("13812345678")
    masker = _guard(Strategy(strategy.name, strategy.description, strategy.build, takes_text=takes_text), strategy.build())
    assert masker("13812345678") == "***"
    assert masker(13812345678) == "***"
    assert masker(None) is None


class Number(int):
    def __str__(self) -> str:
        return "not the number"


class Text(str):
    def __str__(self) -> str:
        return "13800000000"


class Colour(enum.IntEnum):
    RED = 13812345678


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Text("13812345678"), "138****5678"),  # the stored text, not a subclass's __str__
        (Number(13812345678), "138****5678"),
        (Colour.RED, "138****5678"),
        (True, "***"),
        (13812345678.0, "***"),
        (b"13812345678", "***"),
        (bytearray(b"13812345678"), "***"),
        (["13812345678"], "***"),
    ],
)
def test_text_rules_take_strings_and_integers_only(value: object, expected: str) -> None:
    assert mask("mobile", value) == expected


@pytest.mark.parametrize("spec", SPECS)
@settings(PROPERTY, max_examples=50)  # x 37 specs
@given(value=ANYTHING)
def test_maskers_never_raise_and_return_text_or_none(spec: str, value: object) -> None:
    masker = compile_rule(spec, SCOPE, KEYS)
    result = masker(value)
    if value is None or spec == "suppress":
        assert result is None
    else:
        assert isinstance(result, str)


@pytest.mark.parametrize("spec", SPECS)
def test_maskers_are_deterministic_except_reversible(spec: str) -> None:
    masker = compile_rule(spec, SCOPE, KEYS)
    for value in ["13812345678", "110101199003071233", "京A12345", "北京市朝阳区建国路1号", "39.9,116.4", 35, "1990-03-07"]:
        if RULES[parse_rule(spec).name].name == "reversible":
            assert masker(value) != masker(value)
        else:
            assert masker(value) == masker(value)
