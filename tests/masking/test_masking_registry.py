"""The rule registry and the public API of the masking package."""

from __future__ import annotations

from decimal import Decimal

import pytest

import masking
from masking import RULES, Param, Strategy, UnknownMaskRule, compile_rule, is_keyed, mask, rule_names
from tests.masking.support import KEYS, SCOPE

EXPECTED_RULES = {
    "idNumber",
    "mobile",
    "name",
    "fixedPhone",
    "address",
    "bankCard",
    "email",
    "creditCode",
    "amountRange",
    "year",
    "yearMonth",
    "licenseNumber",
    "suppress",
    "redact",
    # added with parameterised, keyed rules
    "partial",
    "licensePlate",
    "divisionCode",
    "ageBand",
    "grid",
    "pseudonym",
    "reversible",
}
KEYED = {"pseudonym", "reversible"}


def test_public_api() -> None:
    assert set(masking.__all__) == {
        "parse_rule",
        "RuleSpec",
        "compile_rule",
        "mask",
        "unmask",
        "MaskScope",
        "KeyRing",
        "InvalidMaskRule",
        "UnknownMaskRule",
        "MaskKeyRequired",
        "UnmaskError",
        "rule_names",
        "RULES",
        "is_keyed",
        # types of the public values, for annotations
        "Strategy",
        "Param",
        "Masker",
        "REDACTED",
    }
    for name in masking.__all__:
        assert getattr(masking, name) is not None


def test_every_rule_is_registered() -> None:
    assert set(RULES) == EXPECTED_RULES


def test_rule_names_are_sorted_registry_keys() -> None:
    assert rule_names() == sorted(EXPECTED_RULES)


@pytest.mark.parametrize("name", sorted(EXPECTED_RULES))
def test_rule_is_named_and_described(name: str) -> None:
    rule = RULES[name]
    assert isinstance(rule, Strategy)
    assert rule.name == name
    assert rule.description.strip() == rule.description
    assert rule.description[0].isupper()
    assert rule.description.endswith(".")
    assert rule.description.count(" e.g. ") == 1
    assert " -> " in rule.description


@pytest.mark.parametrize("name", sorted(EXPECTED_RULES))
def test_params_are_documented_and_their_defaults_valid(name: str) -> None:
    for param in RULES[name].params:
        assert isinstance(param, Param)
        assert param.doc and param.doc == param.doc.strip()
        assert param.type in (int, Decimal, str)
        assert param.convert(masking.strategy.format_value(param.default)) == param.default
        if param.type is int:
            assert param.minimum is not None and param.maximum is not None
            assert param.minimum <= param.default <= param.maximum  # type: ignore[operator]
        else:
            assert param.default in param.choices


@pytest.mark.parametrize("name", sorted(EXPECTED_RULES - KEYED))
def test_description_example_is_true(name: str) -> None:
    """The example shown to users in the catalog must be what the rule does."""
    example = RULES[name].description.rsplit(" e.g. ", 1)[1].removesuffix(".")
    given, shown = example.split(" -> ")
    expected = None if shown == "null" else shown
    assert mask(name, given) == expected


@pytest.mark.parametrize("name", sorted(KEYED))
def test_keyed_description_example_shows_the_token_prefix(name: str) -> None:
    example = RULES[name].description.rsplit(" e.g. ", 1)[1].removesuffix(".")
    given, shown = example.split(" -> ")
    prefix, _, rest = shown.partition(" followed by ")
    count = int(rest.split()[0])
    result = mask(name, given, SCOPE, KEYS)
    assert isinstance(result, str)
    assert result.startswith(prefix)
    assert len(result) == len(prefix) + count


@pytest.mark.parametrize("name", sorted(EXPECTED_RULES))
def test_none_passes_through(name: str) -> None:
    assert mask(name, None, SCOPE, KEYS) is None
    assert compile_rule(name, SCOPE, KEYS)(None) is None


@pytest.mark.parametrize("name", sorted(EXPECTED_RULES))
def test_keyed_rules_are_exactly_pseudonym_and_reversible(name: str) -> None:
    assert RULES[name].keyed is (name in KEYED)
    assert is_keyed(name) is (name in KEYED)


def test_unknown_rule_raises() -> None:
    with pytest.raises(UnknownMaskRule) as raised:
        mask("phone", "13812345678")
    assert isinstance(raised.value, KeyError)
    assert isinstance(raised.value, ValueError)
    assert raised.value.rule == "phone"
    assert str(raised.value).startswith("unknown mask rule 'phone'; known rules: address, ageBand, ")


def test_unknown_rule_raises_even_for_none() -> None:
    with pytest.raises(UnknownMaskRule):
        mask("Mobile", None)


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        RULES["mobile"] = RULES["redact"]  # type: ignore[index]


def test_strategy_is_frozen() -> None:
    rule = RULES["mobile"]
    with pytest.raises(AttributeError):
        rule.name = "other"  # type: ignore[misc]


def test_unknown_rule_can_be_raised_by_name_alone() -> None:
    error = UnknownMaskRule("phone")
    assert str(error) == f"unknown mask rule 'phone'; known rules: {', '.join(rule_names())}"
